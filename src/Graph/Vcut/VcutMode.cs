using Vcut.Graph.Architecture;
using Vcut.Graph.Names;

namespace Vcut.Graph.Vcut;

/// <summary>How the UNet's cross-attentions are handled (arXiv 2407.19205).</summary>
public enum VcutMode
{
    /// <summary>The original UNet: every cross-attention computed at every step.</summary>
    Off,
    /// <summary>As the paper: spatial cross-attention replaced by its cached constant, temporal cross-attention removed.</summary>
    Paper,
    /// <summary>Both cached: all 32 cross-attentions out of the loop, the same output as <see cref="Off"/> within float error.</summary>
    Exact,
}

/// <summary>What a VCUT mode implies for a model directory.</summary>
public static class VcutModeExtensions
{
    /// <summary>The graphs a model directory in <paramref name="mode"/> holds: the four, plus the conditioning cache unless off.</summary>
    public static IReadOnlyList<string> ModelNamesIn(this VcutMode mode) =>
        mode == VcutMode.Off ? ModelNames.All : ModelNames.AllWithCache;
}

/// <summary>Whether a cross-attention sits in a spatial or a temporal transformer block.</summary>
public enum CrossAttentionKind
{
    /// <summary><c>transformer_blocks.0.attn2</c>: query (N·F, h·w, C).</summary>
    Spatial,
    /// <summary><c>temporal_transformer_blocks.0.attn2</c>: query (N·h·w, F, C).</summary>
    Temporal,
}

/// <summary>One cross-attention of the UNet: its state-dict prefix, width and kind.</summary>
/// <param name="Key">State-dict prefix, e.g. <c>down_blocks.0.attentions.1.transformer_blocks.0.attn2</c>.</param>
/// <param name="Channels">Query and output width C.</param>
/// <param name="Kind">Spatial or temporal.</param>
public sealed record CrossAttentionSite(string Key, int Channels, CrossAttentionKind Kind)
{
    /// <summary>
    /// The name of the cached constant to_out(to_v(c)) (batch, C): an output of the conditioning-cache graph and
    /// an input of a VCUT UNet.
    /// </summary>
    public string CacheName => $"{Key}.cached";

    /// <summary>Every cross-attention of a UNet of <paramref name="config"/>, in graph order.</summary>
    public static IReadOnlyList<CrossAttentionSite> All(UNetConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var sites = new List<CrossAttentionSite>();
        void Add(string transformer, int channels)
        {
            sites.Add(new($"{transformer}.transformer_blocks.0.attn2", channels, CrossAttentionKind.Spatial));
            sites.Add(new($"{transformer}.temporal_transformer_blocks.0.attn2", channels, CrossAttentionKind.Temporal));
        }
        var levels = config.BlockOutChannels.Length;
        for (var level = 0; level < levels - 1; level++)
        {
            for (var layer = 0; layer < config.LayersPerBlock; layer++)
            {
                Add($"down_blocks.{level}.attentions.{layer}", config.BlockOutChannels[level]);
            }
        }
        Add("mid_block.attentions.0", config.BlockOutChannels[^1]);
        for (var level = 1; level < levels; level++)
        {
            for (var layer = 0; layer <= config.LayersPerBlock; layer++)
            {
                Add($"up_blocks.{level}.attentions.{layer}", config.BlockOutChannels[levels - 1 - level]);
            }
        }
        return sites;
    }

    /// <summary>The sites whose constants a UNet in <paramref name="mode"/> takes as inputs.</summary>
    public static IReadOnlyList<CrossAttentionSite> Cached(UNetConfig config, VcutMode mode) => mode switch
    {
        VcutMode.Off => [],
        VcutMode.Paper => All(config).Where(s => s.Kind == CrossAttentionKind.Spatial).ToList(),
        VcutMode.Exact => All(config),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown VCUT mode."),
    };
}
