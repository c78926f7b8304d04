using Onnx;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Models;

/// <summary>What to build: a preset (or custom architecture), its weights and its attention form.</summary>
/// <param name="Preset">Architecture and pipeline defaults.</param>
/// <param name="Weights">Where parameter values come from.</param>
/// <param name="Attention">How attention is written.</param>
/// <param name="Vcut">The UNet's VCUT variant; a VCUT directory also holds the conditioning-cache graph.</param>
public sealed record SvdBuildOptions(ModelPreset Preset, IWeightSource Weights, AttentionForm Attention, VcutMode Vcut = VcutMode.Off)
{
    /// <summary>The graphs a directory built with these options holds.</summary>
    public IReadOnlyList<string> ModelNamesToBuild =>
        Vcut == VcutMode.Off ? ModelNames.All : [.. ModelNames.All, ModelNames.ConditioningCache];

    /// <summary>
    /// The default attention form: fused on every execution provider. On CUDA it runs memory-efficient / flash
    /// kernels, without which full-resolution spatial self-attention (9216 tokens) does not fit. On the CPU it was
    /// also faster in our measurement (small preset, 14 frames at 320×576, 2 threads: 17.2 s vs 21.7 s per UNet
    /// call, see docs/graphs.md). The plain form stays available for runtimes other than ONNX Runtime and to
    /// mirror what PyTorch exports look like.
    /// </summary>
    public const AttentionForm DefaultAttention = AttentionForm.Fused;
}

/// <summary>Builds the four SVD graphs and writes model directories.</summary>
public static class SvdModelBuilder
{
    /// <summary>Builds one of the four graphs by name (see <see cref="ModelNames"/>).</summary>
    public static ModelProto BuildGraph(string modelName, SvdBuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var architecture = options.Preset.Architecture;
        architecture.Validate();
        return modelName switch
        {
            ModelNames.ImageEncoder => ImageEncoderGraphBuilder.Build(architecture.ImageEncoder, options.Weights, options.Attention),
            ModelNames.VaeEncoder => VaeGraphBuilder.BuildEncoder(architecture.Vae, options.Weights, options.Attention),
            ModelNames.UNet => UNetGraphBuilder.Build(architecture.UNet, options.Weights, options.Attention, options.Vcut),
            ModelNames.ConditioningCache => ConditioningCacheGraphBuilder.Build(architecture.UNet, options.Weights, options.Vcut),
            ModelNames.VaeDecoder => VaeGraphBuilder.BuildDecoder(architecture.Vae, options.Weights, options.Attention),
            _ => throw new ArgumentException($"Unknown model '{modelName}'. Known: {string.Join(", ", options.ModelNamesToBuild)}.", nameof(modelName)),
        };
    }

    /// <summary>The manifest describing a directory built with <paramref name="options"/>.</summary>
    public static ModelManifest CreateManifest(SvdBuildOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ModelManifest(
            ModelManifest.CurrentFormat, options.Preset.Name, options.Weights.Description, options.Attention, options.Vcut,
            options.Preset.DefaultFrames, options.Preset.DefaultHeight, options.Preset.DefaultWidth,
            options.Preset.Architecture,
            options.ModelNamesToBuild.ToDictionary(n => n, ModelNames.RelativePath));
    }

    /// <summary>
    /// Builds all four graphs into <paramref name="outputDirectory"/>, atomically: everything is written to a
    /// sibling temporary folder and moved into place only when complete, so a failure leaves nothing half-written.
    /// An existing model directory there is replaced; any other non-empty folder is refused.
    /// </summary>
    public static ModelManifest BuildDirectory(string outputDirectory, SvdBuildOptions options,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var manifest = CreateManifest(options);
        ModelDirectoryWriter.Write(outputDirectory, manifest, (modelName, _) =>
        {
            progress?.Report($"building {modelName}");
            return BuildGraph(modelName, options);
        }, cancellationToken);
        return manifest;
    }
}
