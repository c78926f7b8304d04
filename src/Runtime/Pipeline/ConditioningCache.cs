using Vcut.Graph.Builders;
using Vcut.Graph.Names;
using Vcut.Graph.Vcut;

namespace Vcut.Runtime.Pipeline;

/// <summary>One tensor of a <see cref="ConditioningCache"/>: the UNet input it feeds and its width per row.</summary>
/// <param name="Name">The UNet input: <c>{site}.cached</c> in a VCUT mode, <c>encoder_hidden_states</c> with VCUT off.</param>
/// <param name="Width">Values per row: the site's channels C, or the CLIP embedding width.</param>
public sealed record ConditioningCacheEntry(string Name, int Width);

/// <summary>
/// What the UNet is conditioned on for one video, computed once and bound at every denoising step: in a VCUT mode
/// the cross-attention constants to_out(to_v(c)) of every cached site; with VCUT off the CLIP context itself. With
/// guidance row 0 is the unconditional (all-zero embedding) row and row 1 the conditional one.
/// </summary>
/// <param name="Mode">The VCUT mode of the generator that computed it; only a generator in the same mode can use it.</param>
/// <param name="Rows">UNet rows per video: 2 with classifier-free guidance, 1 without.</param>
/// <param name="Entries">The tensors, in <see cref="Values"/> order.</param>
/// <param name="Values">
/// Entry-major: entry k occupies <see cref="Rows"/> · width<sub>k</sub> consecutive values, row-major (rows × width).
/// Read only.
/// </param>
public sealed record ConditioningCache(VcutMode Mode, int Rows, IReadOnlyList<ConditioningCacheEntry> Entries, float[] Values)
{
    /// <summary>The name of the single entry when VCUT is off: the UNet's context input.</summary>
    public const string ContextName = GraphPorts.EncoderHiddenStates;
}
