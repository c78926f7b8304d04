using Onnx;
using Vcut.Graph.Analysis;

namespace Vcut.Graph.Vcut;

/// <summary>
/// Measures the shapes of some values of a UNet graph for given input shapes: how the rewriter learns key lengths,
/// widths and which cross-attentions are spatial or temporal. The Graph layer knows nothing of ONNX Runtime; the
/// runtime passes one that asks ONNX Runtime (a probe run of the graph, <c>Vcut.Runtime.Sessions.OrtShapeProbe</c>),
/// which follows every op and every export's plumbing (Loop, Where, Range, ConstantOfShape …). Without one the
/// rewriter uses <see cref="ShapeProbes.Static"/>.
/// </summary>
/// <param name="model">The graph (not modified when the call returns).</param>
/// <param name="inputShapes">A concrete shape for every graph input.</param>
/// <param name="values">The values whose shapes are needed.</param>
/// <returns>The shape of each requested value.</returns>
public delegate IReadOnlyDictionary<string, long[]> ShapeProbe(ModelProto model, IReadOnlyDictionary<string, long[]> inputShapes,
    IReadOnlyCollection<string> values);

/// <summary>The shape probes of the Graph layer.</summary>
public static class ShapeProbes
{
    /// <summary>
    /// Static inference by this library's rules (<see cref="ShapeInference"/>): enough for the graphs built here;
    /// a PyTorch export whose shapes flow through data-dependent plumbing it cannot follow is refused with the node
    /// named and the advice to rewrite through the runtime, which probes with ONNX Runtime.
    /// </summary>
    public static ShapeProbe Static { get; } = (model, inputShapes, values) =>
    {
        ShapeInference shapes;
        try
        {
            shapes = ShapeInference.Run(model.Graph, inputShapes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException(
                $"{e.Message} The built-in shape inference cannot follow this graph; rewrite it through the runtime " +
                "(VideoGenerator.Open, `vcut generate --vcut`, `vcut rewrite`), which measures the shapes with an ONNX Runtime probe run.", e);
        }
        return values.Where(v => shapes.ShapeOf(v) is not null).ToDictionary(v => v, v => shapes.ShapeOf(v)!, StringComparer.Ordinal);
    };
}
