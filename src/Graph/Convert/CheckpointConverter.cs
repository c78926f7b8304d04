using Vcut.Graph.Models;
using Vcut.Graph.Onnx;

namespace Vcut.Graph.Convert;

/// <summary>How to convert a diffusers snapshot.</summary>
public sealed record ConversionOptions
{
    /// <summary>float32 (default), or float16 weights and compute behind float32 inputs and outputs.</summary>
    public GraphPrecision Precision { get; init; } = GraphPrecision.Float32;

    /// <summary>How attention is written (fused by default, see <see cref="SvdBuildOptions.DefaultAttention"/>).</summary>
    public AttentionForm Attention { get; init; } = SvdBuildOptions.DefaultAttention;

    /// <summary>When graphs keep their weights in an external data file (<see cref="ExternalDataPolicy.Auto"/>: above 1 GiB).</summary>
    public ExternalDataPolicy ExternalData { get; init; } = ExternalDataPolicy.Auto;
}

/// <summary>One graph of a converted model directory.</summary>
/// <param name="Model">The graph's name.</param>
/// <param name="Parameters">Parameter elements.</param>
/// <param name="ModelFileBytes">Size of <c>model.onnx</c>.</param>
/// <param name="ExternalDataBytes">Size of <c>model.onnx.data</c>, 0 when the weights are inline.</param>
public sealed record ConvertedGraph(string Model, long Parameters, long ModelFileBytes, long ExternalDataBytes);

/// <summary>What a conversion read and wrote.</summary>
/// <param name="Manifest">The written directory's manifest.</param>
/// <param name="SourceFiles">The safetensors file read for each part.</param>
/// <param name="Graphs">The graphs written, with their file sizes.</param>
/// <param name="UnusedTensors">Tensors of the snapshot that no graph reads (<c>part: key</c>), e.g. buffers.</param>
public sealed record ConversionReport(ModelManifest Manifest, IReadOnlyDictionary<string, string> SourceFiles,
    IReadOnlyList<ConvertedGraph> Graphs, IReadOnlyList<string> UnusedTensors);

/// <summary>
/// Converts a diffusers SVD snapshot (safetensors and config.json files) into a Vcut model directory: the same four
/// graphs <see cref="SvdModelBuilder"/> builds, with the snapshot's weights, in pure C#.
/// </summary>
public static class CheckpointConverter
{
    /// <summary>
    /// Converts <paramref name="snapshotDirectory"/> into <paramref name="outputDirectory"/>. Every tensor is checked
    /// for presence, shape and dtype before anything is written; the directory is then written atomically (a
    /// temporary sibling folder renamed into place), streaming large graphs' weights to external data files one
    /// tensor at a time, so a failure or cancellation leaves nothing half-written.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The snapshot folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The snapshot is incomplete or inconsistent; the message names the file and key.</exception>
    /// <exception cref="IOException">The output folder cannot be written or is a non-empty folder of something else.</exception>
    public static ConversionReport Convert(string snapshotDirectory, string outputDirectory, ConversionOptions? options = null,
        IProgress<ModelBuildProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        options ??= new ConversionOptions();
        using var source = DiffusersCheckpointWeightSource.Open(snapshotDirectory, preferFloat16: options.Precision == GraphPrecision.Float16);
        var output = Path.GetFullPath(outputDirectory);
        var relative = Path.GetRelativePath(source.Directory, output);
        if (relative == "." || !(relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative)))
        {
            throw new IOException($"The output folder '{output}' must not be the snapshot folder or inside it.");
        }
        var build = new SvdBuildOptions(source.Preset, source, options.Attention)
        {
            Precision = options.Precision,
            ExternalData = options.ExternalData,
        };
        var parameters = build.ModelNamesToBuild.ToDictionary(name => name, name => SvdModelBuilder.ParametersOf(name, build));
        source.Validate(parameters.Values.SelectMany(p => p));
        var unused = source.UnusedTensors(parameters.Values.SelectMany(p => p));
        var manifest = SvdModelBuilder.BuildDirectory(output, build, progress ?? new Progress<ModelBuildProgress>(), cancellationToken);
        var graphs = manifest.Models.Select(entry =>
        {
            var model = new FileInfo(Path.Combine(output, entry.Value));
            var data = new FileInfo(Path.Combine(model.DirectoryName!, SvdModelBuilder.ExternalDataFileName));
            return new ConvertedGraph(entry.Key, parameters[entry.Key].Sum(p => p.ElementCount), model.Length, data.Exists ? data.Length : 0);
        }).ToList();
        return new ConversionReport(manifest, source.Files, graphs, unused);
    }
}
