using Microsoft.ML.Data;
using Vcut.MLNet;

namespace Microsoft.ML;

/// <summary>
/// The Vcut estimators on ML.NET's transforms catalog, shaped as ML.NET's own (<c>LoadImages</c>, <c>ResizeImages</c>,
/// <c>ApplyOnnxModel</c>): <c>outputColumnName</c> first and required, <c>inputColumnName = null</c> meaning "the same as
/// the output", <c>gpuDeviceId</c> and <c>fallbackToCpu</c> last, and an overload taking an options object that holds the
/// column names and every setting. When no GPU is given, <see cref="MLContext.GpuDeviceId"/> and
/// <see cref="MLContext.FallbackToCpu"/> are used, as <c>ApplyOnnxModel</c> does. <c>GenerateVideo</c> maps an image to
/// its video in one step; the stages one by one (<c>EncodeClipImage</c>, <c>EncodeConditioningLatent</c>,
/// <c>ComputeConditioningCache</c>, <c>DenoiseVideo</c>, <c>DecodeVideo</c>), chained by <c>GenerateVideoByStages</c>,
/// give the same video.
/// </summary>
public static class VcutCatalog
{
    /// <summary>
    /// Image to video in one step (<see cref="VcutVideoEstimator"/>): the embedded default model (or
    /// <paramref name="modelDirectory"/>) with VCUT exact and SVD's sampling defaults. Per-row seeds and the other
    /// settings: the <see cref="GenerateVideo(TransformsCatalog, VcutVideoOptions)"/> overload.
    /// </summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The video column to add: <c>Vector&lt;Single, F, 3, H, W&gt;</c>, frames in [0, 1].</param>
    /// <param name="inputColumnName">The image column: <c>MLImage</c> (from <c>LoadImages</c>) or text (image paths); null = <paramref name="outputColumnName"/>.</param>
    /// <param name="modelDirectory">A Vcut model directory; null = the embedded default.</param>
    /// <param name="frames">Frames per video; null = the model's default.</param>
    /// <param name="steps">Denoising steps.</param>
    /// <param name="seed">The seed of every row's noise.</param>
    /// <param name="imageFolder">The folder relative image paths are read from; null = the current directory.</param>
    /// <param name="gpuDeviceId">The CUDA device to run on; null = <see cref="MLContext.GpuDeviceId"/>, and when that is null too the CPU.</param>
    /// <param name="fallbackToCpu">When CUDA cannot start, run on the CPU instead of failing.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting (named in the message).</exception>
    public static VcutVideoEstimator GenerateVideo(this TransformsCatalog catalog, string outputColumnName, string? inputColumnName = null,
        string? modelDirectory = null, int? frames = null, int steps = 25, ulong seed = 0, string? imageFolder = null,
        int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        return catalog.GenerateVideo(new VcutVideoOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ModelDirectory = modelDirectory,
            Frames = frames,
            Steps = steps,
            Seed = seed,
            ImageFolder = imageFolder,
            GpuDeviceId = gpuDeviceId,
            FallbackToCpu = fallbackToCpu,
        });
    }

    /// <summary>Image to video in one step (<see cref="VcutVideoEstimator"/>) with every setting, per-row conditioning columns, progress and cancellation.</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="options">The columns and settings; a null <see cref="VcutOptions.GpuDeviceId"/> takes the <c>MLContext</c>'s.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting (named in the message).</exception>
    public static VcutVideoEstimator GenerateVideo(this TransformsCatalog catalog, VcutVideoOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (gpu, fallback) = MLContextSettings.Resolve(catalog, options.GpuDeviceId, options.FallbackToCpu);
        return new VcutVideoEstimator(options with { GpuDeviceId = gpu, FallbackToCpu = fallback });
    }

    /// <summary>
    /// Image to video stage by stage, <c>EncodeClipImage</c> → <c>EncodeConditioningLatent</c> →
    /// <c>ComputeConditioningCache</c> → <c>DenoiseVideo</c> → <c>DecodeVideo</c>, giving the video of
    /// <see cref="GenerateVideo(TransformsCatalog, string, string?, string?, int?, int, ulong, string?, int?, bool)"/>
    /// bit for bit. The stage columns are kept, named <c>{outputColumnName}.ImageEmbedding</c>,
    /// <c>{outputColumnName}.ConditioningLatent</c>, <c>{outputColumnName}.ConditioningCache</c> and
    /// <c>{outputColumnName}.VideoLatents</c> (another prefix, or dropping them: the options overload).
    /// </summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The video column to add.</param>
    /// <param name="inputColumnName">The image column; null = <paramref name="outputColumnName"/>.</param>
    /// <param name="modelDirectory">A Vcut model directory; null = the embedded default.</param>
    /// <param name="frames">Frames per video; null = the model's default.</param>
    /// <param name="steps">Denoising steps.</param>
    /// <param name="seed">The seed of every row's noise.</param>
    /// <param name="imageFolder">The folder relative image paths are read from; null = the current directory.</param>
    /// <param name="gpuDeviceId">The CUDA device to run on; null = <see cref="MLContext.GpuDeviceId"/>, and when that is null too the CPU.</param>
    /// <param name="fallbackToCpu">When CUDA cannot start, run on the CPU instead of failing.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting (named in the message).</exception>
    public static EstimatorChain<ITransformer> GenerateVideoByStages(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, string? modelDirectory = null, int? frames = null, int steps = 25, ulong seed = 0,
        string? imageFolder = null, int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.GenerateVideoByStages(new VcutStagesOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ModelDirectory = modelDirectory,
            Frames = frames,
            Steps = steps,
            Seed = seed,
            ImageFolder = imageFolder,
            GpuDeviceId = gpuDeviceId,
            FallbackToCpu = fallbackToCpu,
        });
    }

    /// <summary>
    /// Image to video stage by stage, with every setting given to every stage (per-row columns to the stages that read
    /// them), the stage columns prefixed with <see cref="VcutStagesOptions.StageColumnPrefix"/> or dropped
    /// (<see cref="VcutStagesOptions.DropStageColumns"/>).
    /// </summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="options">The columns and settings; a null <see cref="VcutOptions.GpuDeviceId"/> takes the <c>MLContext</c>'s.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting (named in the message).</exception>
    public static EstimatorChain<ITransformer> GenerateVideoByStages(this TransformsCatalog catalog, VcutStagesOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (gpu, fallback) = MLContextSettings.Resolve(catalog, options.GpuDeviceId, options.FallbackToCpu);
        options = options with { GpuDeviceId = gpu, FallbackToCpu = fallback };
        options.Validate();
        var prefix = options.Prefix;
        string embedding = prefix + VcutColumnNames.ImageEmbedding, latent = prefix + VcutColumnNames.ConditioningLatent,
            cache = prefix + VcutColumnNames.ConditioningCache, latents = prefix + VcutColumnNames.VideoLatents;
        var chain = new EstimatorChain<ITransformer>()
            .Append<ITransformer>(new ClipImageEncodingEstimator(
                new ClipImageEncodingOptions(options) { OutputColumnName = embedding, InputColumnName = options.ImageColumn }))
            .Append<ITransformer>(new ConditioningLatentEstimator(
                new ConditioningLatentOptions(options) { OutputColumnName = latent, InputColumnName = options.ImageColumn }))
            .Append<ITransformer>(new ConditioningCacheEstimator(
                new ConditioningCacheOptions(options) { OutputColumnName = cache, InputColumnName = embedding }))
            .Append<ITransformer>(new VideoDenoisingEstimator(
                new VideoDenoisingOptions(options) { OutputColumnName = latents, ConditioningLatentColumnName = latent, ConditioningCacheColumnName = cache }))
            .Append<ITransformer>(new VaeDecodingEstimator(
                new VaeDecodingOptions(options) { OutputColumnName = options.OutputColumnName, InputColumnName = latents }));
        return options.DropStageColumns ? chain.Append<ITransformer>(catalog.DropColumns(embedding, latent, cache, latents)) : chain;
    }

    /// <summary>CLIP pre-processing only: image to the encoder's 3×224×224 input (<see cref="ClipImagePreprocessingEstimator"/>); runs no model.</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The pixel column to add.</param>
    /// <param name="inputColumnName">The image column; null = <paramref name="outputColumnName"/>.</param>
    /// <param name="imageFolder">The folder relative image paths are read from; null = the current directory.</param>
    /// <exception cref="ArgumentException">A blank column name.</exception>
    public static ClipImagePreprocessingEstimator PreprocessClipImage(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, string? imageFolder = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ClipImagePreprocessingEstimator(new ClipImagePreprocessingOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ImageFolder = imageFolder,
        });
    }

    /// <summary>CLIP pre-processing only, from an options object (<see cref="ClipImagePreprocessingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="options">The columns and image folder.</param>
    /// <exception cref="ArgumentException">A blank column name.</exception>
    public static ClipImagePreprocessingEstimator PreprocessClipImage(this TransformsCatalog catalog, ClipImagePreprocessingOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ClipImagePreprocessingEstimator(options);
    }

    /// <summary>Stage 1: image to CLIP image embedding (<see cref="ClipImageEncodingEstimator"/>, on ML.NET's <c>ApplyOnnxModel</c>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The embedding column to add: <c>Vector&lt;Single, 1, D&gt;</c>.</param>
    /// <param name="inputColumnName">The image column; null = <paramref name="outputColumnName"/>.</param>
    /// <param name="modelDirectory">A Vcut model directory; null = the embedded default.</param>
    /// <param name="imageFolder">The folder relative image paths are read from; null = the current directory.</param>
    /// <param name="gpuDeviceId">The CUDA device to run on; null = <see cref="MLContext.GpuDeviceId"/>, and when that is null too the CPU.</param>
    /// <param name="fallbackToCpu">When CUDA cannot start, run on the CPU instead of failing.</param>
    /// <exception cref="ArgumentException">A blank column name, an output named <c>pixel_values</c>, or an invalid setting.</exception>
    public static ClipImageEncodingEstimator EncodeClipImage(this TransformsCatalog catalog, string outputColumnName, string? inputColumnName = null,
        string? modelDirectory = null, string? imageFolder = null, int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        return catalog.EncodeClipImage(new ClipImageEncodingOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ModelDirectory = modelDirectory,
            ImageFolder = imageFolder,
            GpuDeviceId = gpuDeviceId,
            FallbackToCpu = fallbackToCpu,
        });
    }

    /// <summary>Stage 1 from an options object (<see cref="ClipImageEncodingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="options">The columns and settings; a null <see cref="VcutOptions.GpuDeviceId"/> takes the <c>MLContext</c>'s.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting.</exception>
    public static ClipImageEncodingEstimator EncodeClipImage(this TransformsCatalog catalog, ClipImageEncodingOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (gpu, fallback) = MLContextSettings.Resolve(catalog, options.GpuDeviceId, options.FallbackToCpu);
        return new ClipImageEncodingEstimator(options with { GpuDeviceId = gpu, FallbackToCpu = fallback });
    }

    /// <summary>Stage 2: image to the conditioning image's VAE latent (<see cref="ConditioningLatentEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The latent column to add: <c>Vector&lt;Single, C, H/8, W/8&gt;</c>.</param>
    /// <param name="inputColumnName">The image column; null = <paramref name="outputColumnName"/>.</param>
    /// <param name="modelDirectory">A Vcut model directory; null = the embedded default.</param>
    /// <param name="seed">The seed of every row's noise augmentation.</param>
    /// <param name="imageFolder">The folder relative image paths are read from; null = the current directory.</param>
    /// <param name="gpuDeviceId">The CUDA device to run on; null = <see cref="MLContext.GpuDeviceId"/>, and when that is null too the CPU.</param>
    /// <param name="fallbackToCpu">When CUDA cannot start, run on the CPU instead of failing.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting.</exception>
    public static ConditioningLatentEstimator EncodeConditioningLatent(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, string? modelDirectory = null, ulong seed = 0, string? imageFolder = null,
        int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        return catalog.EncodeConditioningLatent(new ConditioningLatentOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ModelDirectory = modelDirectory,
            Seed = seed,
            ImageFolder = imageFolder,
            GpuDeviceId = gpuDeviceId,
            FallbackToCpu = fallbackToCpu,
        });
    }

    /// <summary>Stage 2 from an options object (<see cref="ConditioningLatentEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="options">The columns and settings; a null <see cref="VcutOptions.GpuDeviceId"/> takes the <c>MLContext</c>'s.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting.</exception>
    public static ConditioningLatentEstimator EncodeConditioningLatent(this TransformsCatalog catalog, ConditioningLatentOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (gpu, fallback) = MLContextSettings.Resolve(catalog, options.GpuDeviceId, options.FallbackToCpu);
        return new ConditioningLatentEstimator(options with { GpuDeviceId = gpu, FallbackToCpu = fallback });
    }

    /// <summary>Stage 3: CLIP embedding to the conditioning cache (VCUT's constants; <see cref="ConditioningCacheEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The cache column to add: <c>Vector&lt;Single, N&gt;</c>.</param>
    /// <param name="inputColumnName">The embedding column; null = <paramref name="outputColumnName"/>.</param>
    /// <param name="modelDirectory">A Vcut model directory; null = the embedded default.</param>
    /// <param name="gpuDeviceId">The CUDA device to run on; null = <see cref="MLContext.GpuDeviceId"/>, and when that is null too the CPU.</param>
    /// <param name="fallbackToCpu">When CUDA cannot start, run on the CPU instead of failing.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting.</exception>
    public static ConditioningCacheEstimator ComputeConditioningCache(this TransformsCatalog catalog, string outputColumnName,
        string? inputColumnName = null, string? modelDirectory = null, int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        return catalog.ComputeConditioningCache(new ConditioningCacheOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ModelDirectory = modelDirectory,
            GpuDeviceId = gpuDeviceId,
            FallbackToCpu = fallbackToCpu,
        });
    }

    /// <summary>Stage 3 from an options object (<see cref="ConditioningCacheEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="options">The columns and settings; a null <see cref="VcutOptions.GpuDeviceId"/> takes the <c>MLContext</c>'s.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting.</exception>
    public static ConditioningCacheEstimator ComputeConditioningCache(this TransformsCatalog catalog, ConditioningCacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (gpu, fallback) = MLContextSettings.Resolve(catalog, options.GpuDeviceId, options.FallbackToCpu);
        return new ConditioningCacheEstimator(options with { GpuDeviceId = gpu, FallbackToCpu = fallback });
    }

    /// <summary>Stage 4: conditioning latent and cache to the denoised video latents (<see cref="VideoDenoisingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The video latents column to add: <c>Vector&lt;Single, F, C, H/8, W/8&gt;</c>.</param>
    /// <param name="conditioningLatentColumnName">The conditioning latent column (stage 2).</param>
    /// <param name="conditioningCacheColumnName">The conditioning cache column (stage 3).</param>
    /// <param name="modelDirectory">A Vcut model directory; null = the embedded default.</param>
    /// <param name="frames">Frames per video; null = the model's default.</param>
    /// <param name="steps">Denoising steps.</param>
    /// <param name="seed">The seed of every row's noise (the same as stage 2's, for the one-step video).</param>
    /// <param name="gpuDeviceId">The CUDA device to run on; null = <see cref="MLContext.GpuDeviceId"/>, and when that is null too the CPU.</param>
    /// <param name="fallbackToCpu">When CUDA cannot start, run on the CPU instead of failing.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting.</exception>
    public static VideoDenoisingEstimator DenoiseVideo(this TransformsCatalog catalog, string outputColumnName, string conditioningLatentColumnName,
        string conditioningCacheColumnName, string? modelDirectory = null, int? frames = null, int steps = 25, ulong seed = 0,
        int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        return catalog.DenoiseVideo(new VideoDenoisingOptions
        {
            OutputColumnName = outputColumnName,
            ConditioningLatentColumnName = conditioningLatentColumnName,
            ConditioningCacheColumnName = conditioningCacheColumnName,
            ModelDirectory = modelDirectory,
            Frames = frames,
            Steps = steps,
            Seed = seed,
            GpuDeviceId = gpuDeviceId,
            FallbackToCpu = fallbackToCpu,
        });
    }

    /// <summary>Stage 4 from an options object (<see cref="VideoDenoisingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="options">The columns and settings; a null <see cref="VcutOptions.GpuDeviceId"/> takes the <c>MLContext</c>'s.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting.</exception>
    public static VideoDenoisingEstimator DenoiseVideo(this TransformsCatalog catalog, VideoDenoisingOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (gpu, fallback) = MLContextSettings.Resolve(catalog, options.GpuDeviceId, options.FallbackToCpu);
        return new VideoDenoisingEstimator(options with { GpuDeviceId = gpu, FallbackToCpu = fallback });
    }

    /// <summary>Stage 5: video latents to the video (<see cref="VaeDecodingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="outputColumnName">The video column to add: <c>Vector&lt;Single, F, 3, H, W&gt;</c>.</param>
    /// <param name="inputColumnName">The video latents column; null = <paramref name="outputColumnName"/>.</param>
    /// <param name="modelDirectory">A Vcut model directory; null = the embedded default.</param>
    /// <param name="frames">Frames per video; null = the model's default.</param>
    /// <param name="gpuDeviceId">The CUDA device to run on; null = <see cref="MLContext.GpuDeviceId"/>, and when that is null too the CPU.</param>
    /// <param name="fallbackToCpu">When CUDA cannot start, run on the CPU instead of failing.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting.</exception>
    public static VaeDecodingEstimator DecodeVideo(this TransformsCatalog catalog, string outputColumnName, string? inputColumnName = null,
        string? modelDirectory = null, int? frames = null, int? gpuDeviceId = null, bool fallbackToCpu = false)
    {
        return catalog.DecodeVideo(new VaeDecodingOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ModelDirectory = modelDirectory,
            Frames = frames,
            GpuDeviceId = gpuDeviceId,
            FallbackToCpu = fallbackToCpu,
        });
    }

    /// <summary>Stage 5 from an options object (<see cref="VaeDecodingEstimator"/>).</summary>
    /// <param name="catalog">ML.NET's transforms catalog.</param>
    /// <param name="options">The columns and settings; a null <see cref="VcutOptions.GpuDeviceId"/> takes the <c>MLContext</c>'s.</param>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting.</exception>
    public static VaeDecodingEstimator DecodeVideo(this TransformsCatalog catalog, VaeDecodingOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        var (gpu, fallback) = MLContextSettings.Resolve(catalog, options.GpuDeviceId, options.FallbackToCpu);
        return new VaeDecodingEstimator(options with { GpuDeviceId = gpu, FallbackToCpu = fallback });
    }
}
