using Onnx;
using Vcut.Graph.Analysis;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>The MAC counting rules and the VCUT cost comparison against independent arithmetic.</summary>
[TestClass]
public sealed class CostAnalyzerTests
{
    [TestMethod]
    public void CountsMatMulConvAndAttentionByTheDocumentedRules()
    {
        var g = new OnnxGraphBuilder("m", StructureOnlyWeightSource.Instance);
        var nn = new NnLayers(g, AttentionForm.Plain);
        var f32 = TensorProto.Types.DataType.Float;
        var image = g.Input("image", f32, 2, 3, 10, 12);
        var conv = nn.Conv(image, "conv", 3, 8, [3, 3], [1, 1], stride: 2);          // out (2, 8, 5, 6)
        var tokens = nn.Transpose(nn.Reshape(conv, g.Int64s(0, 8, -1)), 0, 2, 1);     // (2, 30, 8)
        var attended = nn.Attention(tokens, tokens, 8, 8, 2, AttentionNames.Diffusers, qkvBias: false);
        g.OutputOfAnyShape(attended, "y", f32);
        var cost = CostAnalyzer.Analyze(g.ToModel(17, "t"), new Dictionary<string, long[]> { ["image"] = [2, 3, 10, 12] });
        Assert.AreEqual(2L * 8 * 5 * 6 * (3 * 3 * 3), cost.ByKind["conv"], "output elements × Cin·kh·kw");
        Assert.AreEqual(4L * (2 * 30 * 8 * 8), cost.ByKind["linear"], "q, k, v, out: rows × in × out each");
        Assert.AreEqual(2L * (2 * 30 * 30 * 8), cost.ByKind["attention"], "QKᵀ and PV: B·S·L·C each");
        Assert.AreEqual(cost.ByKind.Values.Sum(), cost.Macs);
        Assert.AreEqual(8L * 3 * 9 + 8 + 4 * 64 + 8, cost.Parameters);
    }

    [TestMethod]
    [DataRow(AttentionForm.Plain)]
    [DataRow(AttentionForm.Fused)]
    public void RemovedMacsEqualTheCrossAttentionArithmetic(AttentionForm form)
    {
        var config = ModelPreset.SvdXt.Architecture.UNet;
        const int rows = 2, frames = 25, h = 72, w = 128, steps = 25;
        var unet = UNetGraphBuilder.Build(config, StructureOnlyWeightSource.Instance, form);
        var report = VcutModeComparison.Compare(unet, videos: 1, guidance: true, frames, h, w, steps);

        // Per cross-attention: q and out projections over every query token T = rows·F·h_l·w_l (2·T·C²), QKᵀ and
        // PV over one key (2·T·C), and k, v projections of the context rows (rows·F spatial, rows·h_l·w_l temporal).
        long expected = 0;
        foreach (var site in CrossAttentionSite.All(config))
        {
            // The mid block sits below the last level; elsewhere a width names its level.
            var level = site.Key.StartsWith("mid_block", StringComparison.Ordinal)
                ? config.BlockOutChannels.Length - 1
                : Array.IndexOf(config.BlockOutChannels, site.Channels);
            var (lh, lw) = ((long)h, (long)w);
            for (var i = 0; i < level; i++)
            {
                (lh, lw) = ((lh + 1) / 2, (lw + 1) / 2);
            }
            long c = site.Channels, tokens = rows * frames * lh * lw;
            long contextRows = site.Kind == CrossAttentionKind.Spatial ? rows * frames : rows * lh * lw;
            expected += 2 * tokens * c * c + 2 * tokens * c + 2 * contextRows * config.CrossAttentionDim * c;
        }
        var off = report.Mode(VcutMode.Off);
        var exact = report.Mode(VcutMode.Exact);
        Assert.AreEqual(expected, off.UNetCall.Macs - exact.UNetCall.Macs);
        Assert.AreEqual(steps * off.UNetCall.Macs, off.MacsPerVideo);
        Assert.AreEqual(steps * exact.UNetCall.Macs + exact.CacheMacs, exact.MacsPerVideo);
        Assert.AreEqual(rows * (long)exact.CacheParameters - rows * (10L * 320 + 10 * 640 + 12 * 1280), exact.CacheMacs, "cache: rows × (v + out weights)");
        Assert.AreEqual(exact.UNetCall.Macs, report.Mode(VcutMode.Paper).UNetCall.Macs, "a cached constant costs no MACs");
    }

    [TestMethod]
    public void SvdXtParametersPerMode()
    {
        var unet = UNetGraphBuilder.Build(ModelPreset.SvdXt.Architecture.UNet, StructureOnlyWeightSource.Instance, AttentionForm.Fused);
        var report = VcutModeComparison.Compare(unet, 1, true, 2, 8, 8, 1);
        const long norm2 = 2L * (10 * 320 + 10 * 640 + 12 * 1280);
        Assert.AreEqual(1_524_623_082L, report.Mode(VcutMode.Off).UNetParameters);
        Assert.AreEqual(1_524_623_082L - 100_704_640L - norm2, report.Mode(VcutMode.Exact).UNetParameters);
        // The paper's 50 M: the temporal cross-attentions (docs/svd.md §3) leave entirely; only to_v and to_out of the
        // spatial ones remain, in the cache.
        var paper = report.Mode(VcutMode.Paper);
        long VOut(int c) => 1024L * c + c * (long)c + c;
        Assert.AreEqual(5 * VOut(320) + 5 * VOut(640) + 6 * VOut(1280), paper.CacheParameters);
        Assert.HasCount(32, report.CrossAttentions);
    }
}
