using Vcut.Graph.Architecture;
using Vcut.Graph.Onnx;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Vcut.Training.Model;

/// <summary>
/// SVD's four networks as eager TorchSharp code over <see cref="SvdParameters"/>: the same computation as the ONNX
/// graph builders (see docs/svd.md), module for module and with diffusers' names, so that weights trained here
/// export to a diffusers snapshot that <c>vcut convert</c> turns into the project's graphs. Attention goes through
/// LibTorch's <c>scaled_dot_product_attention</c>; everything else is plain functional torch.
/// </summary>
public sealed class SvdNetworks(SvdParameters parameters)
{
    private const float TransformerNormEps = 1e-6f;
    private const float CrossAttnResnetEps = 1e-6f;
    private const float PlainResnetEps = 1e-5f;
    private const float VaeResnetEps = 1e-6f;
    private const float VaeTemporalEps = 1e-5f;
    private const int Groups = UNetConfig.NormGroups;

    private readonly Stack<string> _scope = new();

    /// <summary>The parameters the networks read.</summary>
    public SvdParameters Parameters { get; } = parameters;

    private SvdArchitecture Architecture => Parameters.Preset.Architecture;

    // ---------------------------------------------------------------- UNet

    /// <summary>
    /// The UNet: <paramref name="sample"/> (N, F, in, h, w), <paramref name="timestep"/> (N) or (1),
    /// <paramref name="context"/> (N, 1, cross), <paramref name="addedTimeIds"/> (N, 3) → (N, F, out, h, w).
    /// </summary>
    public Tensor UNet(Tensor sample, Tensor timestep, Tensor context, Tensor addedTimeIds)
    {
        var c = Architecture.UNet;
        var n = sample.shape[0];
        var frames = sample.shape[1];
        var emb = TimestepEmbedding(Sinusoidal(timestep.reshape(-1), c.BlockOutChannels[0]), "time_embedding");
        var ids = Sinusoidal(addedTimeIds.reshape(-1), c.AdditionTimeEmbedDim).reshape(-1, c.ProjectionClassEmbeddingsInputDim);
        emb = emb + TimestepEmbedding(ids, "add_embedding");
        if (emb.shape[0] != n)
        {
            emb = emb.expand(n, -1);
        }
        var ctx = new UNetContext(frames, emb.repeat_interleave(frames, dim: 0), context);

        var x = sample.reshape(n * frames, sample.shape[2], sample.shape[3], sample.shape[4]);
        x = Conv2d(x, "conv_in", padding: 1);
        var skips = new Stack<Tensor>();
        skips.Push(x);
        var levels = c.BlockOutChannels.Length;
        for (var level = 0; level < levels; level++)
        {
            var isLast = level == levels - 1;
            using (Enter($"down_blocks.{level}"))
            {
                for (var layer = 0; layer < c.LayersPerBlock; layer++)
                {
                    x = SpatioTemporalResBlock(x, $"resnets.{layer}", ctx, isLast ? PlainResnetEps : CrossAttnResnetEps);
                    if (!isLast)
                    {
                        x = SpatioTemporalTransformer(x, $"attentions.{layer}", ctx, c.NumAttentionHeads[level]);
                    }
                    skips.Push(x);
                }
                if (!isLast)
                {
                    x = Conv2d(x, "downsamplers.0.conv", padding: 1, stride: 2);
                    skips.Push(x);
                }
            }
        }
        using (Enter("mid_block"))
        {
            x = SpatioTemporalResBlock(x, "resnets.0", ctx, PlainResnetEps);
            x = SpatioTemporalTransformer(x, "attentions.0", ctx, c.NumAttentionHeads[^1]);
            x = SpatioTemporalResBlock(x, "resnets.1", ctx, PlainResnetEps);
        }
        var reversedHeads = c.NumAttentionHeads.Reverse().ToArray();
        for (var level = 0; level < levels; level++)
        {
            using (Enter($"up_blocks.{level}"))
            {
                for (var layer = 0; layer <= c.LayersPerBlock; layer++)
                {
                    x = cat([x, skips.Pop()], 1);
                    x = SpatioTemporalResBlock(x, $"resnets.{layer}", ctx, CrossAttnResnetEps);
                    if (level > 0)
                    {
                        x = SpatioTemporalTransformer(x, $"attentions.{layer}", ctx, reversedHeads[level]);
                    }
                }
                if (level < levels - 1)
                {
                    var skip = skips.Peek();
                    x = F.interpolate(x, size: [skip.shape[2], skip.shape[3]], mode: InterpolationMode.Nearest);
                    x = Conv2d(x, "upsamplers.0.conv", padding: 1);
                }
            }
        }
        x = F.silu(GroupNorm(x, "conv_norm_out", 1e-5f));
        x = Conv2d(x, "conv_out", padding: 1);
        return x.reshape(n, frames, x.shape[1], x.shape[2], x.shape[3]);
    }

    /// <summary>Per-call values every UNet block reads.</summary>
    private sealed record UNetContext(long Frames, Tensor FrameEmbedding, Tensor VideoContext);

    private Tensor SpatioTemporalResBlock(Tensor x, string name, UNetContext ctx, float eps) =>
        Released(() => SpatioTemporalResBlockCore(x, name, ctx, eps));

    private Tensor SpatioTemporalResBlockCore(Tensor x, string name, UNetContext ctx, float eps)
    {
        using var _ = Enter(name);
        Tensor spatial;
        using (Enter("spatial_res_block"))
        {
            var h = F.silu(GroupNorm(x, "norm1", eps));
            h = Conv2d(h, "conv1", padding: 1);
            h = h + Linear(F.silu(ctx.FrameEmbedding), "time_emb_proj").unsqueeze(-1).unsqueeze(-1);
            h = F.silu(GroupNorm(h, "norm2", eps));
            h = Conv2d(h, "conv2", padding: 1);
            spatial = (Has("conv_shortcut.weight") ? Conv2d(x, "conv_shortcut") : x) + h;
        }
        var video = ToVideo(spatial, ctx.Frames);
        Tensor temporal;
        using (Enter("temporal_res_block"))
        {
            var h = F.silu(GroupNorm(video, "norm1", eps));
            h = Conv3dTemporal(h, "conv1");
            var bias = Linear(F.silu(ctx.FrameEmbedding), "time_emb_proj");
            h = h + bias.reshape(-1, ctx.Frames, bias.shape[1]).transpose(1, 2).unsqueeze(-1).unsqueeze(-1);
            h = F.silu(GroupNorm(h, "norm2", eps));
            h = Conv3dTemporal(h, "conv2");
            temporal = video + h;
        }
        return FromVideo(AlphaBlend(video, temporal, "time_mixer", switched: false));
    }

    private Tensor SpatioTemporalTransformer(Tensor x, string name, UNetContext ctx, int heads) =>
        Released(() => SpatioTemporalTransformerCore(x, name, ctx, heads));

    private Tensor SpatioTemporalTransformerCore(Tensor x, string name, UNetContext ctx, int heads)
    {
        using var _ = Enter(name);
        var channels = x.shape[1];
        var height = x.shape[2];
        var width = x.shape[3];
        var tokenCount = height * width;
        var h = GroupNorm(x, "norm", TransformerNormEps);
        var tokens = Linear(h.permute(0, 2, 3, 1).reshape(x.shape[0], tokenCount, channels), "proj_in");

        var frameIndex = arange(ctx.Frames, dtype: float32);
        var frameEmbedding = TimestepEmbedding(Sinusoidal(frameIndex, (int)channels), "time_pos_embed").unsqueeze(1); // (F, 1, C)

        Tensor spatial;
        using (Enter("transformer_blocks.0"))
        {
            var spatialContext = ctx.VideoContext.repeat_interleave(ctx.Frames, dim: 0); // (N·F, 1, cross)
            var t = tokens;
            var n1 = LayerNorm(t, "norm1");
            t = t + Attention(n1, n1, "attn1", heads);
            var n2 = LayerNorm(t, "norm2");
            t = t + Attention(n2, spatialContext, "attn2", heads);
            t = t + FeedForward(LayerNorm(t, "norm3"), "ff");
            spatial = t;
        }
        var videos = spatial.shape[0] / ctx.Frames;
        var mixed = spatial.reshape(videos, ctx.Frames, tokenCount, channels) + frameEmbedding;
        var temporalIn = mixed.permute(0, 2, 1, 3).reshape(videos * tokenCount, ctx.Frames, channels);
        var temporalContext = ctx.VideoContext.repeat_interleave(tokenCount, dim: 0); // (N·HW, 1, cross)
        Tensor temporal;
        using (Enter("temporal_transformer_blocks.0"))
        {
            var t = temporalIn;
            t = FeedForward(LayerNorm(t, "norm_in"), "ff_in") + t;
            var n1 = LayerNorm(t, "norm1");
            t = t + Attention(n1, n1, "attn1", heads);
            var n2 = LayerNorm(t, "norm2");
            t = t + Attention(n2, temporalContext, "attn2", heads);
            t = t + FeedForward(LayerNorm(t, "norm3"), "ff");
            temporal = t;
        }
        temporal = temporal.reshape(videos, tokenCount, ctx.Frames, channels).permute(0, 2, 1, 3).reshape(spatial.shape);
        var blended = AlphaBlend(spatial, temporal, "time_mixer", switched: false);
        var projected = Linear(blended, "proj_out");
        return projected.reshape(x.shape[0], height, width, channels).permute(0, 3, 1, 2) + x;
    }

    // ---------------------------------------------------------------- VAE

    /// <summary>
    /// The VAE encoder: <paramref name="image"/> (B, 3, H, W) in [−1, 1] → the posterior's mean and log-variance,
    /// each (B, latent, H/f, W/f). The ONNX graph returns the mean only.
    /// </summary>
    public (Tensor Mean, Tensor LogVariance) VaeEncoder(Tensor image)
    {
        var config = Architecture.Vae;
        Tensor x;
        using (Enter("encoder"))
        {
            x = Conv2d(image, "conv_in", padding: 1);
            var levels = config.BlockOutChannels.Length;
            for (var level = 0; level < levels; level++)
            {
                using (Enter($"down_blocks.{level}"))
                {
                    for (var layer = 0; layer < config.LayersPerBlock; layer++)
                    {
                        x = Resnet(x, $"resnets.{layer}");
                    }
                    if (level < levels - 1)
                    {
                        x = Conv2d(F.pad(x, [0, 1, 0, 1]), "downsamplers.0.conv", stride: 2);
                    }
                }
            }
            x = VaeMidBlock(x, frames: null);
            x = F.silu(GroupNorm(x, "conv_norm_out", VaeResnetEps));
            x = Conv2d(x, "conv_out", padding: 1);
        }
        x = Conv2d(x, "quant_conv");
        var halves = x.chunk(2, 1);
        return (halves[0], halves[1]);
    }

    /// <summary>
    /// The temporal VAE decoder: <paramref name="latents"/> (B·F, latent, h, w) of videos of <paramref name="frames"/>
    /// frames → (B·F, 3, H, W), in [−1, 1] before clamping.
    /// </summary>
    public Tensor VaeDecoder(Tensor latents, long frames)
    {
        var config = Architecture.Vae;
        using var _ = Enter("decoder");
        var x = Conv2d(latents, "conv_in", padding: 1);
        x = VaeMidBlock(x, frames);
        var levels = config.BlockOutChannels.Length;
        for (var level = 0; level < levels; level++)
        {
            using (Enter($"up_blocks.{level}"))
            {
                for (var layer = 0; layer <= config.LayersPerBlock; layer++)
                {
                    x = DecoderResBlock(x, $"resnets.{layer}", frames);
                }
                if (level < levels - 1)
                {
                    x = F.interpolate(x, size: [x.shape[2] * 2, x.shape[3] * 2], mode: InterpolationMode.Nearest);
                    x = Conv2d(x, "upsamplers.0.conv", padding: 1);
                }
            }
        }
        x = F.silu(GroupNorm(x, "conv_norm_out", VaeResnetEps));
        x = Conv2d(x, "conv_out", padding: 1);
        var video = ToVideo(x, frames);
        video = F.conv3d(video, P("time_conv_out.weight"), P("time_conv_out.bias"), padding: [1, 0, 0]);
        return FromVideo(video);
    }

    private Tensor Resnet(Tensor x, string name) => Released(() => ResnetCore(x, name));

    private Tensor ResnetCore(Tensor x, string name)
    {
        using var _ = Enter(name);
        var h = F.silu(GroupNorm(x, "norm1", VaeResnetEps));
        h = Conv2d(h, "conv1", padding: 1);
        h = F.silu(GroupNorm(h, "norm2", VaeResnetEps));
        h = Conv2d(h, "conv2", padding: 1);
        return (Has("conv_shortcut.weight") ? Conv2d(x, "conv_shortcut") : x) + h;
    }

    private Tensor DecoderResBlock(Tensor x, string name, long frames) => Released(() => DecoderResBlockCore(x, name, frames));

    private Tensor DecoderResBlockCore(Tensor x, string name, long frames)
    {
        using var _ = Enter(name);
        var spatial = Resnet(x, "spatial_res_block");
        var video = ToVideo(spatial, frames);
        Tensor temporal;
        using (Enter("temporal_res_block"))
        {
            var h = F.silu(GroupNorm(video, "norm1", VaeTemporalEps));
            h = Conv3dTemporal(h, "conv1");
            h = F.silu(GroupNorm(h, "norm2", VaeTemporalEps));
            h = Conv3dTemporal(h, "conv2");
            temporal = video + h;
        }
        return FromVideo(AlphaBlend(video, temporal, "time_mixer", switched: true));
    }

    private Tensor VaeMidBlock(Tensor x, long? frames)
    {
        using var _ = Enter("mid_block");
        Tensor Block(Tensor input, string name) => frames is { } f ? DecoderResBlock(input, name, f) : Resnet(input, name);
        x = Block(x, "resnets.0");
        using (Enter("attentions.0"))
        {
            var normalized = GroupNorm(x, "group_norm", VaeResnetEps);
            var tokens = normalized.reshape(x.shape[0], x.shape[1], -1).transpose(1, 2);
            var attended = Attention(tokens, tokens, null, heads: 1, bias: true);
            x = attended.transpose(1, 2).reshape(x.shape) + x;
        }
        return Block(x, "resnets.1");
    }

    // ---------------------------------------------------------------- CLIP

    /// <summary>The CLIP vision tower with projection: <paramref name="pixels"/> (B, 3, 224, 224), CLIP-normalised → (B, projection).</summary>
    public Tensor ImageEncoder(Tensor pixels)
    {
        var config = Architecture.ImageEncoder;
        var eps = config.LayerNormEps;
        Tensor pooled;
        using (Enter("vision_model"))
        {
            Tensor tokens;
            using (Enter("embeddings"))
            {
                var patches = F.conv2d(pixels, P("patch_embedding.weight"), strides: [config.PatchSize, config.PatchSize]);
                patches = patches.flatten(2).transpose(1, 2);
                var classToken = P("class_embedding").reshape(1, 1, -1).expand(pixels.shape[0], 1, -1);
                tokens = cat([classToken, patches], 1) + P("position_embedding.weight");
            }
            tokens = LayerNorm(tokens, "pre_layrnorm", eps);
            for (var layer = 0; layer < config.NumHiddenLayers; layer++)
            {
                using (Enter($"encoder.layers.{layer}"))
                {
                    var normalized = LayerNorm(tokens, "layer_norm1", eps);
                    var x = tokens + ClipAttention(normalized, config.NumAttentionHeads);
                    using (Enter("mlp"))
                    {
                        tokens = x + Linear(F.gelu(Linear(LayerNorm(x, "../layer_norm2", eps), "fc1")), "fc2");
                    }
                }
            }
            pooled = LayerNorm(tokens.select(1, 0), "post_layernorm", eps);
        }
        return F.linear(pooled, P("visual_projection.weight"));
    }

    private Tensor ClipAttention(Tensor x, int heads)
    {
        using var _ = Enter("self_attn");
        return MultiHead(Linear(x, "q_proj"), Linear(x, "k_proj"), Linear(x, "v_proj"), heads, "out_proj");
    }

    // ---------------------------------------------------------------- layers

    /// <summary>
    /// Runs one block in its own dispose scope, so its temporaries are freed when it returns rather than when the
    /// caller's scope ends (at full size they would otherwise hold a whole forward pass of activations). Autograd
    /// keeps what it needs on the native side, so training is unaffected.
    /// </summary>
    private static Tensor Released(Func<Tensor> block)
    {
        using var scope = NewDisposeScope();
        return block().MoveToOuterDisposeScope();
    }

    private Tensor Attention(Tensor query, Tensor context, string? name, int heads, bool bias = false)
    {
        using var _ = name is null ? null : Enter(name);
        var q = Linear(query, "to_q", bias);
        var k = Linear(context, "to_k", bias);
        var v = Linear(context, "to_v", bias);
        return MultiHead(q, k, v, heads, "to_out.0");
    }

    private Tensor MultiHead(Tensor q, Tensor k, Tensor v, int heads, string outName)
    {
        var batch = q.shape[0];
        var channels = q.shape[2];
        var headDim = channels / heads;
        Tensor Split(Tensor t) => t.reshape(batch, t.shape[1], heads, headDim).transpose(1, 2);
        var attended = F.scaled_dot_product_attention(Split(q), Split(k), Split(v));
        return Linear(attended.transpose(1, 2).reshape(batch, q.shape[1], channels), outName);
    }

    private Tensor FeedForward(Tensor x, string name)
    {
        using var _ = Enter(name);
        var projected = Linear(x, "net.0.proj");
        var halves = projected.chunk(2, -1);
        return Linear(halves[0] * F.gelu(halves[1]), "net.2");
    }

    private Tensor TimestepEmbedding(Tensor x, string name)
    {
        using var _ = Enter(name);
        return Linear(F.silu(Linear(x, "linear_1")), "linear_2");
    }

    /// <summary>diffusers' sinusoidal embedding, cos first, with the graph builders' float32 frequencies.</summary>
    private static Tensor Sinusoidal(Tensor t, int dim)
    {
        var frequencies = tensor(NnLayers.SinusoidalFrequencies(dim));
        var angles = t.to_type(float32).unsqueeze(1) * frequencies.unsqueeze(0);
        return cat([angles.cos(), angles.sin()], 1);
    }

    private Tensor AlphaBlend(Tensor spatial, Tensor temporal, string name, bool switched)
    {
        var alpha = P($"{name}.mix_factor").sigmoid();
        return switched ? (1 - alpha) * spatial + alpha * temporal : alpha * spatial + (1 - alpha) * temporal;
    }

    /// <summary>(B·F, C, h, w) → (B, C, F, h, w).</summary>
    private static Tensor ToVideo(Tensor x, long frames) =>
        x.reshape(-1, frames, x.shape[1], x.shape[2], x.shape[3]).permute(0, 2, 1, 3, 4);

    /// <summary>(B, C, F, h, w) → (B·F, C, h, w).</summary>
    private static Tensor FromVideo(Tensor video) =>
        video.permute(0, 2, 1, 3, 4).reshape(-1, video.shape[1], video.shape[3], video.shape[4]);

    private Tensor GroupNorm(Tensor x, string name, float eps) =>
        F.group_norm(x, Groups, P($"{name}.weight"), P($"{name}.bias"), eps);

    private Tensor LayerNorm(Tensor x, string name, float eps = 1e-5f) =>
        F.layer_norm(x, [x.shape[^1]], P($"{name}.weight"), P($"{name}.bias"), eps);

    private Tensor Linear(Tensor x, string name, bool bias = true) =>
        F.linear(x, P($"{name}.weight"), bias ? P($"{name}.bias") : null);

    private Tensor Conv2d(Tensor x, string name, long padding = 0, long stride = 1) =>
        F.conv2d(x, P($"{name}.weight"), P($"{name}.bias"), strides: [stride, stride], padding: [padding, padding]);

    private Tensor Conv3dTemporal(Tensor x, string name) =>
        F.conv3d(x, P($"{name}.weight"), P($"{name}.bias"), padding: [1, 0, 0]);

    private bool Has(string local) => Parameters.Specs.ContainsKey(Qualify(local));

    private Tensor P(string local) => Parameters[Qualify(local)];

    private string Qualify(string local)
    {
        var parts = _scope.Reverse().ToList();
        while (local.StartsWith("../", StringComparison.Ordinal))
        {
            parts.RemoveAt(parts.Count - 1);
            local = local[3..];
        }
        parts.Add(local);
        return string.Join('.', parts);
    }

    private Scope Enter(string name)
    {
        _scope.Push(name);
        return new Scope(_scope);
    }

    private sealed class Scope(Stack<string> stack) : IDisposable
    {
        public void Dispose() => stack.Pop();
    }
}
