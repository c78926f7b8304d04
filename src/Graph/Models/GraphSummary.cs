using Onnx;

namespace Vcut.Graph.Models;

/// <summary>A graph input or output: name, element type and dimensions (symbolic ones by name).</summary>
/// <param name="Name">Value name.</param>
/// <param name="ElementType">ONNX element type, e.g. <c>float</c>.</param>
/// <param name="Dimensions">One entry per axis: a number or a symbol.</param>
public sealed record GraphPort(string Name, string ElementType, IReadOnlyList<string> Dimensions)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name}: {ElementType}[{string.Join(", ", Dimensions)}]";
}

/// <summary>What <c>vcut info</c> reports for one graph.</summary>
/// <param name="Name">Model name.</param>
/// <param name="Parameters">Elements over all initializers (the model's parameters).</param>
/// <param name="InitializerBytes">Bytes of initializer data actually stored, inline or in external data files (0 for structure-only graphs).</param>
/// <param name="Nodes">Node count.</param>
/// <param name="Inputs">Graph inputs.</param>
/// <param name="Outputs">Graph outputs.</param>
public sealed record GraphSummary(string Name, long Parameters, long InitializerBytes, int Nodes,
    IReadOnlyList<GraphPort> Inputs, IReadOnlyList<GraphPort> Outputs)
{
    /// <summary>Summarises <paramref name="model"/>.</summary>
    public static GraphSummary Of(string name, ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph ?? throw new InvalidDataException($"Model '{name}' has no graph.");
        long parameters = 0, bytes = 0;
        foreach (var initializer in graph.Initializer)
        {
            long count = 1;
            foreach (var dim in initializer.Dims)
            {
                count *= dim;
            }
            parameters += count;
            bytes += initializer.RawData.Length + 4L * initializer.FloatData.Count + 8L * initializer.Int64Data.Count
                + ExternalLength(initializer);
        }
        var initializerNames = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        return new GraphSummary(name, parameters, bytes, graph.Node.Count,
            graph.Input.Where(i => !initializerNames.Contains(i.Name)).Select(Port).ToList(),
            graph.Output.Select(Port).ToList());
    }

    /// <summary>Reads and summarises every graph of a model directory, in pipeline order.</summary>
    public static IReadOnlyList<GraphSummary> OfDirectory(string directory)
    {
        var manifest = ModelManifest.Load(directory);
        return manifest.Models.Select(entry => Of(entry.Key, OnnxModelFile.Read(manifest.PathOf(directory, entry.Key)))).ToList();
    }

    // Bytes an initializer keeps in an external data file (its "length" entry), 0 when inline.
    private static long ExternalLength(TensorProto initializer)
    {
        if (initializer.DataLocation != TensorProto.Types.DataLocation.External)
        {
            return 0;
        }
        var entry = initializer.ExternalData.FirstOrDefault(e => e.Key == "length");
        return entry is not null && long.TryParse(entry.Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
            ? length
            : 0;
    }

    private static GraphPort Port(ValueInfoProto value)
    {
        var tensor = value.Type?.TensorType;
        var elementType = tensor is null ? "?" : ((TensorProto.Types.DataType)tensor.ElemType).ToString().ToLowerInvariant();
        var dims = tensor?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue
            ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : d.DimParam).ToList() ?? [];
        return new GraphPort(value.Name, elementType, dims);
    }
}
