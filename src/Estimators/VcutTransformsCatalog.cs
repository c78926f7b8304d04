using Microsoft.ML;
using Microsoft.ML.Data;

namespace Vcut.MLNet;

/// <summary>
/// The Vcut estimators on ML.NET's transforms catalog: <c>mlContext.Transforms.GenerateVideo()</c> for image to video
/// in one step, and the stages one by one (<c>EncodeClipImage</c>, <c>EncodeConditioningLatent</c>,
/// <c>ComputeConditioningCache</c>, <c>DenoiseVideo</c>, <c>DecodeVideo</c>), which chained give the same video.
/// </summary>
public static class VcutTransformsCatalog
{
    /// <summary>Image to video in one step (see <see cref="VcutVideoEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The video column to add: <c>Vector&lt;Single, F, 3, H, W&gt;</c>.</param>
    /// <param name="inputColumnName">The image column: MLImage (from <c>LoadImages</c>) or text (image file paths).</param>
    /// <param name="options">Model, VCUT mode, execution and sampling settings; null = embedded model, VCUT exact, SVD's defaults.</param>
    public static VcutVideoEstimator GenerateVideo(this TransformsCatalog catalog, string outputColumnName = VcutColumnNames.Video,
        string inputColumnName = VcutColumnNames.Image, VcutVideoOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new VcutVideoEstimator(outputColumnName, inputColumnName, options);
    }

    /// <summary>
    /// Image to video stage by stage: <see cref="EncodeClipImage"/>, <see cref="EncodeConditioningLatent"/>,
    /// <see cref="ComputeConditioningCache"/>, <see cref="DenoiseVideo"/>, <see cref="DecodeVideo"/>, with the default
    /// names for the intermediate columns (<see cref="VcutColumnNames"/>), which stay in the output to be inspected.
    /// Gives the same video as <see cref="GenerateVideo"/> with the same options.
    /// </summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The video column to add.</param>
    /// <param name="inputColumnName">The image column.</param>
    /// <param name="options">Given to every stage; null = the defaults.</param>
    public static EstimatorChain<VaeDecodingTransformer> GenerateVideoByStages(this TransformsCatalog catalog,
        string outputColumnName = VcutColumnNames.Video, string inputColumnName = VcutColumnNames.Image, VcutVideoOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.EncodeClipImage(VcutColumnNames.ImageEmbedding, inputColumnName, options)
            .Append(catalog.EncodeConditioningLatent(VcutColumnNames.ConditioningLatent, inputColumnName, options))
            .Append(catalog.ComputeConditioningCache(VcutColumnNames.ConditioningCache, VcutColumnNames.ImageEmbedding, options))
            .Append(catalog.DenoiseVideo(VcutColumnNames.VideoLatents, VcutColumnNames.ConditioningLatent, VcutColumnNames.ConditioningCache, options))
            .Append(catalog.DecodeVideo(outputColumnName, VcutColumnNames.VideoLatents, options));
    }

    /// <summary>CLIP pre-processing only: image to the encoder's 3×224×224 input (see <see cref="ClipImagePreprocessingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The pixel column to add.</param>
    /// <param name="inputColumnName">The image column.</param>
    public static ClipImagePreprocessingEstimator PreprocessClipImage(this TransformsCatalog catalog,
        string outputColumnName = VcutColumnNames.ClipPixels, string inputColumnName = VcutColumnNames.Image)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ClipImagePreprocessingEstimator(outputColumnName, inputColumnName);
    }

    /// <summary>Stage 1: image to CLIP image embedding (see <see cref="ClipImageEncodingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The embedding column to add.</param>
    /// <param name="inputColumnName">The image column.</param>
    /// <param name="options">The model directory and execution provider; null = the defaults.</param>
    public static ClipImageEncodingEstimator EncodeClipImage(this TransformsCatalog catalog,
        string outputColumnName = VcutColumnNames.ImageEmbedding, string inputColumnName = VcutColumnNames.Image, VcutVideoOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ClipImageEncodingEstimator(outputColumnName, inputColumnName, options);
    }

    /// <summary>Stage 2: image to the conditioning image's VAE latent (see <see cref="ConditioningLatentEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The latent column to add.</param>
    /// <param name="inputColumnName">The image column.</param>
    /// <param name="options">Model and sampling settings; null = the defaults.</param>
    public static ConditioningLatentEstimator EncodeConditioningLatent(this TransformsCatalog catalog,
        string outputColumnName = VcutColumnNames.ConditioningLatent, string inputColumnName = VcutColumnNames.Image, VcutVideoOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ConditioningLatentEstimator(outputColumnName, inputColumnName, options);
    }

    /// <summary>Stage 3: CLIP embedding to the conditioning cache (VCUT's constants; see <see cref="ConditioningCacheEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The cache column to add.</param>
    /// <param name="inputColumnName">The embedding column.</param>
    /// <param name="options">Model, VCUT mode and sampling settings; null = the defaults.</param>
    public static ConditioningCacheEstimator ComputeConditioningCache(this TransformsCatalog catalog,
        string outputColumnName = VcutColumnNames.ConditioningCache, string inputColumnName = VcutColumnNames.ImageEmbedding, VcutVideoOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ConditioningCacheEstimator(outputColumnName, inputColumnName, options);
    }

    /// <summary>Stage 4: conditioning latent and cache to the denoised video latents (see <see cref="VideoDenoisingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The video latents column to add.</param>
    /// <param name="conditioningLatentColumnName">The conditioning latent column.</param>
    /// <param name="conditioningCacheColumnName">The conditioning cache column.</param>
    /// <param name="options">Model and sampling settings; null = the defaults.</param>
    public static VideoDenoisingEstimator DenoiseVideo(this TransformsCatalog catalog, string outputColumnName = VcutColumnNames.VideoLatents,
        string conditioningLatentColumnName = VcutColumnNames.ConditioningLatent, string conditioningCacheColumnName = VcutColumnNames.ConditioningCache,
        VcutVideoOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new VideoDenoisingEstimator(outputColumnName, conditioningLatentColumnName, conditioningCacheColumnName, options);
    }

    /// <summary>Stage 5: video latents to the video (see <see cref="VaeDecodingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The video column to add.</param>
    /// <param name="inputColumnName">The video latents column.</param>
    /// <param name="options">Model and sampling settings; null = the defaults.</param>
    public static VaeDecodingEstimator DecodeVideo(this TransformsCatalog catalog, string outputColumnName = VcutColumnNames.Video,
        string inputColumnName = VcutColumnNames.VideoLatents, VcutVideoOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new VaeDecodingEstimator(outputColumnName, inputColumnName, options);
    }
}
