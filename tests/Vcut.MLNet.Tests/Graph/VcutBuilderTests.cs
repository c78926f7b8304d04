using Google.Protobuf;
using Onnx;
using Vcut.Graph.Models;
using Vcut.Graph.Analysis;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>The builder's native VCUT variants against the original UNet.</summary>
[TestClass]
public sealed class VcutBuilderTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly UNetConfig Tiny = ModelPreset.Tiny.Architecture.UNet;

    private static byte[] UNet(VcutMode mode) =>
        UNetGraphBuilder.Build(Tiny, new SeededWeightSource(9), AttentionForm.Fused, mode).ToByteArray();

    private static Dictionary<string, TestTensor> OffInputs()
    {
        const int batch = 2, frames = 3, h = 6, w = 5;
        return new()
        {
            ["sample"] = TestTensor.Of(TestData.Uniform(batch * frames * 8 * h * w, 1), batch, frames, 8, h, w),
            ["timestep"] = TestTensor.Of([0.3f], 1),
            // Row 0 is the unconditional (all-zero) token, as the pipeline sends it with guidance.
            ["encoder_hidden_states"] = TestTensor.Of([.. new float[Tiny.CrossAttentionDim], .. TestData.Uniform(Tiny.CrossAttentionDim, 2, 2f)], batch, 1, Tiny.CrossAttentionDim),
            ["added_time_ids"] = TestTensor.Of([6, 127, 0.02f, 6, 127, 0.02f], batch, 3),
        };
    }

    private static float[] RunVcut(VcutMode mode, Dictionary<string, TestTensor> offInputs)
    {
        var cache = ConditioningCacheGraphBuilder.Build(Tiny, new SeededWeightSource(9), mode);
        var constants = OrtTestRunner.Run(cache, new Dictionary<string, TestTensor> { ["encoder_hidden_states"] = offInputs["encoder_hidden_states"] });
        Assert.HasCount(CrossAttentionSite.Cached(Tiny, mode).Count, constants);
        var inputs = offInputs.Where(p => p.Key != "encoder_hidden_states").ToDictionary();
        foreach (var (name, value) in constants)
        {
            inputs[name] = value;
        }
        return OrtTestRunner.Run(UNet(mode), inputs)["out_sample"].Data;
    }

    private static float MaxRelative(float[] reference, float[] actual)
    {
        var scale = reference.Max(MathF.Abs);
        return reference.Zip(actual, (a, b) => MathF.Abs(a - b)).Max() / scale;
    }

    [TestMethod]
    public void ExactEqualsOffWithinFloatError()
    {
        var inputs = OffInputs();
        var off = OrtTestRunner.Run(UNet(VcutMode.Off), inputs)["out_sample"].Data;
        var exact = RunVcut(VcutMode.Exact, inputs);
        var relative = MaxRelative(off, exact);
        TestContext.WriteLine($"tiny UNet, exact vs off: max |diff| / max |off| = {relative:E2}");
        Assert.IsLessThanOrEqualTo(1e-4f, relative, "exact vs off, max |diff| / max |off|");
    }

    [TestMethod]
    public void PaperDiffersFromOff()
    {
        var inputs = OffInputs();
        var off = OrtTestRunner.Run(UNet(VcutMode.Off), inputs)["out_sample"].Data;
        var paper = RunVcut(VcutMode.Paper, inputs);
        var relative = MaxRelative(off, paper);
        TestContext.WriteLine($"tiny UNet, paper vs off: max |diff| / max |off| = {relative:E2}");
        Assert.IsGreaterThan(1e-3f, relative, "dropping temporal cross-attention changes the output");
    }

    [TestMethod]
    public void VcutUNetNeverSeesTheClipEmbedding()
    {
        foreach (var mode in new[] { VcutMode.Paper, VcutMode.Exact })
        {
            var graph = UNetGraphBuilder.Build(Tiny, StructureOnlyWeightSource.Instance, AttentionForm.Plain, mode).Graph;
            Assert.IsFalse(graph.Input.Any(i => i.Name == "encoder_hidden_states"), mode.ToString());
            Assert.IsFalse(graph.Initializer.Any(i => i.Name.Contains(".attn2.", StringComparison.Ordinal)), $"{mode}: no cross-attention weights left");
            Assert.HasCount(mode == VcutMode.Exact ? 32 : 16, graph.Input.Where(i => i.Name.EndsWith(".cached", StringComparison.Ordinal)));
        }
    }

    [TestMethod]
    public void FullSizeParameterAccounting()
    {
        var full = ModelPreset.SvdXt.Architecture.UNet;
        long Parameters(ModelProto model) => GraphSummary.Of("m", model).Parameters;
        var off = Parameters(UNetGraphBuilder.Build(full, StructureOnlyWeightSource.Instance, AttentionForm.Plain));
        var exact = Parameters(UNetGraphBuilder.Build(full, StructureOnlyWeightSource.Instance, AttentionForm.Plain, VcutMode.Exact));
        var paper = Parameters(UNetGraphBuilder.Build(full, StructureOnlyWeightSource.Instance, AttentionForm.Plain, VcutMode.Paper));
        // All 32 attn2 (docs/svd.md §3: 100,704,640) and the norm2 LayerNorms that only fed them (2·C each) leave the loop.
        const long norm2 = 2L * (10 * 320 + 10 * 640 + 12 * 1280);
        Assert.AreEqual(100_704_640L + norm2, off - exact);
        Assert.AreEqual(off - exact, off - paper);
        var exactCache = Parameters(ConditioningCacheGraphBuilder.Build(full, StructureOnlyWeightSource.Instance, VcutMode.Exact));
        var paperCache = Parameters(ConditioningCacheGraphBuilder.Build(full, StructureOnlyWeightSource.Instance, VcutMode.Paper));
        long VOut(int c) => 1024L * c + c * (long)c + c;
        Assert.AreEqual(10 * VOut(320) + 10 * VOut(640) + 12 * VOut(1280), exactCache);
        Assert.AreEqual(exactCache / 2, paperCache);
    }

    [TestMethod]
    public void SitesCoverThe32CrossAttentionsOfSvd()
    {
        var sites = CrossAttentionSite.All(ModelPreset.SvdXt.Architecture.UNet);
        Assert.HasCount(32, sites);
        Assert.HasCount(16, sites.Where(s => s.Kind == CrossAttentionKind.Spatial));
        CollectionAssert.AreEquivalent(
            Enumerable.Repeat(320, 10).Concat(Enumerable.Repeat(640, 10)).Concat(Enumerable.Repeat(1280, 12)).ToList(),
            sites.Select(s => s.Channels).ToList());
        var names = UNetGraphBuilder.Build(ModelPreset.SvdXt.Architecture.UNet, StructureOnlyWeightSource.Instance, AttentionForm.Plain)
            .Graph.Initializer.Select(i => i.Name).ToHashSet();
        Assert.IsTrue(sites.All(s => names.Contains($"{s.Key}.to_v.weight")), "every site names a real attn2");
        Assert.ThrowsExactly<ArgumentException>(() => ConditioningCacheGraphBuilder.Build(Tiny, StructureOnlyWeightSource.Instance, VcutMode.Off));
    }
}
