using Onnx;
using Vcut.Graph.Architecture;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Builders;

/// <summary>
/// Emits the two halves of <c>AutoencoderKLTemporalDecoder</c> (docs/svd.md §4):
/// the encoder <c>sample</c> (B, 3, H, W) → <c>latent_sample</c> (B, 4, H/8, W/8), the posterior mean; and the
/// temporal decoder <c>latent_sample</c> (f, 4, h, w) + <c>num_frames</c> → <c>sample</c> (f, 3, H, W).
/// </summary>
internal static class VaeGraphBuilder
{
    private const float ResnetEps = 1e-6f;
    private const float TemporalEps = 1e-5f;

    /// <summary>Builds the encoder graph (keys <c>encoder.*</c> and <c>quant_conv</c>), parameters stored as <paramref name="storage"/> says.</summary>
    public static ModelProto BuildEncoder(VaeConfig config, IWeightSource weights, AttentionForm attention, ParameterStorage? storage = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var g = new OnnxGraphBuilder("vae_encoder", weights, storage);
        var nn = new NnLayers(g, attention);
        var f32 = TensorProto.Types.DataType.Float;
        var sample = g.Input(GraphPorts.Sample, f32, "batch", config.InChannels, "height", "width");
        var widths = config.BlockOutChannels;
        OnnxValue x;
        using (g.Enter("encoder"))
        {
            x = nn.Conv(sample, "conv_in", config.InChannels, widths[0], [3, 3], [1, 1]);
            var channels = widths[0];
            for (var level = 0; level < widths.Length; level++)
            {
                using (g.Enter($"down_blocks.{level}"))
                {
                    for (var layer = 0; layer < config.LayersPerBlock; layer++)
                    {
                        x = Resnet(nn, x, $"resnets.{layer}", channels, widths[level]);
                        channels = widths[level];
                    }
                    if (level < widths.Length - 1)
                    {
                        // Pad right and bottom by one, then a 3×3 stride-2 convolution without padding.
                        x = nn.ConvWithPads(x, "downsamplers.0.conv", channels, channels, [3, 3], [0, 0, 1, 1], stride: 2);
                    }
                }
            }
            x = MidBlock(nn, x, channels, spatioTemporal: false);
            x = nn.Silu(nn.GroupNorm(x, "conv_norm_out", channels, UNetConfig.NormGroups, ResnetEps, rank: 4));
            x = nn.Conv(x, "conv_out", channels, 2 * config.LatentChannels, [3, 3], [1, 1]);
        }
        x = nn.Conv(x, "quant_conv", 2 * config.LatentChannels, 2 * config.LatentChannels, [1, 1], [0, 0]);
        // The posterior mean: the first latent_channels channels ("mode" of the diagonal Gaussian).
        var mean = g.Op("Slice", [x, g.Int64s(0), g.Int64s(config.LatentChannels), g.Int64s(1)]);
        var factor = config.DownscaleFactor;
        g.Output(mean, GraphPorts.LatentSample, f32, "batch", config.LatentChannels, $"height/{factor}", $"width/{factor}");
        return g.ToModel(17, "Stable Video Diffusion VAE encoder (AutoencoderKLTemporalDecoder.encoder + quant_conv), built by Vcut.MLNet");
    }

    /// <summary>Builds the temporal decoder graph (keys <c>decoder.*</c>), parameters stored as <paramref name="storage"/> says.</summary>
    public static ModelProto BuildDecoder(VaeConfig config, IWeightSource weights, AttentionForm attention, ParameterStorage? storage = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var g = new OnnxGraphBuilder("vae_decoder", weights, storage);
        var nn = new NnLayers(g, attention);
        var f32 = TensorProto.Types.DataType.Float;
        var latent = g.Input(GraphPorts.LatentSample, f32, "frames", config.LatentChannels, "latent_height", "latent_width");
        var numFrames = g.Input(GraphPorts.NumFrames, TensorProto.Types.DataType.Int64);
        var frames = nn.Unsqueeze(numFrames, 0);
        var widths = config.BlockOutChannels.Reverse().ToArray();
        OnnxValue x;
        using (g.Enter("decoder"))
        {
            var channels = widths[0];
            x = nn.Conv(latent, "conv_in", config.LatentChannels, channels, [3, 3], [1, 1]);
            x = MidBlock(nn, x, channels, spatioTemporal: true, frames);
            for (var level = 0; level < widths.Length; level++)
            {
                using (g.Enter($"up_blocks.{level}"))
                {
                    for (var layer = 0; layer <= config.LayersPerBlock; layer++)
                    {
                        x = DecoderResBlock(nn, x, $"resnets.{layer}", channels, widths[level], frames);
                        channels = widths[level];
                    }
                    if (level < widths.Length - 1)
                    {
                        var size = nn.ShapeConcat(nn.ShapeOf(x, 0, 2), g.Op("Mul", [nn.ShapeOf(x, 2, 4), g.Int64s(2, 2)]));
                        x = g.Op("Resize", [x, OnnxValue.None, OnnxValue.None, size],
                            OnnxAttr.String("mode", "nearest"),
                            OnnxAttr.String("coordinate_transformation_mode", "asymmetric"),
                            OnnxAttr.String("nearest_mode", "floor"));
                        x = nn.Conv(x, "upsamplers.0.conv", channels, channels, [3, 3], [1, 1]);
                    }
                }
            }
            x = nn.Silu(nn.GroupNorm(x, "conv_norm_out", channels, UNetConfig.NormGroups, ResnetEps, rank: 4));
            x = nn.Conv(x, "conv_out", channels, config.InChannels, [3, 3], [1, 1]);
            // Mix neighbouring frames: (f, 3, H, W) → (B, 3, f, H, W) → Conv3d (3,1,1) → back.
            var spatialShape = nn.ShapeOf(x, 0);
            var video = nn.Transpose(nn.Reshape(x, nn.ShapeConcat(g.Int64s(-1), frames, nn.ShapeOf(x, 1))), 0, 2, 1, 3, 4);
            video = nn.Conv(video, "time_conv_out", config.InChannels, config.InChannels, [3, 1, 1], [1, 0, 0]);
            x = nn.Reshape(nn.Transpose(video, 0, 2, 1, 3, 4), spatialShape);
        }
        g.Output(x, GraphPorts.Sample, f32, "frames", config.InChannels, "height", "width");
        return g.ToModel(17, "Stable Video Diffusion temporal VAE decoder (AutoencoderKLTemporalDecoder.decoder), built by Vcut.MLNet");
    }

    /// <summary>ResnetBlock2D without time embedding.</summary>
    private static OnnxValue Resnet(NnLayers nn, OnnxValue x, string name, int inChannels, int outChannels) => nn.In(name, () =>
    {
        var h = nn.Silu(nn.GroupNorm(x, "norm1", inChannels, UNetConfig.NormGroups, ResnetEps, rank: 4));
        h = nn.Conv(h, "conv1", inChannels, outChannels, [3, 3], [1, 1]);
        h = nn.Silu(nn.GroupNorm(h, "norm2", outChannels, UNetConfig.NormGroups, ResnetEps, rank: 4));
        h = nn.Conv(h, "conv2", outChannels, outChannels, [3, 3], [1, 1]);
        var shortcut = inChannels == outChannels ? x : nn.Conv(x, "conv_shortcut", inChannels, outChannels, [1, 1], [0, 0]);
        return nn.Add(shortcut, h);
    });

    /// <summary>
    /// The decoder's SpatioTemporalResBlock: no time embedding, temporal eps 1e-5, and the switched blend
    /// out = (1 − α)·spatial + α·temporal.
    /// </summary>
    private static OnnxValue DecoderResBlock(NnLayers nn, OnnxValue x, string name, int inChannels, int outChannels, OnnxValue frames) => nn.In(name, () =>
    {
        var g = nn.Graph;
        var spatial = Resnet(nn, x, "spatial_res_block", inChannels, outChannels);
        var video = nn.Transpose(nn.Reshape(spatial, nn.ShapeConcat(g.Int64s(-1), frames, nn.ShapeOf(spatial, 1))), 0, 2, 1, 3, 4);
        var temporal = nn.In("temporal_res_block", () =>
        {
            var h = nn.Silu(nn.GroupNorm(video, "norm1", outChannels, UNetConfig.NormGroups, TemporalEps, rank: 5));
            h = nn.Conv(h, "conv1", outChannels, outChannels, [3, 1, 1], [1, 0, 0]);
            h = nn.Silu(nn.GroupNorm(h, "norm2", outChannels, UNetConfig.NormGroups, TemporalEps, rank: 5));
            h = nn.Conv(h, "conv2", outChannels, outChannels, [3, 1, 1], [1, 0, 0]);
            return nn.Add(video, h);
        });
        var blended = nn.AlphaBlend(video, temporal, "time_mixer", switched: true);
        return nn.Reshape(nn.Transpose(blended, 0, 2, 1, 3, 4), nn.ShapeOf(spatial, 0));
    });

    /// <summary>Mid block: resnet → single-head attention over all positions → resnet.</summary>
    private static OnnxValue MidBlock(NnLayers nn, OnnxValue x, int channels, bool spatioTemporal, OnnxValue frames = default) => nn.In("mid_block", () =>
    {
        OnnxValue Block(OnnxValue input, string name) => spatioTemporal
            ? DecoderResBlock(nn, input, name, channels, channels, frames)
            : Resnet(nn, input, name, channels, channels);
        x = Block(x, "resnets.0");
        x = nn.In("attentions.0", () =>
        {
            var g = nn.Graph;
            var normalized = nn.GroupNorm(x, "group_norm", channels, UNetConfig.NormGroups, ResnetEps, rank: 4);
            var tokens = nn.Transpose(nn.Reshape(normalized, g.Int64s(0, channels, -1)), 0, 2, 1); // (B, HW, C)
            var attended = nn.Attention(tokens, tokens, channels, channels, heads: 1, AttentionNames.Diffusers, qkvBias: true);
            var image = nn.Reshape(nn.Transpose(attended, 0, 2, 1), g.Op("Shape", [x]));
            return nn.Add(image, x);
        });
        return Block(x, "resnets.1");
    });
}
