using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Models;

/// <summary>
/// The sizes of every column a model directory and a set of options give, read from the directory's manifest alone
/// (no session is opened), so schemas can be checked before any model runs.
/// </summary>
internal sealed record ModelShapes(
    string Directory,
    ModelManifest Manifest,
    VcutMode Mode,
    int Frames,
    int Height,
    int Width,
    int LatentChannels,
    int LatentHeight,
    int LatentWidth,
    int ProjectionDim,
    int GuidanceRows,
    int CacheWidth)
{
    /// <summary>The model directory the options name (the embedded default when they name none), as a full path.</summary>
    public static string DirectoryOf(VcutOptions options) =>
        Path.GetFullPath(options.ModelDirectory ?? VideoGenerator.DefaultModelDirectory);

    /// <summary>Reads the manifest and resolves the sizes.</summary>
    /// <exception cref="DirectoryNotFoundException">The model directory does not exist.</exception>
    /// <exception cref="InvalidDataException">It is not a Vcut model directory.</exception>
    /// <exception cref="ArgumentException">The options do not fit the model (size, VCUT mode).</exception>
    public static ModelShapes Resolve(VcutOptions options)
    {
        var directory = DirectoryOf(options);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException(
                $"Model directory '{directory}' does not exist: expected a Vcut model directory holding {ModelManifest.FileName} " +
                "(the options' ModelDirectory; null for the embedded default).");
        }
        var manifest = ModelManifest.Load(directory);
        var mode = options.Vcut ?? manifest.Vcut;
        if (manifest.Vcut != VcutMode.Off && mode != manifest.Vcut)
        {
            throw new ArgumentException(
                $"Model directory '{directory}' holds a UNet rewritten for VCUT {manifest.Vcut}; the options' Vcut = {mode} cannot run on it " +
                "(use null to keep the directory's mode, or a directory of the original UNet).");
        }
        var generation = options.Generation;
        var frames = generation.Frames ?? manifest.DefaultFrames;
        var height = generation.Height ?? manifest.DefaultHeight;
        var width = generation.Width ?? manifest.DefaultWidth;
        var vae = manifest.Architecture.Vae;
        if (height % vae.DownscaleFactor != 0 || width % vae.DownscaleFactor != 0)
        {
            throw new ArgumentException(
                $"Video size {width}×{height} must be a multiple of {vae.DownscaleFactor}, the VAE's downscale factor of '{directory}'.");
        }
        var projection = manifest.Architecture.ImageEncoder.ProjectionDim;
        var rows = generation.GuidanceEnabled ? 2 : 1;
        var perRow = mode == VcutMode.Off
            ? projection
            : CrossAttentionSite.Cached(manifest.Architecture.UNet, mode).Sum(site => site.Channels);
        return new ModelShapes(directory, manifest, mode, frames, height, width, vae.LatentChannels,
            height / vae.DownscaleFactor, width / vae.DownscaleFactor, projection, rows, rows * perRow);
    }

    /// <summary>Frames × 3 × height × width.</summary>
    public int[] VideoDimensions => [Frames, 3, Height, Width];

    /// <summary>Frames × latent channels × latent height × latent width.</summary>
    public int[] VideoLatentDimensions => [Frames, LatentChannels, LatentHeight, LatentWidth];

    /// <summary>Latent channels × latent height × latent width.</summary>
    public int[] ConditioningLatentDimensions => [LatentChannels, LatentHeight, LatentWidth];

    /// <summary>1 × projection width, as the image encoder's <c>image_embeds</c> output.</summary>
    public int[] EmbeddingDimensions => [1, ProjectionDim];

    /// <summary>The flattened conditioning cache.</summary>
    public int[] CacheDimensions => [CacheWidth];

    /// <summary>The image encoder's file.</summary>
    public string ImageEncoderPath => Path.Combine(Directory, Manifest.Models.TryGetValue(ModelNames.ImageEncoder, out var relative)
        ? relative
        : ModelNames.RelativePath(ModelNames.ImageEncoder));
}
