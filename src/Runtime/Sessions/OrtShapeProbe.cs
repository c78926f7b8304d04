using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Vcut.Graph.Vcut;

namespace Vcut.Runtime.Sessions;

/// <summary>
/// A <see cref="ShapeProbe"/> that asks ONNX Runtime: the graph gets one <c>Shape</c> output per requested value and
/// runs once on all-zero inputs of the probe's small shapes (CPU, no graph optimisation). ONNX Runtime executes
/// every op and every export's plumbing (Loop, Where, Expand, Range, ConstantOfShape, contrib ops), so no shape rule
/// has to be written per op; only the few values the rewriter asks about become outputs, so even svd-xt's UNet
/// probes at 2 rows × 3 frames × 16×16 latent without keeping its activations.
/// </summary>
public static class OrtShapeProbe
{
    private const string Prefix = "vcut_probe/";

    /// <summary>
    /// A probe for a model whose external data files (if any) lie in <paramref name="externalDataFolder"/>
    /// (the folder of the model file the graph was read from).
    /// </summary>
    public static ShapeProbe For(string externalDataFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(externalDataFolder);
        return (model, inputShapes, values) => Probe(model, inputShapes, values, externalDataFolder);
    }

    private static Dictionary<string, long[]> Probe(ModelProto model, IReadOnlyDictionary<string, long[]> inputShapes,
        IReadOnlyCollection<string> values, string externalDataFolder)
    {
        var graph = model.Graph;
        var list = values.ToList();
        var outputCount = graph.Output.Count;
        var nodeCount = graph.Node.Count;
        byte[] bytes;
        try
        {
            for (var i = 0; i < list.Count; i++)
            {
                var node = new NodeProto { Name = $"{Prefix}{i}", OpType = "Shape" };
                node.Input.Add(list[i]);
                node.Output.Add($"{Prefix}{i}");
                graph.Node.Add(node);
                var shape = new TensorShapeProto();
                shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = $"rank{i}" });
                graph.Output.Add(new ValueInfoProto
                {
                    Name = $"{Prefix}{i}",
                    Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Int64, Shape = shape } },
                });
            }
            bytes = model.ToByteArray();
        }
        finally
        {
            // The caller's graph is left as it was.
            while (graph.Output.Count > outputCount)
            {
                graph.Output.RemoveAt(graph.Output.Count - 1);
            }
            while (graph.Node.Count > nodeCount)
            {
                graph.Node.RemoveAt(graph.Node.Count - 1);
            }
        }

        using var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", externalDataFolder);
        InferenceSession session;
        try
        {
            session = new InferenceSession(bytes, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load the UNet for its shape probe: {e.Message}", e);
        }
        using (session)
        {
            var names = session.InputMetadata.Keys.ToArray();
            var inputs = new List<OrtValue>();
            try
            {
                foreach (var name in names)
                {
                    if (!inputShapes.TryGetValue(name, out var shape))
                    {
                        throw new InvalidDataException($"The shape probe has no shape for the UNet input '{name}'.");
                    }
                    var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, session.InputMetadata[name].ElementDataType, shape);
                    value.GetTensorMutableRawData().Clear();
                    inputs.Add(value);
                }
                var outputNames = Enumerable.Range(0, list.Count).Select(i => $"{Prefix}{i}").ToArray();
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, names, inputs, outputNames);
                var result = new Dictionary<string, long[]>(StringComparer.Ordinal);
                for (var i = 0; i < list.Count; i++)
                {
                    result[list[i]] = outputs[i].GetTensorDataAsSpan<long>().ToArray();
                }
                return result;
            }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidDataException(
                    $"The UNet's shape probe run failed (inputs {string.Join(", ", inputShapes.Select(p => $"{p.Key} [{string.Join(", ", p.Value)}]"))}): {e.Message}", e);
            }
            finally
            {
                foreach (var input in inputs)
                {
                    input.Dispose();
                }
            }
        }
    }
}
