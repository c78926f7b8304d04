using Onnx;
using Vcut.Graph.Builders;
using Vcut.Graph.Rewriting;

namespace Vcut.Graph.Analysis;

/// <summary>Multiply-accumulates of one graph call, by kind (see docs/vcut.md for the counting rules).</summary>
/// <param name="Macs">Total multiply-accumulates.</param>
/// <param name="ByKind">MACs per kind: <c>linear</c> (MatMul/Gemm with a weight), <c>attention</c> (products of two activations: QKᵀ and PV, fused or plain), <c>conv</c>.</param>
/// <param name="Parameters">Parameters (initializer elements).</param>
public sealed record GraphCost(long Macs, IReadOnlyDictionary<string, long> ByKind, long Parameters);

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

/// <summary>
/// Counts parameters and multiply-accumulates of ONNX graphs from concrete shapes (<see cref="ShapeInference"/>),
/// and compares the VCUT modes of a UNet.
/// </summary>
public static class CostAnalyzer
{
    /// <summary>Counts one call of <paramref name="model"/> with the given input shapes.</summary>
    public static GraphCost Analyze(ModelProto model, IReadOnlyDictionary<string, long[]> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var shapes = ShapeInference.Run(graph, inputShapes);
        var constants = new HashSet<string>(graph.Initializer.Select(i => i.Name), StringComparer.Ordinal);
        foreach (var node in graph.Node.Where(n => n.OpType != "Shape" && n.Input.Where(i => i.Length > 0).All(constants.Contains)))
        {
            constants.UnionWith(node.Output);
        }
        var byKind = new Dictionary<string, long> { ["linear"] = 0, ["attention"] = 0, ["conv"] = 0 };
        long Count(long[] shape) => shape.Aggregate(1L, (a, d) => a * d);
        long[] Shape(string value) => shapes.ShapeOf(value) ?? throw new InvalidDataException($"No shape for '{value}'.");
        foreach (var node in graph.Node)
        {
            switch (node.OpType)
            {
                case "MatMul":
                {
                    var a = Shape(node.Input[0]);
                    var macs = Count(Shape(node.Output[0])) * a[^1];
                    var kind = constants.Contains(node.Input[0]) || constants.Contains(node.Input[1]) ? "linear" : "attention";
                    byKind[kind] += macs;
                    break;
                }
                case "Gemm":
                {
                    var a = Shape(node.Input[0]);
                    var k = node.Attribute.Any(x => x.Name == "transA" && x.I == 1) ? a[0] : a[1];
                    byKind["linear"] += Count(Shape(node.Output[0])) * k;
                    break;
                }
                case "Conv":
                {
                    var weight = Shape(node.Input[1]);
                    byKind["conv"] += Count(Shape(node.Output[0])) * Count(weight[1..]);
                    break;
                }
                case "MultiHeadAttention":
                {
                    var query = Shape(node.Input[0]);
                    var key = Shape(node.Input[1]);
                    var value = Shape(node.Input[2]);
                    // QKᵀ: B·S·L·C summed over heads; PV: B·S·L·C_v.
                    byKind["attention"] += query[0] * query[1] * key[1] * (query[2] + value[2]);
                    break;
                }
                case "Attention":
                {
                    var input = Shape(node.Input[0]);
                    var weights = Shape(node.Input[1]);
                    var width = weights[^1] / 3;
                    byKind["linear"] += input[0] * input[1] * input[2] * weights[^1];
                    byKind["attention"] += 2 * input[0] * input[1] * input[1] * width;
                    break;
                }
            }
        }
        var parameters = graph.Initializer.Sum(i => i.Dims.Aggregate(1L, (a, d) => a * d));
        return new GraphCost(byKind.Values.Sum(), byKind, parameters);
    }

    /// <summary>
    /// Compares off, paper and exact for an original UNet graph: the VCUT variants are made by
    /// <see cref="VcutRewriter"/> from <paramref name="offUNet"/> (which is not modified).
    /// </summary>
    public static VcutCostReport AnalyzeUNet(ModelProto offUNet, int videos, bool guidance, int frames, int latentHeight, int latentWidth, int steps)
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
            var call = Analyze(unet, InputShapes(unet.Graph, rows, frames, latentHeight, latentWidth));
            var cacheCost = cache is null ? null : Analyze(cache, InputShapes(cache.Graph, rows, frames, latentHeight, latentWidth));
            var cacheMacs = cacheCost?.Macs ?? 0;
            modes.Add(new ModeCost(mode, call.Parameters, cacheCost?.Parameters ?? 0, call, cacheMacs, steps * call.Macs + cacheMacs));
        }
        return new VcutCostReport(rows, frames, latentHeight, latentWidth, steps, modes, found);
    }

    private static Dictionary<string, long[]> InputShapes(GraphProto graph, long rows, long frames, long h, long w)
    {
        var shapes = new Dictionary<string, long[]>();
        foreach (var input in graph.Input)
        {
            var declared = input.Type.TensorType.Shape?.Dim.ToList() ?? [];
            long Static(int axis) => declared.Count > axis && declared[axis].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
                ? declared[axis].DimValue
                : throw new InvalidDataException($"Input '{input.Name}' must declare a fixed size on axis {axis}.");
            shapes[input.Name] = input.Name switch
            {
                "sample" => [rows, frames, Static(2), h, w],
                "timestep" => declared.Count == 0 ? [] : [1],
                "encoder_hidden_states" => [rows, Static(1), Static(2)],
                "added_time_ids" => [rows, 3],
                _ when declared.Count == 2 => [rows, Static(1)], // a cached cross-attention constant
                _ => throw new InvalidDataException($"Unexpected UNet input '{input.Name}'."),
            };
        }
        return shapes;
    }
}
