using Onnx;
using Vcut.Graph.Architecture;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Builders;

/// <summary>
/// Emits VCUT's conditioning cache: <c>encoder_hidden_states</c> (N, 1, cross) → one output (N, C) per cached
/// cross-attention, to_out(to_v(c)). With a single key the attention weight is exactly 1, so this is the whole
/// cross-attention, independent of the query and of the denoising step (docs/svd.md §3). The parameters keep the UNet's
/// state-dict keys (<c>….attn2.to_v.weight</c>, <c>….attn2.to_out.0.*</c>).
/// </summary>
internal static class ConditioningCacheGraphBuilder
{
    /// <summary>Builds the cache graph for a UNet of <paramref name="config"/> in <paramref name="mode"/>, parameters stored as <paramref name="storage"/> says.</summary>
    public static ModelProto Build(UNetConfig config, IWeightSource weights, VcutMode mode, ParameterStorage? storage = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (mode == VcutMode.Off)
        {
            throw new ArgumentException("VCUT mode 'off' has no conditioning cache.", nameof(mode));
        }
        var g = new OnnxGraphBuilder("conditioning_cache", weights, storage);
        var nn = new NnLayers(g, AttentionForm.Plain);
        var f32 = TensorProto.Types.DataType.Float;
        var cross = config.CrossAttentionDim;
        var context = g.Input(GraphPorts.EncoderHiddenStates, f32, "batch", 1, cross);
        var token = nn.Reshape(context, g.Int64s(-1, cross));
        foreach (var site in CrossAttentionSite.Cached(config, mode))
        {
            var constant = nn.In(site.Key, () =>
                nn.Linear(nn.Linear(token, "to_v", cross, site.Channels, bias: false), "to_out.0", site.Channels, site.Channels));
            g.Output(constant, site.CacheName, f32, "batch", site.Channels);
        }
        return g.ToModel(17, $"VCUT conditioning cache ({mode}): to_out(to_v(c)) per cross-attention, built by Vcut.MLNet");
    }
}
