using Onnx;
using Vcut.Graph.Analysis;
using Vcut.Graph.Names;

namespace Vcut.Graph.Vcut;

/// <summary>The cost of one VCUT mode for one video.</summary>
/// <param name="Mode">The mode.</param>
/// <param name="UNetParameters">Parameters of the UNet in the loop.</param>
/// <param name="CacheParameters">Parameters of the conditioning cache (0 for off).</param>
/// <param name="UNetCall">One UNet call.</param>
/// <param name="CacheMacs">The conditioning cache, run once per video.</param>
/// <param name="MacsPerVideo">steps × UNet call + cache.</param>
public sealed record ModeCost(VcutMode Mode, long UNetParameters, long CacheParameters, GraphCost UNetCall, long CacheMacs, long MacsPerVideo);

/// <summary>What <c>vcut analyze</c> reports: the three modes side by side for one video shape.</summary>
/// <param name="Rows">UNet batch rows (2 per video with guidance).</param>
/// <param name="Frames">Frames.</param>
/// <param name="LatentHeight">Latent height (pixels / 8).</param>
/// <param name="LatentWidth">Latent width (pixels / 8).</param>
/// <param name="Steps">Denoising steps.</param>
/// <param name="Modes">off, paper, exact.</param>
/// <param name="CrossAttentions">What the rewriter found.</param>
public sealed record VcutCostReport(int Rows, int Frames, int LatentHeight, int LatentWidth, int Steps,
    IReadOnlyList<ModeCost> Modes, IReadOnlyList<FoundCrossAttention> CrossAttentions)
{
    /// <summary>The share of one original UNet call's MACs spent in the 32 cross-attentions.</summary>
    public double CrossAttentionShare => 1.0 - (double)Mode(VcutMode.Exact).UNetCall.Macs / Mode(VcutMode.Off).UNetCall.Macs;

    /// <summary>The cost of <paramref name="mode"/>.</summary>
    public ModeCost Mode(VcutMode mode) => Modes.First(m => m.Mode == mode);
}

/// <summary>The mode comparison of <c>vcut analyze</c>: off, paper and exact of one UNet, counted by <see cref="CostAnalyzer"/>.</summary>
public static class VcutModeComparison
{
    /// <summary>
    /// Compares off, paper and exact for an original UNet graph: the VCUT variants are made by
    /// <see cref="VcutRewriter"/> from <paramref name="offUNet"/> (which is not modified).
    /// </summary>
    public static VcutCostReport Compare(ModelProto offUNet, int videos, bool guidance, int frames, int latentHeight, int latentWidth, int steps)
    {
        ArgumentNullException.ThrowIfNull(offUNet);
        ArgumentOutOfRangeException.ThrowIfLessThan(videos, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(latentHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(latentWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        var rows = guidance ? 2 * videos : videos;
        var modes = new List<ModeCost>();
        IReadOnlyList<FoundCrossAttention> found = [];
        foreach (var mode in new[] { VcutMode.Off, VcutMode.Paper, VcutMode.Exact })
        {
            var unet = offUNet;
            ModelProto? cache = null;
            if (mode != VcutMode.Off)
            {
                var result = VcutRewriter.Rewrite(offUNet.Clone(), mode);
                (unet, cache, found) = (result.UNet, result.Cache, result.Report.Found);
            }
            var call = CostAnalyzer.Analyze(unet, GraphPorts.UNetInputShapes(unet.Graph, rows, frames, latentHeight, latentWidth));
            var cacheCost = cache is null ? null : CostAnalyzer.Analyze(cache, GraphPorts.UNetInputShapes(cache.Graph, rows, frames, latentHeight, latentWidth));
            var cacheMacs = cacheCost?.Macs ?? 0;
            modes.Add(new ModeCost(mode, call.Parameters, cacheCost?.Parameters ?? 0, call, cacheMacs, steps * call.Macs + cacheMacs));
        }
        return new VcutCostReport(rows, frames, latentHeight, latentWidth, steps, modes, found);
    }
}
