using Onnx;

namespace Vcut.Graph.Analysis;

/// <summary>Multiply-accumulates of one graph call, by kind (see docs/vcut.md for the counting rules).</summary>
/// <param name="Macs">Total multiply-accumulates.</param>
/// <param name="ByKind">MACs per kind: <c>linear</c> (MatMul/Gemm with a weight), <c>attention</c> (products of two activations: QKᵀ and PV, fused or plain), <c>conv</c>.</param>
/// <param name="Parameters">Parameters (initializer elements).</param>
public sealed record GraphCost(long Macs, IReadOnlyDictionary<string, long> ByKind, long Parameters);

/// <summary>
/// Counts parameters and multiply-accumulates of ONNX graphs from concrete shapes (<see cref="ShapeInference"/>);
/// <c>Vcut.Graph.Vcut.VcutModeComparison</c> uses it to compare the VCUT modes of a UNet.
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
}
