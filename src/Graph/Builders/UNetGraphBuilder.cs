using Onnx;
using Vcut.Graph.Architecture;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Builders;

/// <summary>
/// Emits <c>UNetSpatioTemporalConditionModel</c> as ONNX (docs/svd.md §2): <c>sample</c> (N, F, in, h, w),
/// <c>timestep</c> (1), <c>encoder_hidden_states</c> (N, 1, cross), <c>added_time_ids</c> (N, 3) →
/// <c>out_sample</c> (N, F, out, h, w), with N, F, h and w dynamic. In a VCUT mode the cross-attentions are
/// not computed: the UNet takes their cached constants (one (N, C) input per site, see
/// <see cref="CrossAttentionSite.CacheName"/>) instead of <c>encoder_hidden_states</c>.
/// </summary>
internal sealed class UNetGraphBuilder
{
    private const float TransformerNormEps = 1e-6f;
    private const float CrossAttnResnetEps = 1e-6f;
    private const float PlainResnetEps = 1e-5f;

    private readonly UNetConfig _config;
    private readonly NnLayers _nn;
    private readonly OnnxGraphBuilder _g;
    private readonly VcutMode _vcut;
    private readonly Dictionary<string, OnnxValue> _cached = new(StringComparer.Ordinal);

    // Per-graph values shared by every block.
    private OnnxValue _frames;          // F as int64 [1]
    private OnnxValue _framesScalar;    // F as int64 scalar
    private OnnxValue _temb;            // (N·F, time_embed_dim)
    private OnnxValue _spatialContext;  // (N·F, 1, cross): encoder_hidden_states repeated per frame
    private OnnxValue _videoContext;    // (N, 1, 1, cross): one CLIP token per video
    private OnnxValue _batch;           // N as int64 [1]

    private UNetGraphBuilder(UNetConfig config, IWeightSource weights, AttentionForm attention, VcutMode vcut, ParameterStorage? storage)
    {
        _config = config;
        _vcut = vcut;
        _g = new OnnxGraphBuilder("unet", weights, storage);
        _nn = new NnLayers(_g, attention);
    }

    /// <summary>
    /// Builds the UNet graph, original (<see cref="VcutMode.Off"/>) or with VCUT's cached cross-attentions; its
    /// parameters are stored as <paramref name="storage"/> says (inline float32 by default).
    /// </summary>
    public static ModelProto Build(UNetConfig config, IWeightSource weights, AttentionForm attention, VcutMode vcut = VcutMode.Off,
        ParameterStorage? storage = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return new UNetGraphBuilder(config, weights, attention, vcut, storage).BuildModel();
    }

    private ModelProto BuildModel()
    {
        var c = _config;
        var f32 = TensorProto.Types.DataType.Float;
        var sample = _g.Input(GraphPorts.Sample, f32, "batch", "frames", c.InChannels, "height", "width");
        // timestep and added_time_ids feed sinusoidal embeddings only, which stay float32 at every precision.
        var timestep = _g.Float32Input(GraphPorts.Timestep, 1);
        OnnxValue? encoderHiddenStates = _vcut == VcutMode.Off
            ? _g.Input(GraphPorts.EncoderHiddenStates, f32, "batch", 1, c.CrossAttentionDim)
            : null;
        var addedTimeIds = _g.Float32Input(GraphPorts.AddedTimeIds, "batch", GraphPorts.AddedTimeIdCount);
        foreach (var site in CrossAttentionSite.Cached(c, _vcut))
        {
            _cached[site.Key] = _g.Input(site.CacheName, f32, "batch", site.Channels);
        }
        _batch = _nn.ShapeOf(sample, 0, 1);

        _frames = _nn.ShapeOf(sample, 1, 2);
        _framesScalar = _g.Op("Squeeze", [_frames, _g.Int64s(0)]);
        var framesColumn = _nn.ShapeConcat(_g.Int64s(1), _frames, _g.Int64s(1));

        // 1–2. Time embedding + added-time-id embedding, one row per video.
        var timeEmbedDim = c.TimeEmbedDim;
        var emb = _nn.TimestepEmbedding(_nn.SinusoidalEmbedding(timestep, c.BlockOutChannels[0]), "time_embedding",
            c.BlockOutChannels[0], timeEmbedDim, timeEmbedDim);
        var flatIds = _nn.Reshape(addedTimeIds, _g.Int64s(-1));
        var idEmbedding = _nn.Reshape(_nn.SinusoidalEmbedding(flatIds, c.AdditionTimeEmbedDim), _g.Int64s(-1, c.ProjectionClassEmbeddingsInputDim));
        var augEmb = _nn.TimestepEmbedding(idEmbedding, "add_embedding", c.ProjectionClassEmbeddingsInputDim, timeEmbedDim, timeEmbedDim);
        emb = _nn.Add(emb, augEmb);

        // 3. Fold frames into the batch; repeat-interleave the per-video rows (row = n·F + f).
        var x = _nn.Reshape(sample, _nn.ShapeConcat(_g.Int64s(-1), _nn.ShapeOf(sample, 2)));
        _temb = _nn.Reshape(_g.Op("Expand", [_nn.Unsqueeze(emb, 1), framesColumn]), _g.Int64s(-1, timeEmbedDim));
        if (encoderHiddenStates is { } context)
        {
            _videoContext = _nn.Unsqueeze(context, 1);
            _spatialContext = _nn.Reshape(
                _g.Op("Expand", [_videoContext, _nn.ShapeConcat(_g.Int64s(1), _frames, _g.Int64s(1, 1))]),
                _g.Int64s(-1, 1, c.CrossAttentionDim));
        }

        // 4. conv_in, then the skip stack.
        x = _nn.Conv(x, "conv_in", c.InChannels, c.BlockOutChannels[0], [3, 3], [1, 1]);
        var skips = new Stack<(OnnxValue Value, int Channels)>();
        skips.Push((x, c.BlockOutChannels[0]));

        var levels = c.BlockOutChannels.Length;
        var channels = c.BlockOutChannels[0];
        for (var level = 0; level < levels; level++)
        {
            var isLast = level == levels - 1;
            var outChannels = c.BlockOutChannels[level];
            using (_g.Enter($"down_blocks.{level}"))
            {
                for (var layer = 0; layer < c.LayersPerBlock; layer++)
                {
                    x = SpatioTemporalResBlock(x, $"resnets.{layer}", channels, outChannels, isLast ? PlainResnetEps : CrossAttnResnetEps);
                    channels = outChannels;
                    if (!isLast)
                    {
                        x = SpatioTemporalTransformer(x, $"attentions.{layer}", channels, c.NumAttentionHeads[level]);
                    }
                    skips.Push((x, channels));
                }
                if (!isLast)
                {
                    x = _nn.Conv(x, "downsamplers.0.conv", channels, channels, [3, 3], [1, 1], stride: 2);
                    skips.Push((x, channels));
                }
            }
        }

        using (_g.Enter("mid_block"))
        {
            var width = c.BlockOutChannels[^1];
            x = SpatioTemporalResBlock(x, "resnets.0", width, width, PlainResnetEps);
            x = SpatioTemporalTransformer(x, "attentions.0", width, c.NumAttentionHeads[^1]);
            x = SpatioTemporalResBlock(x, "resnets.1", width, width, PlainResnetEps);
        }

        var reversedChannels = c.BlockOutChannels.Reverse().ToArray();
        var reversedHeads = c.NumAttentionHeads.Reverse().ToArray();
        for (var level = 0; level < levels; level++)
        {
            var outChannels = reversedChannels[level];
            var hasAttention = level > 0;
            using (_g.Enter($"up_blocks.{level}"))
            {
                for (var layer = 0; layer <= c.LayersPerBlock; layer++)
                {
                    var (skip, skipChannels) = skips.Pop();
                    x = _g.Op("Concat", [x, skip], OnnxAttr.Int("axis", 1));
                    x = SpatioTemporalResBlock(x, $"resnets.{layer}", channels + skipChannels, outChannels, CrossAttnResnetEps);
                    channels = outChannels;
                    if (hasAttention)
                    {
                        x = SpatioTemporalTransformer(x, $"attentions.{layer}", channels, reversedHeads[level]);
                    }
                }
                if (level < levels - 1)
                {
                    // Nearest ×2, sized to the next skip so odd latent sizes line up.
                    var size = _nn.ShapeConcat(_nn.ShapeOf(x, 0, 2), _nn.ShapeOf(skips.Peek().Value, 2, 4));
                    x = _g.Op("Resize", [x, OnnxValue.None, OnnxValue.None, size],
                        OnnxAttr.String("mode", "nearest"),
                        OnnxAttr.String("coordinate_transformation_mode", "asymmetric"),
                        OnnxAttr.String("nearest_mode", "floor"));
                    x = _nn.Conv(x, "upsamplers.0.conv", channels, channels, [3, 3], [1, 1]);
                }
            }
        }

        // 6. Output head, unfolded to (N, F, out, h, w).
        x = _nn.Silu(_nn.GroupNorm(x, "conv_norm_out", channels, UNetConfig.NormGroups, 1e-5f, rank: 4));
        x = _nn.Conv(x, "conv_out", channels, c.OutChannels, [3, 3], [1, 1]);
        x = _nn.Reshape(x, _nn.ShapeConcat(_g.Int64s(-1), _frames, _nn.ShapeOf(x, 1)));
        _g.Output(x, GraphPorts.OutSample, f32, "batch", "frames", c.OutChannels, "height", "width");
        return _g.ToModel(17, "Stable Video Diffusion UNet (UNetSpatioTemporalConditionModel), built by Vcut.MLNet");
    }

    /// <summary>SpatioTemporalResBlock: spatial ResnetBlock2D, temporal resnet across frames, learned blend.</summary>
    private OnnxValue SpatioTemporalResBlock(OnnxValue x, string name, int inChannels, int outChannels, float eps) => _nn.In(name, () =>
    {
        var spatial = _nn.In("spatial_res_block", () => SpatialResnet(x, inChannels, outChannels, eps));
        var video = ToVideoLayout(spatial);
        var temporal = _nn.In("temporal_res_block", () => TemporalResnet(video, outChannels, eps));
        var blended = _nn.AlphaBlend(video, temporal, "time_mixer");
        return _nn.Reshape(_nn.Transpose(blended, 0, 2, 1, 3, 4), _nn.ShapeOf(spatial, 0));
    });

    private OnnxValue SpatialResnet(OnnxValue x, int inChannels, int outChannels, float eps)
    {
        var h = _nn.Silu(_nn.GroupNorm(x, "norm1", inChannels, UNetConfig.NormGroups, eps, rank: 4));
        h = _nn.Conv(h, "conv1", inChannels, outChannels, [3, 3], [1, 1]);
        var timeBias = _nn.Linear(_nn.Silu(_temb), "time_emb_proj", _config.TimeEmbedDim, outChannels);
        h = _nn.Add(h, _nn.Unsqueeze(timeBias, 2, 3));
        h = _nn.Silu(_nn.GroupNorm(h, "norm2", outChannels, UNetConfig.NormGroups, eps, rank: 4));
        h = _nn.Conv(h, "conv2", outChannels, outChannels, [3, 3], [1, 1]);
        var shortcut = inChannels == outChannels ? x : _nn.Conv(x, "conv_shortcut", inChannels, outChannels, [1, 1], [0, 0]);
        return _nn.Add(shortcut, h);
    }

    private OnnxValue TemporalResnet(OnnxValue video, int channels, float eps)
    {
        var h = _nn.Silu(_nn.GroupNorm(video, "norm1", channels, UNetConfig.NormGroups, eps, rank: 5));
        h = _nn.Conv(h, "conv1", channels, channels, [3, 1, 1], [1, 0, 0]);
        var timeBias = _nn.Linear(_nn.Silu(_temb), "time_emb_proj", _config.TimeEmbedDim, channels);
        var perVideo = _nn.Reshape(timeBias, _nn.ShapeConcat(_g.Int64s(-1), _frames, _g.Int64s(channels)));
        h = _nn.Add(h, _nn.Unsqueeze(_nn.Transpose(perVideo, 0, 2, 1), 3, 4));
        h = _nn.Silu(_nn.GroupNorm(h, "norm2", channels, UNetConfig.NormGroups, eps, rank: 5));
        h = _nn.Conv(h, "conv2", channels, channels, [3, 1, 1], [1, 0, 0]);
        return _nn.Add(video, h);
    }

    /// <summary>(N·F, C, h, w) → (N, C, F, h, w).</summary>
    private OnnxValue ToVideoLayout(OnnxValue x) =>
        _nn.Transpose(_nn.Reshape(x, _nn.ShapeConcat(_g.Int64s(-1), _frames, _nn.ShapeOf(x, 1))), 0, 2, 1, 3, 4);

    /// <summary>TransformerSpatioTemporalModel (docs/svd.md §2, ST-Tr).</summary>
    private OnnxValue SpatioTemporalTransformer(OnnxValue x, string name, int channels, int heads) => _nn.In(name, () =>
    {
        var residual = x;
        var h = _nn.GroupNorm(x, "norm", channels, UNetConfig.NormGroups, TransformerNormEps, rank: 4);
        var tokens = _nn.Reshape(_nn.Transpose(h, 0, 2, 3, 1), _g.Int64s(0, -1, channels)); // (N·F, HW, C)
        tokens = _nn.Linear(tokens, "proj_in", channels, channels);
        var tokenCount = _nn.ShapeOf(tokens, 1, 2);

        // Frame embedding: sincos of the frame index through time_pos_embed, (F, 1, C); added to the temporal input only.
        var frameIndex = _g.Op("Cast", [_g.Op("Range", [_g.Int64Scalar(0), _framesScalar, _g.Int64Scalar(1)])],
            OnnxAttr.Int("to", (long)TensorProto.Types.DataType.Float));
        var frameEmbedding = _nn.Unsqueeze(
            _nn.TimestepEmbedding(_nn.SinusoidalEmbedding(frameIndex, channels), "time_pos_embed", channels, 4 * channels, channels), 1);

        var spatial = _nn.In("transformer_blocks.0", () => SpatialBlock(tokens, channels, heads));

        // Regroup (N·F, HW, C) → (N·HW, F, C) with the frame embedding added.
        var videoTokens = _nn.Reshape(spatial, _nn.ShapeConcat(_g.Int64s(-1), _frames, tokenCount, _g.Int64s(channels)));
        videoTokens = _nn.Add(videoTokens, frameEmbedding);
        var temporalIn = _nn.Reshape(_nn.Transpose(videoTokens, 0, 2, 1, 3), _nn.ShapeConcat(_g.Int64s(-1), _frames, _g.Int64s(channels)));
        // Temporal context: each video's single CLIP token, broadcast over its HW positions → (N·HW, 1, cross).
        var temporalContext = _vcut == VcutMode.Off
            ? _nn.Reshape(
                _g.Op("Expand", [_videoContext, _nn.ShapeConcat(_g.Int64s(1), tokenCount, _g.Int64s(1, 1))]),
                _g.Int64s(-1, 1, _config.CrossAttentionDim))
            : default;
        var temporal = _nn.In("temporal_transformer_blocks.0", () => TemporalBlock(temporalIn, temporalContext, channels, heads));
        temporal = _nn.Reshape(temporal, _nn.ShapeConcat(_g.Int64s(-1), tokenCount, _frames, _g.Int64s(channels)));
        temporal = _nn.Reshape(_nn.Transpose(temporal, 0, 2, 1, 3), _nn.ShapeOf(spatial, 0));

        var blended = _nn.AlphaBlend(spatial, temporal, "time_mixer");
        var projected = _nn.Linear(blended, "proj_out", channels, channels);
        var image = _nn.Transpose(
            _nn.Reshape(projected, _nn.ShapeConcat(_g.Int64s(-1), _nn.ShapeOf(x, 2, 4), _g.Int64s(channels))), 0, 3, 1, 2);
        return _nn.Add(image, residual);
    });

    private OnnxValue SpatialBlock(OnnxValue x, int channels, int heads)
    {
        var cross = _config.CrossAttentionDim;
        var n1 = _nn.LayerNorm(x, "norm1", channels);
        x = _nn.Add(x, _nn.In("attn1", () => _nn.Attention(n1, n1, channels, channels, heads, AttentionNames.Diffusers, qkvBias: false)));
        if (_vcut == VcutMode.Off)
        {
            var n2 = _nn.LayerNorm(x, "norm2", channels);
            x = _nn.Add(x, _nn.In("attn2", () => _nn.Attention(n2, _spatialContext, channels, cross, heads, AttentionNames.Diffusers, qkvBias: false)));
        }
        else
        {
            // attn2(norm2(x), c) = to_out(to_v(c)): the cached (N, C) constant, repeated per frame, broadcast over tokens.
            var constant = _cached[$"{_g.Scope}.attn2"];
            var perFrame = _g.Op("Expand", [_nn.Unsqueeze(constant, 1), _nn.ShapeConcat(_g.Int64s(1), _frames, _g.Int64s(1))]);
            x = _nn.Add(x, _nn.Reshape(perFrame, _g.Int64s(-1, 1, channels)));
        }
        var n3 = _nn.LayerNorm(x, "norm3", channels);
        return _nn.Add(x, _nn.FeedForwardGeglu(n3, "ff", channels, channels));
    }

    private OnnxValue TemporalBlock(OnnxValue x, OnnxValue context, int channels, int heads)
    {
        var cross = _config.CrossAttentionDim;
        x = _nn.Add(_nn.FeedForwardGeglu(_nn.LayerNorm(x, "norm_in", channels), "ff_in", channels, channels), x);
        var n1 = _nn.LayerNorm(x, "norm1", channels);
        x = _nn.Add(x, _nn.In("attn1", () => _nn.Attention(n1, n1, channels, channels, heads, AttentionNames.Diffusers, qkvBias: false)));
        switch (_vcut)
        {
            case VcutMode.Off:
                var n2 = _nn.LayerNorm(x, "norm2", channels);
                x = _nn.Add(x, _nn.In("attn2", () => _nn.Attention(n2, context, channels, cross, heads, AttentionNames.Diffusers, qkvBias: false)));
                break;
            case VcutMode.Exact:
                // The cached (N, C) constant broadcast over every position and frame of its video: view the
                // (N·HW, F, C) rows as (N, HW·F, C) and add (N, 1, C), without materialising a copy per position.
                var constant = _nn.Unsqueeze(_cached[$"{_g.Scope}.attn2"], 1);
                var perVideo = _nn.Reshape(x, _nn.ShapeConcat(_batch, _g.Int64s(-1, channels)));
                x = _nn.Reshape(_nn.Add(perVideo, constant), _nn.ShapeOf(x, 0));
                break;
            case VcutMode.Paper:
                break; // the paper removes temporal cross-attention
        }
        var n3 = _nn.LayerNorm(x, "norm3", channels);
        return _nn.Add(x, _nn.FeedForwardGeglu(n3, "ff", channels, channels));
    }
}
