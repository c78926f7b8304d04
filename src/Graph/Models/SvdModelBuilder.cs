using Onnx;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Models;

/// <summary>When a model directory's graph keeps its parameters in an ONNX external-data file.</summary>
public enum ExternalDataPolicy
{
    /// <summary>
    /// External when the graph's parameters exceed <see cref="SvdModelBuilder.AutoExternalDataBytes"/> (the full
    /// UNet and image encoder); inline otherwise, so small graphs stay single files that can be handled in memory.
    /// </summary>
    Auto,

    /// <summary>Every graph with parameter data writes <c>model.onnx</c> plus <c>model.onnx.data</c>.</summary>
    Always,

    /// <summary>Every graph is one file; a graph above protobuf's 2 GB limit is refused.</summary>
    Never,
}

/// <summary>What to build: a preset (or custom architecture), its weights and its attention form.</summary>
/// <param name="Preset">Architecture and pipeline defaults.</param>
/// <param name="Weights">Where parameter values come from.</param>
/// <param name="Attention">How attention is written.</param>
/// <param name="Vcut">The UNet's VCUT variant; a VCUT directory also holds the conditioning-cache graph.</param>
public sealed record SvdBuildOptions(ModelPreset Preset, IWeightSource Weights, AttentionForm Attention, VcutMode Vcut = VcutMode.Off)
{
    /// <summary>The graphs a directory built with these options holds.</summary>
    public IReadOnlyList<string> ModelNamesToBuild =>
        Vcut.ModelNamesIn();

    /// <summary>Parameter and compute precision (float32 by default; float16 keeps float32 inputs and outputs).</summary>
    public GraphPrecision Precision { get; init; } = GraphPrecision.Float32;

    /// <summary>When a model directory's graphs use external data (<see cref="ExternalDataPolicy.Auto"/> by default).</summary>
    public ExternalDataPolicy ExternalData { get; init; } = ExternalDataPolicy.Auto;

    /// <summary>
    /// The default attention form: fused on every execution provider. On CUDA it runs memory-efficient / flash
    /// kernels, without which full-resolution spatial self-attention (9216 tokens) does not fit. On the CPU it was
    /// also faster in our measurement (small preset, 14 frames at 320×576, 2 threads: 17.2 s vs 21.7 s per UNet
    /// call, see docs/graphs.md). The plain form stays available for runtimes other than ONNX Runtime and to
    /// mirror what PyTorch exports look like.
    /// </summary>
    public const AttentionForm DefaultAttention = AttentionForm.Fused;
}

/// <summary>Progress of a model directory build, reported once when a graph starts and after each parameter stored.</summary>
/// <param name="Model">The graph being built.</param>
/// <param name="ModelIndex">Its position among <paramref name="ModelCount"/> graphs (0-based).</param>
/// <param name="ModelCount">Graphs in the directory.</param>
/// <param name="Parameter">The parameter just stored, or <c>null</c> when the graph starts.</param>
/// <param name="ElementsDone">Parameter elements of this graph stored so far.</param>
/// <param name="ElementsTotal">Parameter elements of this graph.</param>
/// <param name="BytesWritten">Parameter bytes of this graph stored so far.</param>
/// <param name="ExternalData">Whether this graph's parameters go to an external data file.</param>
public sealed record ModelBuildProgress(string Model, int ModelIndex, int ModelCount, string? Parameter,
    long ElementsDone, long ElementsTotal, long BytesWritten, bool ExternalData);

/// <summary>Builds the four SVD graphs and writes model directories.</summary>
public static class SvdModelBuilder
{
    /// <summary>
    /// Under <see cref="ExternalDataPolicy.Auto"/>, graphs whose parameters take more bytes than this (1 GiB) use
    /// external data: half protobuf's 2 GB limit, so an inline model never comes near it, and above it holding the
    /// whole model in one in-memory message stops being cheap.
    /// </summary>
    public const long AutoExternalDataBytes = 1L << 30;

    /// <summary>
    /// The most parameter bytes an inline model may hold: protobuf messages are limited to 2 GB, and the graph's
    /// nodes need some room too.
    /// </summary>
    public const long MaxInlineBytes = (1L << 31) - (64L << 20);

    /// <summary>The name of a graph's external data file, next to its <c>model.onnx</c>.</summary>
    public const string ExternalDataFileName = "model.onnx.data";

    /// <summary>Builds one of the four graphs by name (see <see cref="ModelNames"/>), in memory with inline parameters.</summary>
    public static ModelProto BuildGraph(string modelName, SvdBuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return BuildGraph(modelName, options, new ParameterStorage(options.Precision));
    }

    /// <summary>
    /// Builds one of the four graphs by name with its parameters stored as <paramref name="storage"/> says
    /// (which must have the options' precision).
    /// </summary>
    internal static ModelProto BuildGraph(string modelName, SvdBuildOptions options, ParameterStorage storage)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(storage);
        if (storage.Precision != options.Precision)
        {
            throw new ArgumentException($"The storage's precision {storage.Precision} differs from the options' {options.Precision}.", nameof(storage));
        }
        var architecture = options.Preset.Architecture;
        architecture.Validate();
        return modelName switch
        {
            ModelNames.ImageEncoder => ImageEncoderGraphBuilder.Build(architecture.ImageEncoder, options.Weights, options.Attention, storage),
            ModelNames.VaeEncoder => VaeGraphBuilder.BuildEncoder(architecture.Vae, options.Weights, options.Attention, storage),
            ModelNames.UNet => UNetGraphBuilder.Build(architecture.UNet, options.Weights, options.Attention, options.Vcut, storage),
            ModelNames.ConditioningCache => ConditioningCacheGraphBuilder.Build(architecture.UNet, options.Weights, options.Vcut, storage),
            ModelNames.VaeDecoder => VaeGraphBuilder.BuildDecoder(architecture.Vae, options.Weights, options.Attention, storage),
            _ => throw new ArgumentException($"Unknown model '{modelName}'. Known: {string.Join(", ", options.ModelNamesToBuild)}.", nameof(modelName)),
        };
    }

    /// <summary>
    /// The parameters graph <paramref name="modelName"/> asks its weight source for, in build order, found by a
    /// structure-only build (no values are read).
    /// </summary>
    public static IReadOnlyList<ParameterSpec> ParametersOf(string modelName, SvdBuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var parameters = new List<ParameterSpec>();
        var storage = new ParameterStorage(options.Precision);
        storage.Declared += parameters.Add;
        BuildGraph(modelName, options with { Weights = StructureOnlyWeightSource.Instance }, storage);
        return parameters;
    }

    /// <summary>The manifest describing a directory built with <paramref name="options"/>.</summary>
    public static ModelManifest CreateManifest(SvdBuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ModelManifest(
            ModelManifest.CurrentFormat, options.Preset.Name, options.Weights.Description, options.Attention, options.Vcut,
            options.Preset.DefaultFrames, options.Preset.DefaultHeight, options.Preset.DefaultWidth,
            options.Preset.Architecture,
            options.ModelNamesToBuild.ToDictionary(n => n, ModelNames.RelativePath))
        {
            Precision = options.Precision,
        };
    }

    /// <summary>
    /// Builds all four graphs into <paramref name="outputDirectory"/>, atomically: everything is written to a
    /// sibling temporary folder and moved into place only when complete, so a failure leaves nothing half-written.
    /// An existing model directory there is replaced; any other non-empty folder is refused.
    /// </summary>
    public static ModelManifest BuildDirectory(string outputDirectory, SvdBuildOptions options,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default) =>
        BuildDirectory(outputDirectory, options, new StartMessages(progress), cancellationToken);

    /// <summary>
    /// Builds all four graphs into <paramref name="outputDirectory"/> as <see cref="BuildDirectory(string, SvdBuildOptions, IProgress{string}?, CancellationToken)"/>
    /// does, reporting each parameter stored. Graphs that use external data (<see cref="SvdBuildOptions.ExternalData"/>)
    /// stream their parameters to <c>model.onnx.data</c> one at a time, so memory holds the graph's structure and
    /// its largest parameter, never all its weights.
    /// </summary>
    /// <exception cref="InvalidOperationException">A graph is too large for one file and the policy is <see cref="ExternalDataPolicy.Never"/>.</exception>
    public static ModelManifest BuildDirectory(string outputDirectory, SvdBuildOptions options,
        IProgress<ModelBuildProgress> progress, CancellationToken cancellationToken) =>
        BuildDirectory(outputDirectory, options, CreateManifest(options), null, progress, cancellationToken);

    /// <summary>
    /// As the public overload, writing <paramref name="manifest"/>, and for each graph <paramref name="supplied"/>
    /// returns (given its name and output path) that graph instead of a built one (an imported UNet).
    /// </summary>
    internal static ModelManifest BuildDirectory(string outputDirectory, SvdBuildOptions options, ModelManifest manifest,
        Func<string, string, ModelProto?>? supplied, IProgress<ModelBuildProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var names = options.ModelNamesToBuild;
        ModelDirectoryWriter.WriteGraphs(outputDirectory, manifest, (modelName, modelPath, token) =>
        {
            if (supplied?.Invoke(modelName, modelPath) is { } given)
            {
                return given;
            }
            var index = names.ToList().IndexOf(modelName);
            var parameters = ParametersOf(modelName, options);
            var elementsTotal = parameters.Sum(p => p.ElementCount);
            var bytes = elementsTotal * options.Precision.BytesPerElement();
            var external = options.Weights.ProvidesValues && options.ExternalData switch
            {
                ExternalDataPolicy.Always => bytes > 0,
                ExternalDataPolicy.Never => false,
                _ => bytes > AutoExternalDataBytes,
            };
            if (!external && options.Weights.ProvidesValues && bytes > MaxInlineBytes)
            {
                throw new InvalidOperationException(
                    $"The {modelName} graph holds {bytes:N0} bytes of parameters, more than one ONNX file can (protobuf's 2 GB limit); write it with external data.");
            }
            progress?.Report(new ModelBuildProgress(modelName, index, names.Count, null, 0, elementsTotal, 0, external));
            using var writer = external ? new ExternalDataWriter(Path.Combine(Path.GetDirectoryName(modelPath)!, ExternalDataFileName)) : null;
            var storage = new ParameterStorage(options.Precision, writer);
            if (options.Weights.ProvidesValues && parameters.Count > 0)
            {
                storage.Reserve(parameters.Max(p => p.ElementCount));
            }
            storage.Stored += (parameter, _) =>
            {
                token.ThrowIfCancellationRequested();
                progress?.Report(new ModelBuildProgress(modelName, index, names.Count, parameter.Key,
                    storage.ElementsStored, elementsTotal, storage.BytesStored, external));
            };
            var graph = BuildGraph(modelName, options, storage);
            writer?.Flush();
            return graph;
        }, cancellationToken);
        return manifest;
    }

    /// <summary>Turns build progress into the one line per graph that <c>IProgress&lt;string&gt;</c> callers always got.</summary>
    private sealed class StartMessages(IProgress<string>? inner) : IProgress<ModelBuildProgress>
    {
        public void Report(ModelBuildProgress value)
        {
            if (value.Parameter is null)
            {
                inner?.Report($"building {value.Model}");
            }
        }
    }
}
