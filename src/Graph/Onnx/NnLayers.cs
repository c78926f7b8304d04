using Onnx;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Onnx;

/// <summary>
/// The neural-network layers SVD is made of, written as ordinary ONNX ops onto an <see cref="OnnxGraphBuilder"/>.
/// Each method declares its parameters under the builder's current scope with the torch layout and key names.
/// </summary>
internal sealed class NnLayers(OnnxGraphBuilder graph, AttentionForm attentionForm)
{
    /// <summary>The builder the layers write to.</summary>
    public OnnxGraphBuilder Graph { get; } = graph;

    /// <summary>The attention form used by <see cref="Attention"/>.</summary>
    public AttentionForm AttentionForm { get; } = attentionForm;

    /// <summary>Runs <paramref name="build"/> inside the scope <paramref name="scope"/>.</summary>
    public T In<T>(string scope, Func<T> build)
    {
        using (Graph.Enter(scope))
        {
            return build();
        }
    }

    /// <summary><c>torch.nn.Linear</c>: x·Wᵀ + b, with W stored as (out, in) under <c>{name}.weight</c>.</summary>
    public OnnxValue Linear(OnnxValue x, string name, int inFeatures, int outFeatures, bool bias = true) => In(name, () =>
    {
        var weight = Graph.Parameter("weight", ParameterRole.Weight, [outFeatures, inFeatures], inFeatures);
        var y = Graph.Op("MatMul", [x, Graph.Op("Transpose", [weight], OnnxAttr.Ints("perm", 1, 0))]);
        return bias ? Graph.Op("Add", [y, Graph.Parameter("bias", ParameterRole.Bias, [outFeatures])]) : y;
    });

    /// <summary>2-D or 3-D convolution with symmetric padding <paramref name="padding"/> per spatial axis.</summary>
    public OnnxValue Conv(OnnxValue x, string name, int inChannels, int outChannels, int[] kernel, int[] padding,
        int stride = 1, bool bias = true) =>
        ConvWithPads(x, name, inChannels, outChannels, kernel, [.. padding, .. padding], stride, bias);

    /// <summary>Convolution with explicit ONNX pads (all begins, then all ends).</summary>
    public OnnxValue ConvWithPads(OnnxValue x, string name, int inChannels, int outChannels, int[] kernel, int[] pads,
        int stride = 1, bool bias = true) => In(name, () =>
    {
        long fanIn = inChannels;
        foreach (var k in kernel)
        {
            fanIn *= k;
        }
        var weight = Graph.Parameter("weight", ParameterRole.Weight, [outChannels, inChannels, .. kernel.Select(k => (long)k)], fanIn);
        OnnxValue[] inputs = bias
            ? [x, weight, Graph.Parameter("bias", ParameterRole.Bias, [outChannels])]
            : [x, weight];
        return Graph.Op("Conv", inputs,
            OnnxAttr.Ints("kernel_shape", kernel.Select(k => (long)k).ToArray()),
            OnnxAttr.Ints("pads", pads.Select(p => (long)p).ToArray()),
            OnnxAttr.Ints("strides", kernel.Select(_ => (long)stride).ToArray()));
    });

    /// <summary>
    /// <c>torch.nn.GroupNorm</c> on (batch, C, …) of any rank: statistics pool over C/groups channels and every
    /// axis after the channel axis (for a 5-D (N, C, F, h, w) tensor, across frames). Written as a PyTorch export
    /// does: reshape to (batch, groups, −1), InstanceNormalization, reshape back, per-channel affine. In a float16
    /// graph the normalization runs in float32 (statistics over up to millions of elements per group lose their
    /// precision in float16, and torch accumulates them in float32 too); the affine runs in float16.
    /// </summary>
    public OnnxValue GroupNorm(OnnxValue x, string name, int channels, int groups, float epsilon, int rank) => In(name, () =>
    {
        var grouped = Graph.ToFloat32(Graph.Op("Reshape", [x, Graph.Int64s(0, groups, -1)]));
        var ones = Graph.Float32Constant(Enumerable.Repeat(1f, groups).ToArray(), groups);
        var zeros = Graph.Float32Constant(new float[groups], groups);
        var normalized = Graph.Op("InstanceNormalization", [grouped, ones, zeros], OnnxAttr.Float("epsilon", epsilon));
        var restored = Graph.Op("Reshape", [Graph.ToCompute(normalized), Graph.Op("Shape", [x])]);
        var perChannel = Graph.Int64s([channels, .. Enumerable.Repeat(1L, rank - 2)]);
        var scale = Graph.Op("Reshape", [Graph.Parameter("weight", ParameterRole.NormScale, [channels]), perChannel]);
        var shift = Graph.Op("Reshape", [Graph.Parameter("bias", ParameterRole.NormShift, [channels]), perChannel]);
        return Graph.Op("Add", [Graph.Op("Mul", [restored, scale]), shift]);
    });

    /// <summary>
    /// <c>torch.nn.LayerNorm</c> over the last axis (ONNX LayerNormalization, opset 17). Its default
    /// <c>stash_type</c> computes mean and variance in float32 at float16 too.
    /// </summary>
    public OnnxValue LayerNorm(OnnxValue x, string name, int channels, float epsilon = 1e-5f) => In(name, () =>
        Graph.Op("LayerNormalization",
            [x, Graph.Parameter("weight", ParameterRole.NormScale, [channels]), Graph.Parameter("bias", ParameterRole.NormShift, [channels])],
            OnnxAttr.Int("axis", -1), OnnxAttr.Float("epsilon", epsilon)));

    /// <summary>SiLU(x) = x·sigmoid(x).</summary>
    public OnnxValue Silu(OnnxValue x) => Graph.Op("Mul", [x, Graph.Op("Sigmoid", [x])]);

    /// <summary>Exact GELU, 0.5·x·(1 + erf(x/√2)), as exported at opset 17.</summary>
    public OnnxValue Gelu(OnnxValue x)
    {
        var erf = Graph.Op("Erf", [Graph.Op("Div", [x, Graph.Scalar(MathF.Sqrt(2f))])]);
        return Graph.Op("Mul", [Graph.Op("Mul", [x, Graph.Op("Add", [erf, Graph.Scalar(1f)])]), Graph.Scalar(0.5f)]);
    }

    /// <summary>
    /// diffusers' sinusoidal embedding with cos first: t (K) → (K, dim) = [cos(t·fᵢ) …, sin(t·fᵢ) …],
    /// fᵢ = exp(−ln(10000)·i/(dim/2)). <paramref name="t"/> is float32 and the angles are computed in float32 at
    /// every precision (an angle of 127 has a resolution of 1/16 in float16), then cast to the compute type, as
    /// diffusers does.
    /// </summary>
    public OnnxValue SinusoidalEmbedding(OnnxValue t, int dim)
    {
        var frequencies = SinusoidalFrequencies(dim);
        var angles = Graph.Op("Mul", [
            Graph.Op("Unsqueeze", [t, Graph.Int64s(1)]),
            Graph.Float32Constant(frequencies, 1, frequencies.Length)]);
        return Graph.ToCompute(Graph.Op("Concat", [Graph.Op("Cos", [angles]), Graph.Op("Sin", [angles])], OnnxAttr.Int("axis", 1)));
    }

    /// <summary>The frequencies of <see cref="SinusoidalEmbedding"/>, computed in float32 as torch does.</summary>
    public static float[] SinusoidalFrequencies(int dim)
    {
        if (dim <= 0 || dim % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, "A sinusoidal embedding needs a positive even width.");
        }
        var half = dim / 2;
        var frequencies = new float[half];
        var logMaxPeriod = (float)Math.Log(10000.0);
        for (var i = 0; i < half; i++)
        {
            frequencies[i] = MathF.Exp(-logMaxPeriod * i / half);
        }
        return frequencies;
    }

    /// <summary>diffusers' <c>TimestepEmbedding</c>: linear_1 → SiLU → linear_2.</summary>
    public OnnxValue TimestepEmbedding(OnnxValue x, string name, int inFeatures, int hidden, int outFeatures) => In(name, () =>
        Linear(Silu(Linear(x, "linear_1", inFeatures, hidden)), "linear_2", hidden, outFeatures));

    /// <summary>
    /// Multi-head attention of <paramref name="query"/> (B, S, C) over <paramref name="context"/> (B, L, kvDim),
    /// with projections named <paramref name="names"/> (q, k, v, out) and head width C/heads; returns the output
    /// projection (B, S, C). The form follows <see cref="AttentionForm"/>.
    /// </summary>
    public OnnxValue Attention(OnnxValue query, OnnxValue context, int channels, int kvDim, int heads,
        AttentionNames names, bool qkvBias)
    {
        var q = Linear(query, names.Query, channels, channels, qkvBias);
        var k = Linear(context, names.Key, kvDim, channels, qkvBias);
        var v = Linear(context, names.Value, kvDim, channels, qkvBias);
        var headDim = channels / heads;
        OnnxValue attended;
        if (AttentionForm == AttentionForm.Fused)
        {
            attended = Graph.MicrosoftOp("MultiHeadAttention", [q, k, v],
                OnnxAttr.Int("num_heads", heads), OnnxAttr.Float("scale", 1f / MathF.Sqrt(headDim)));
        }
        else
        {
            var split = Graph.Int64s(0, 0, heads, headDim);
            var q4 = Graph.Op("Transpose", [Graph.Op("Reshape", [q, split])], OnnxAttr.Ints("perm", 0, 2, 1, 3));
            var kT = Graph.Op("Transpose", [Graph.Op("Reshape", [k, split])], OnnxAttr.Ints("perm", 0, 2, 3, 1));
            var v4 = Graph.Op("Transpose", [Graph.Op("Reshape", [v, split])], OnnxAttr.Ints("perm", 0, 2, 1, 3));
            var scores = Graph.Op("Mul", [Graph.Op("MatMul", [q4, kT]), Graph.Scalar(1f / MathF.Sqrt(headDim))]);
            var weights = Graph.Op("Softmax", [scores], OnnxAttr.Int("axis", -1));
            var heads4 = Graph.Op("Transpose", [Graph.Op("MatMul", [weights, v4])], OnnxAttr.Ints("perm", 0, 2, 1, 3));
            attended = Graph.Op("Reshape", [heads4, Graph.Int64s(0, 0, channels)]);
        }
        return Linear(attended, names.Out, channels, channels);
    }

    /// <summary>
    /// diffusers' GEGLU <c>FeedForward</c>: net.0.proj C→8C, a·GELU(g), net.2 4C→out. The projection is stored as
    /// one (8C, C) weight, as diffusers keeps it, but computed as two half-width products (the halves are constant
    /// slices that ONNX Runtime folds at load): no Split copies the 8C-wide activation, and the gate's bias Add
    /// meets its GELU, which ONNX Runtime fuses into one BiasGelu kernel.
    /// </summary>
    public OnnxValue FeedForwardGeglu(OnnxValue x, string name, int channels, int outChannels) => In(name, () =>
    {
        var inner = 4 * channels;
        var gated = In("net.0.proj", () =>
        {
            var weight = Graph.Op("Transpose", [Graph.Parameter("weight", ParameterRole.Weight, [2 * inner, channels], channels)],
                OnnxAttr.Ints("perm", 1, 0));
            var bias = Graph.Parameter("bias", ParameterRole.Bias, [2 * inner]);
            OnnxValue Half(OnnxValue parameter, long start, long axis) =>
                Graph.Op("Slice", [parameter, Graph.Int64s(start), Graph.Int64s(start + inner), Graph.Int64s(axis)]);
            var value = Graph.Op("Add", [Graph.Op("MatMul", [x, Half(weight, 0, 1)]), Half(bias, 0, 0)]);
            var gate = Graph.Op("Add", [Graph.Op("MatMul", [x, Half(weight, inner, 1)]), Half(bias, inner, 0)]);
            return Graph.Op("Mul", [value, Gelu(gate)]);
        });
        return Linear(gated, "net.2", inner, outChannels);
    });

    /// <summary>
    /// diffusers' <c>AlphaBlender</c> with a learned scalar: α = sigmoid(<c>{name}.mix_factor</c>);
    /// out = α·spatial + (1 − α)·temporal, or with <paramref name="switched"/> (the VAE decoder's
    /// <c>switch_spatial_to_temporal_mix</c>) out = (1 − α)·spatial + α·temporal.
    /// </summary>
    public OnnxValue AlphaBlend(OnnxValue spatial, OnnxValue temporal, string name, bool switched = false) => In(name, () =>
    {
        var alpha = Graph.Op("Sigmoid", [Graph.Parameter("mix_factor", ParameterRole.MixFactor, [1])]);
        var complement = Graph.Op("Sub", [Graph.Scalar(1f), alpha]);
        var (spatialWeight, temporalWeight) = switched ? (complement, alpha) : (alpha, complement);
        return Graph.Op("Add", [Graph.Op("Mul", [spatialWeight, spatial]), Graph.Op("Mul", [temporalWeight, temporal])]);
    });

    /// <summary>The elements of a shape slice <c>Shape(x)[start:end]</c> as a 1-D int64 tensor.</summary>
    public OnnxValue ShapeOf(OnnxValue x, int start, int? end = null) =>
        end is { } e
            ? Graph.Op("Shape", [x], OnnxAttr.Int("start", start), OnnxAttr.Int("end", e))
            : Graph.Op("Shape", [x], OnnxAttr.Int("start", start));

    /// <summary>Concatenates 1-D int64 shape pieces.</summary>
    public OnnxValue ShapeConcat(params OnnxValue[] parts) => Graph.Op("Concat", parts, OnnxAttr.Int("axis", 0));

    /// <summary>Reshape.</summary>
    public OnnxValue Reshape(OnnxValue x, OnnxValue shape) => Graph.Op("Reshape", [x, shape]);

    /// <summary>Transpose.</summary>
    public OnnxValue Transpose(OnnxValue x, params long[] perm) => Graph.Op("Transpose", [x], OnnxAttr.Ints("perm", perm));

    /// <summary>Element-wise sum.</summary>
    public OnnxValue Add(OnnxValue a, OnnxValue b) => Graph.Op("Add", [a, b]);

    /// <summary>Unsqueeze at <paramref name="axes"/>.</summary>
    public OnnxValue Unsqueeze(OnnxValue x, params long[] axes) => Graph.Op("Unsqueeze", [x, Graph.Int64s(axes)]);
}

/// <summary>The local names of an attention's four projections.</summary>
/// <param name="Query">Query projection.</param>
/// <param name="Key">Key projection.</param>
/// <param name="Value">Value projection.</param>
/// <param name="Out">Output projection.</param>
internal sealed record AttentionNames(string Query, string Key, string Value, string Out)
{
    /// <summary>diffusers' names: <c>to_q</c>, <c>to_k</c>, <c>to_v</c>, <c>to_out.0</c>.</summary>
    public static AttentionNames Diffusers { get; } = new("to_q", "to_k", "to_v", "to_out.0");

    /// <summary>transformers' CLIP names: <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>, <c>out_proj</c>.</summary>
    public static AttentionNames Clip { get; } = new("q_proj", "k_proj", "v_proj", "out_proj");
}
