using Google.Protobuf;
using Onnx;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>The graph rewriter against the builder's native VCUT variants, and its refusals.</summary>
[TestClass]
public sealed class VcutRewriterTests
{
    private static readonly UNetConfig Tiny = ModelPreset.Tiny.Architecture.UNet;

    private static ModelProto OffUNet(AttentionForm form, IWeightSource? weights = null) =>
        UNetGraphBuilder.Build(Tiny, weights ?? new SeededWeightSource(4), form);

    private static Dictionary<string, TestTensor> Inputs()
    {
        const int batch = 2, frames = 2, h = 5, w = 6;
        return new()
        {
            ["sample"] = TestTensor.Of(TestData.Uniform(batch * frames * 8 * h * w, 10), batch, frames, 8, h, w),
            ["timestep"] = TestTensor.Of([-0.4f], 1),
            ["encoder_hidden_states"] = TestTensor.Of(TestData.Uniform(batch * Tiny.CrossAttentionDim, 11, 2f), batch, 1, Tiny.CrossAttentionDim),
            ["added_time_ids"] = TestTensor.Of([6, 127, 0.02f, 6, 127, 0.02f], batch, 3),
        };
    }

    private static float[] RunWithCache(ModelProto unet, ModelProto cache, Dictionary<string, TestTensor> inputs)
    {
        var constants = OrtTestRunner.Run(cache, new Dictionary<string, TestTensor> { ["encoder_hidden_states"] = inputs["encoder_hidden_states"] });
        var unetInputs = inputs.Where(p => p.Key != "encoder_hidden_states").ToDictionary();
        foreach (var (name, value) in constants)
        {
            unetInputs[name] = value;
        }
        return OrtTestRunner.Run(unet, unetInputs)["out_sample"].Data;
    }

    [TestMethod]
    [DataRow(AttentionForm.Plain, VcutMode.Exact)]
    [DataRow(AttentionForm.Fused, VcutMode.Exact)]
    [DataRow(AttentionForm.Plain, VcutMode.Paper)]
    [DataRow(AttentionForm.Fused, VcutMode.Paper)]
    public void RewrittenUNetEqualsTheNativeVariant(AttentionForm form, VcutMode mode)
    {
        var rewritten = VcutRewriter.Rewrite(OffUNet(form), mode);
        var native = UNetGraphBuilder.Build(Tiny, new SeededWeightSource(4), form, mode);
        var nativeCache = ConditioningCacheGraphBuilder.Build(Tiny, new SeededWeightSource(4), mode);
        var inputs = Inputs();
        TestData.AssertClose(RunWithCache(native, nativeCache, inputs), RunWithCache(rewritten.UNet, rewritten.Cache, inputs), 1e-5f, $"{form} {mode}");
        CollectionAssert.AreEquivalent(
            native.Graph.Input.Select(i => i.Name).ToList(),
            rewritten.UNet.Graph.Input.Select(i => i.Name).ToList(), "same inputs as the native variant");
    }

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void SmallPresetExactEqualsOffWithinOneInTenThousand()
    {
        var small = ModelPreset.Small.Architecture.UNet;
        var weights = new SeededWeightSource(21);
        const int batch = 2, frames = 3, h = 6, w = 8;
        var inputs = new Dictionary<string, TestTensor>
        {
            ["sample"] = TestTensor.Of(TestData.Uniform(batch * frames * 8 * h * w, 30), batch, frames, 8, h, w),
            ["timestep"] = TestTensor.Of([1.2f], 1),
            ["encoder_hidden_states"] = TestTensor.Of([.. new float[small.CrossAttentionDim], .. TestData.Uniform(small.CrossAttentionDim, 31, 2f)], batch, 1, small.CrossAttentionDim),
            ["added_time_ids"] = TestTensor.Of([6, 127, 0.02f, 6, 127, 0.02f], batch, 3),
        };
        var off = OrtTestRunner.Run(UNetGraphBuilder.Build(small, weights, AttentionForm.Fused), inputs)["out_sample"].Data;
        var exact = VcutRewriter.Rewrite(UNetGraphBuilder.Build(small, weights, AttentionForm.Fused), VcutMode.Exact);
        var result = RunWithCache(exact.UNet, exact.Cache, inputs);
        var relative = off.Zip(result, (a, b) => MathF.Abs(a - b)).Max() / off.Max(MathF.Abs);
        TestContext.WriteLine($"small UNet, exact vs off: max |diff| / max |off| = {relative:E2}");
        Assert.IsLessThanOrEqualTo(1e-4f, relative);
    }

    [TestMethod]
    public void RewrittenExactEqualsTheOriginal()
    {
        var inputs = Inputs();
        var off = OrtTestRunner.Run(OffUNet(AttentionForm.Plain), inputs)["out_sample"].Data;
        var exact = VcutRewriter.Rewrite(OffUNet(AttentionForm.Plain), VcutMode.Exact);
        TestData.AssertClose(off, RunWithCache(exact.UNet, exact.Cache, inputs), 1e-4f, "exact vs off");
    }

    [TestMethod]
    [DataRow(AttentionForm.Plain)]
    [DataRow(AttentionForm.Fused)]
    public void ReportsTheThirtyTwoCrossAttentionsOfSvdXt(AttentionForm form)
    {
        var full = ModelPreset.SvdXt.Architecture.UNet;
        var report = VcutRewriter.Rewrite(UNetGraphBuilder.Build(full, StructureOnlyWeightSource.Instance, form), VcutMode.Exact).Report;
        Assert.HasCount(32, report.Found);
        Assert.HasCount(16, report.Found.Where(f => f.Kind == CrossAttentionKind.Spatial));
        Assert.IsTrue(report.Found.All(f => f.KeyLength == 1));
        Assert.IsTrue(report.Found.All(f => f.Form == (form == AttentionForm.Fused ? "fused" : "plain")));
        CollectionAssert.AreEquivalent(
            CrossAttentionSite.All(full).Select(s => (s.Key, s.Kind, s.Channels)).ToList(),
            report.Found.Select(f => (f.Name, f.Kind, f.Channels)).ToList(), "the builder's sites, found by structure");
        var native = UNetGraphBuilder.Build(full, StructureOnlyWeightSource.Instance, form, VcutMode.Exact).Graph.Initializer.Sum(i => i.Dims.Aggregate(1L, (a, d) => a * d));
        Assert.AreEqual(native, report.UNetParametersAfter);
        Assert.AreEqual(1_524_623_082L, report.UNetParametersBefore);
        StringAssert.Contains(report.ToString(), "16 spatial (5×320, 5×640, 6×1280)");
    }

    [TestMethod]
    public void FindsCrossAttentionsWithoutNames()
    {
        // Rename every initializer and node, as an export with anonymous weights would have them.
        var model = OffUNet(AttentionForm.Plain);
        var renames = model.Graph.Initializer.Select((t, i) => (t.Name, New: $"onnx::MatMul_{i}")).ToDictionary(p => p.Name, p => p.New);
        foreach (var t in model.Graph.Initializer)
        {
            t.Name = renames[t.Name];
        }
        var n = 0;
        foreach (var node in model.Graph.Node)
        {
            node.Name = $"node_{n++}";
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (renames.TryGetValue(node.Input[i], out var renamed))
                {
                    node.Input[i] = renamed;
                }
            }
        }
        var result = VcutRewriter.Rewrite(model, VcutMode.Exact);
        Assert.HasCount(32, result.Report.Found);
        Assert.IsTrue(result.Report.Found.All(f => f.Name.StartsWith("cross_attention.", StringComparison.Ordinal)));
        var inputs = Inputs();
        var off = OrtTestRunner.Run(OffUNet(AttentionForm.Plain), inputs)["out_sample"].Data;
        TestData.AssertClose(off, RunWithCache(result.UNet, result.Cache, inputs), 1e-4f, "anonymous export, exact vs off");
    }

    [TestMethod]
    public void UNetWithoutTheContextInputIsRefused()
    {
        var vae = VaeGraphBuilder.BuildEncoder(ModelPreset.Tiny.Architecture.Vae, StructureOnlyWeightSource.Instance, AttentionForm.Plain);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => VcutRewriter.Rewrite(vae, VcutMode.Exact));
        StringAssert.Contains(e.Message, "no 'encoder_hidden_states' input", e.Message);
        var rewritten = VcutRewriter.Rewrite(OffUNet(AttentionForm.Plain, StructureOnlyWeightSource.Instance), VcutMode.Exact).UNet;
        e = Assert.ThrowsExactly<InvalidDataException>(() => VcutRewriter.Rewrite(rewritten, VcutMode.Exact));
        StringAssert.Contains(e.Message, "already rewritten", e.Message);
    }

    [TestMethod]
    public void UNetWhoseContextFeedsNoAttentionIsRefused()
    {
        // The context only reaches the output through a plain Add: no cross-attention to cache.
        var g = new OnnxGraphBuilder("unet", StructureOnlyWeightSource.Instance);
        var f32 = TensorProto.Types.DataType.Float;
        var sample = g.Input("sample", f32, "batch", "frames", 8, "height", "width");
        g.Input("timestep", f32, 1);
        var context = g.Input("encoder_hidden_states", f32, "batch", 1, 32);
        g.Input("added_time_ids", f32, "batch", 3);
        var mean = g.Op("ReduceMean", [context], OnnxAttr.Ints("axes", 1, 2), OnnxAttr.Int("keepdims", 0));
        g.Output(g.Op("Add", [sample, g.Op("Reshape", [mean, g.Int64s(-1, 1, 1, 1, 1)])]), "out_sample", f32, "batch", "frames", 8, "height", "width");
        var e = Assert.ThrowsExactly<InvalidDataException>(() => VcutRewriter.Rewrite(g.ToModel(17, "test"), VcutMode.Exact));
        StringAssert.Contains(e.Message, "No cross-attention reads 'encoder_hidden_states'", e.Message);
    }

    /// <summary>A minimal UNet-shaped graph with one spatial cross-attention over <paramref name="keys"/> context tokens.</summary>
    private static ModelProto SyntheticUNet(int keys)
    {
        const int channels = 8, cross = 16;
        var g = new OnnxGraphBuilder("unet", new SeededWeightSource(1));
        var nn = new NnLayers(g, AttentionForm.Plain);
        var f32 = TensorProto.Types.DataType.Float;
        var sample = g.Input("sample", f32, "batch", "frames", channels, "height", "width");
        g.Input("timestep", f32, 1);
        var context = g.Input("encoder_hidden_states", f32, "batch", keys, cross);
        g.Input("added_time_ids", f32, "batch", 3);
        var frames = nn.ShapeOf(sample, 1, 2);
        var rows = g.Op("Mul", [nn.ShapeOf(sample, 0, 1), frames]);
        var tokens = nn.Reshape(nn.Transpose(sample, 0, 1, 3, 4, 2), nn.ShapeConcat(rows, g.Int64s(-1, channels)));
        var perFrame = nn.Reshape(g.Op("Expand", [nn.Unsqueeze(context, 1), nn.ShapeConcat(g.Int64s(1), frames, g.Int64s(1, 1))]), g.Int64s(-1, keys, cross));
        var attended = nn.In("blocks.0.attn2", () => nn.Attention(tokens, perFrame, channels, cross, 2, AttentionNames.Diffusers, qkvBias: false));
        g.OutputOfAnyShape(nn.Add(tokens, attended), "out_sample", f32);
        return g.ToModel(17, "synthetic");
    }

    [TestMethod]
    public void KeyLengthOtherThanOneIsRefused()
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => VcutRewriter.Rewrite(SyntheticUNet(keys: 4), VcutMode.Exact));
        StringAssert.Contains(e.Message, "attends over 4 keys", e.Message);
    }

    [TestMethod]
    public void UnpairedCrossAttentionsAreRefused()
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => VcutRewriter.Rewrite(SyntheticUNet(keys: 1), VcutMode.Exact));
        StringAssert.Contains(e.Message, "Found 1 spatial and 0 temporal cross-attentions", e.Message);
    }

    [TestMethod]
    public void CrossAttentionWithoutAResidualIsRefused()
    {
        // Cut one temporal cross-attention's residual add: its output then reaches nothing.
        var model = OffUNet(AttentionForm.Plain, StructureOnlyWeightSource.Instance);
        var site = CrossAttentionSite.All(Tiny).First(s => s.Kind == CrossAttentionKind.Temporal);
        var outBias = model.Graph.Node.First(n => n.Input.Contains($"{site.Key}.to_out.0.bias"));
        var residual = model.Graph.Node.First(n => n.OpType == "Add" && n.Input.Contains(outBias.Output[0]));
        var stream = residual.Input.First(i => i != outBias.Output[0]);
        residual.Input.Clear();
        residual.Input.Add([stream, stream]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => VcutRewriter.Rewrite(model, VcutMode.Exact));
        StringAssert.Contains(e.Message, "is not added to a residual stream", e.Message);
    }

    [TestMethod]
    public void OffIsNotARewrite() =>
        Assert.ThrowsExactly<ArgumentException>(() => VcutRewriter.Rewrite(OffUNet(AttentionForm.Plain, StructureOnlyWeightSource.Instance), VcutMode.Off));
}
