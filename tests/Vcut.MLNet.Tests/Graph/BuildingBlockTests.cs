using Onnx;
using Vcut.Graph.Onnx;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>
/// The layers the graphs are made of, run in ONNX Runtime and compared with independent C# computations
/// (double precision, written from the formulas of docs/svd.md and diffusers' modules).
/// </summary>
[TestClass]
public sealed class BuildingBlockTests
{
    private const TensorProto.Types.DataType F32 = TensorProto.Types.DataType.Float;

    private static Dictionary<string, TestTensor> RunLayer(
        Dictionary<string, float[]> weights, Func<NnLayers, OnnxValue[], OnnxValue> layer,
        AttentionForm form, params (string Name, TestTensor Value)[] inputs)
    {
        var g = new OnnxGraphBuilder("layer", new DictionaryWeightSource(weights));
        var nn = new NnLayers(g, form);
        var values = inputs.Select(i => g.Input(i.Name, F32, i.Value.Shape.Select(d => (object)d).ToArray())).ToArray();
        var result = layer(nn, values);
        g.OutputOfAnyShape(result, "y", F32);
        return OrtTestRunner.Run(g.ToModel(17, "test"), inputs.ToDictionary(i => i.Name, i => i.Value));
    }

    [TestMethod]
    public void SinusoidalEmbeddingIsCosThenSinOfTheSpecFrequencies()
    {
        const int dim = 32;
        float[] t = [0f, 1f, -1.55365f, 1.63777f, 6f, 127f, 0.02f, 24f];
        var y = RunLayer([], (nn, x) => nn.SinusoidalEmbedding(x[0], dim), AttentionForm.Plain, ("t", TestTensor.Of(t, t.Length)))["y"];
        CollectionAssert.AreEqual(new long[] { t.Length, dim }, y.Shape);
        var expected = new float[t.Length * dim];
        for (var k = 0; k < t.Length; k++)
        {
            for (var i = 0; i < dim / 2; i++)
            {
                var angle = t[k] * Math.Exp(-Math.Log(10000) * i / (dim / 2));
                expected[k * dim + i] = (float)Math.Cos(angle);
                expected[k * dim + dim / 2 + i] = (float)Math.Sin(angle);
            }
        }
        TestData.AssertClose(expected, y.Data, 1e-4f, "sincos");
    }

    [TestMethod]
    public void FiveDimensionalGroupNormPoolsAcrossFrames()
    {
        const int n = 2, c = 64, f = 3, h = 2, w = 3, groups = 32;
        const float eps = 1e-6f;
        var x = TestData.Uniform(n * c * f * h * w, 11, 2f);
        for (var i = 0; i < x.Length; i++)
        {
            x[i] += i % 7; // distinct means per frame and channel
        }
        var gamma = TestData.Uniform(c, 12);
        var beta = TestData.Uniform(c, 13);
        var y = RunLayer(new() { ["gn.weight"] = gamma, ["gn.bias"] = beta },
            (nn, v) => nn.GroupNorm(v[0], "gn", c, groups, eps, rank: 5), AttentionForm.Plain,
            ("x", TestTensor.Of(x, n, c, f, h, w)))["y"];

        var expected = new float[x.Length];
        var perChannel = f * h * w;
        var perGroup = c / groups * perChannel;
        for (var b = 0; b < n; b++)
        {
            for (var g = 0; g < groups; g++)
            {
                var start = (b * c + g * (c / groups)) * perChannel;
                double mean = 0, variance = 0;
                for (var i = 0; i < perGroup; i++)
                {
                    mean += x[start + i];
                }
                mean /= perGroup;
                for (var i = 0; i < perGroup; i++)
                {
                    variance += (x[start + i] - mean) * (x[start + i] - mean);
                }
                variance /= perGroup;
                for (var i = 0; i < perGroup; i++)
                {
                    var channel = g * (c / groups) + i / perChannel;
                    expected[start + i] = (float)((x[start + i] - mean) / Math.Sqrt(variance + eps) * gamma[channel] + beta[channel]);
                }
            }
        }
        TestData.AssertClose(expected, y.Data, 1e-4f, "GroupNorm over (C/32, F, h, w)");
    }

    private static Dictionary<string, float[]> AttentionWeights(int channels, int kvDim)
    {
        return new()
        {
            ["attn.to_q.weight"] = TestData.Uniform(channels * channels, 21, 0.2f),
            ["attn.to_k.weight"] = TestData.Uniform(channels * kvDim, 22, 0.2f),
            ["attn.to_v.weight"] = TestData.Uniform(channels * kvDim, 23, 0.2f),
            ["attn.to_out.0.weight"] = TestData.Uniform(channels * channels, 24, 0.2f),
            ["attn.to_out.0.bias"] = TestData.Uniform(channels, 25, 0.2f),
        };
    }

    private static double[] LinearRow(float[] weight, float[]? bias, ReadOnlySpan<float> x, int inF, int outF)
    {
        var y = new double[outF];
        for (var o = 0; o < outF; o++)
        {
            double sum = bias?[o] ?? 0;
            for (var i = 0; i < inF; i++)
            {
                sum += weight[o * inF + i] * (double)x[i];
            }
            y[o] = sum;
        }
        return y;
    }

    [TestMethod]
    [DataRow(AttentionForm.Plain)]
    [DataRow(AttentionForm.Fused)]
    public void AttentionOverOneKeyIsToOutOfToV(AttentionForm form)
    {
        const int b = 2, s = 5, c = 64, kv = 32, heads = 2;
        var weights = AttentionWeights(c, kv);
        var query = TestData.Uniform(b * s * c, 31, 3f);
        var context = TestData.Uniform(b * kv, 32, 3f);
        var y = RunLayer(weights,
            (nn, v) => nn.In("attn", () => nn.Attention(v[0], v[1], c, kv, heads, AttentionNames.Diffusers, qkvBias: false)), form,
            ("q", TestTensor.Of(query, b, s, c)), ("ctx", TestTensor.Of(context, b, 1, kv)))["y"];

        var expected = new float[b * s * c];
        for (var batch = 0; batch < b; batch++)
        {
            var value = LinearRow(weights["attn.to_v.weight"], null, context.AsSpan(batch * kv, kv), kv, c).Select(v => (float)v).ToArray();
            var output = LinearRow(weights["attn.to_out.0.weight"], weights["attn.to_out.0.bias"], value, c, c);
            for (var token = 0; token < s; token++)
            {
                for (var ch = 0; ch < c; ch++)
                {
                    expected[(batch * s + token) * c + ch] = (float)output[ch];
                }
            }
        }
        TestData.AssertClose(expected, y.Data, 1e-4f, $"{form} single-key attention");
    }

    [TestMethod]
    [DataRow(AttentionForm.Plain)]
    [DataRow(AttentionForm.Fused)]
    public void AttentionOverSeveralKeysMatchesSoftmaxPerHead(AttentionForm form)
    {
        const int b = 2, s = 3, l = 4, c = 64, kv = 32, heads = 4, d = c / heads;
        var weights = AttentionWeights(c, kv);
        var query = TestData.Uniform(b * s * c, 41, 2f);
        var context = TestData.Uniform(b * l * kv, 42, 2f);
        var y = RunLayer(weights,
            (nn, v) => nn.In("attn", () => nn.Attention(v[0], v[1], c, kv, heads, AttentionNames.Diffusers, qkvBias: false)), form,
            ("q", TestTensor.Of(query, b, s, c)), ("ctx", TestTensor.Of(context, b, l, kv)))["y"];

        var expected = new float[b * s * c];
        for (var batch = 0; batch < b; batch++)
        {
            var keys = Enumerable.Range(0, l).Select(j => LinearRow(weights["attn.to_k.weight"], null, context.AsSpan((batch * l + j) * kv, kv), kv, c)).ToArray();
            var values = Enumerable.Range(0, l).Select(j => LinearRow(weights["attn.to_v.weight"], null, context.AsSpan((batch * l + j) * kv, kv), kv, c)).ToArray();
            for (var token = 0; token < s; token++)
            {
                var q = LinearRow(weights["attn.to_q.weight"], null, query.AsSpan((batch * s + token) * c, c), c, c);
                var mixed = new float[c];
                for (var head = 0; head < heads; head++)
                {
                    var scores = new double[l];
                    for (var j = 0; j < l; j++)
                    {
                        for (var e = 0; e < d; e++)
                        {
                            scores[j] += q[head * d + e] * keys[j][head * d + e] / Math.Sqrt(d);
                        }
                    }
                    var max = scores.Max();
                    var exps = scores.Select(v => Math.Exp(v - max)).ToArray();
                    var total = exps.Sum();
                    for (var e = 0; e < d; e++)
                    {
                        double sum = 0;
                        for (var j = 0; j < l; j++)
                        {
                            sum += exps[j] / total * values[j][head * d + e];
                        }
                        mixed[head * d + e] = (float)sum;
                    }
                }
                var output = LinearRow(weights["attn.to_out.0.weight"], weights["attn.to_out.0.bias"], mixed, c, c);
                for (var ch = 0; ch < c; ch++)
                {
                    expected[(batch * s + token) * c + ch] = (float)output[ch];
                }
            }
        }
        TestData.AssertClose(expected, y.Data, 1e-4f, $"{form} multi-key attention");
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void AlphaBlenderWeighsSpatialBySigmoidOfMixFactorUnlessSwitched(bool switched)
    {
        const float mix = 0.7f;
        var spatial = TestData.Uniform(24, 51);
        var temporal = TestData.Uniform(24, 52);
        var y = RunLayer(new() { ["blend.mix_factor"] = [mix] },
            (nn, v) => nn.AlphaBlend(v[0], v[1], "blend", switched), AttentionForm.Plain,
            ("s", TestTensor.Of(spatial, 2, 3, 4)), ("t", TestTensor.Of(temporal, 2, 3, 4)))["y"];
        var alpha = 1 / (1 + Math.Exp(-mix));
        var spatialWeight = switched ? 1 - alpha : alpha;
        var expected = spatial.Select((s, i) => (float)(spatialWeight * s + (1 - spatialWeight) * temporal[i])).ToArray();
        TestData.AssertClose(expected, y.Data, 1e-6f, switched ? "switched blend" : "blend");
    }

    [TestMethod]
    public void LinearUsesTorchLayoutWeights()
    {
        var weight = TestData.Uniform(3 * 5, 61);
        var bias = TestData.Uniform(3, 62);
        var x = TestData.Uniform(2 * 5, 63);
        var y = RunLayer(new() { ["fc.weight"] = weight, ["fc.bias"] = bias },
            (nn, v) => nn.Linear(v[0], "fc", 5, 3), AttentionForm.Plain, ("x", TestTensor.Of(x, 2, 5)))["y"];
        var expected = Enumerable.Range(0, 2).SelectMany(r => LinearRow(weight, bias, x.AsSpan(r * 5, 5), 5, 3)).Select(v => (float)v).ToArray();
        TestData.AssertClose(expected, y.Data, 1e-6f, "linear");
    }
    [TestMethod]
    public void FeedForwardGegluGatesTheFirstHalfOfTheProjectionByGeluOfTheSecond()
    {
        const int rows = 3, c = 4, inner = 4 * c, outF = 5;
        var projWeight = TestData.Uniform(2 * inner * c, 71);
        var projBias = TestData.Uniform(2 * inner, 72);
        var outWeight = TestData.Uniform(outF * inner, 73);
        var outBias = TestData.Uniform(outF, 74);
        var x = TestData.Uniform(rows * c, 75, 2f);
        var y = RunLayer(new()
            {
                ["ff.net.0.proj.weight"] = projWeight, ["ff.net.0.proj.bias"] = projBias,
                ["ff.net.2.weight"] = outWeight, ["ff.net.2.bias"] = outBias,
            },
            (nn, v) => nn.FeedForwardGeglu(v[0], "ff", c, outF), AttentionForm.Plain, ("x", TestTensor.Of(x, 1, rows, c)))["y"];
        CollectionAssert.AreEqual(new long[] { 1, rows, outF }, y.Shape);
        var expected = new List<float>();
        for (var r = 0; r < rows; r++)
        {
            // diffusers' GEGLU: hidden, gate = proj(x).chunk(2, -1); hidden * gelu(gate), GELU by erf.
            var projected = LinearRow(projWeight, projBias, x.AsSpan(r * c, c), c, 2 * inner);
            var gated = Enumerable.Range(0, inner)
                .Select(i => (float)(projected[i] * 0.5 * projected[inner + i] * (1 + Erf(projected[inner + i] / Math.Sqrt(2)))))
                .ToArray();
            expected.AddRange(LinearRow(outWeight, outBias, gated, inner, outF).Select(v => (float)v));
        }
        TestData.AssertClose([.. expected], y.Data, 1e-5f, "geglu");
    }

    /// <summary>erf by Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7).</summary>
    private static double Erf(double x)
    {
        var t = 1 / (1 + 0.3275911 * Math.Abs(x));
        var poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
        return Math.Sign(x) * (1 - poly * Math.Exp(-x * x));
    }
}
