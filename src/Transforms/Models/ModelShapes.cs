using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Models;

/// <summary>
/// The sizes of every column a model directory and a set of options give, read from the directory's manifest alone
/// (no session is opened), so schemas can be checked before any model runs. The sizes themselves are the runtime's
/// <see cref="VideoShape"/>; this adds the directory and the ML.NET column dimensions.
/// </summary>
internal sealed record ModelShapes(string Directory, ModelManifest Manifest, VideoShape Video)
{
    /// <summary>The model directory the options name (the embedded default when they name none), as a full path.</summary>
    public static string DirectoryOf(VcutOptions options) =>
        Path.GetFullPath(options.ModelDirectory ?? VideoGenerator.DefaultModelDirectory);

    /// <summary>Reads the manifest and resolves the sizes.</summary>
    /// <exception cref="DirectoryNotFoundException">The model directory does not exist.</exception>
    /// <exception cref="InvalidDataException">It is not a Vcut model directory.</exception>
    /// <exception cref="ArgumentException">The options' size does not fit the model.</exception>
    /// <exception cref="InvalidOperationException">A VCUT mode the directory cannot give (<see cref="ModelManifest.ModeToRun"/>).</exception>
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
        return new ModelShapes(directory, manifest, VideoShape.Resolve(manifest, options.Generation, options.Vcut, directory));
    }

    /// <summary>The VCUT mode the UNet runs in.</summary>
    public VcutMode Mode => Video.Mode;

    /// <summary>Width of the CLIP image embedding.</summary>
    public int ProjectionDim => Video.ProjectionDim;

    /// <summary>UNet rows per video (2 with guidance).</summary>
    public int GuidanceRows => Video.GuidanceRows;

    /// <summary>Values of one video's conditioning cache.</summary>
    public int CacheWidth => Video.CacheWidth;

    /// <summary>Frames × 3 × height × width.</summary>
    public int[] VideoDimensions => Video.VideoDimensions;

    /// <summary>Frames × latent channels × latent height × latent width.</summary>
    public int[] VideoLatentDimensions => Video.VideoLatentDimensions;

    /// <summary>Latent channels × latent height × latent width.</summary>
    public int[] ConditioningLatentDimensions => Video.ConditioningLatentDimensions;

    /// <summary>1 × projection width, as the image encoder's <c>image_embeds</c> output.</summary>
    public int[] EmbeddingDimensions => [1, ProjectionDim];

    /// <summary>The flattened conditioning cache.</summary>
    public int[] CacheDimensions => [CacheWidth];

    /// <summary>The image encoder's file.</summary>
    public string ImageEncoderPath => Path.Combine(Directory, Manifest.Models.TryGetValue(ModelNames.ImageEncoder, out var relative)
        ? relative
        : ModelNames.RelativePath(ModelNames.ImageEncoder));
}
