using Vcut.Graph.Builders;
using GenerationOptions = Vcut.Runtime.Pipeline.VideoGenerationOptions;
using RuntimeDevice = Vcut.Runtime.Sessions.ExecutionDevice;
using RuntimeExecution = Vcut.Runtime.Sessions.ExecutionOptions;
using Vcut.Graph.Vcut;

namespace Vcut.MLNet;

/// <summary>
/// What every Vcut estimator shares: which model runs, where, and how each video is sampled, as flat settings (no
/// runtime types to import). Immutable and validated when an estimator is created, naming the first invalid setting.
/// Each estimator takes its own options type derived from this one, which adds its column names
/// (<see cref="VcutVideoOptions"/>, <see cref="VideoDenoisingOptions"/>, …); give the stages of one pipeline the same
/// settings, e.g. <c>new VideoDenoisingOptions(settings) { … }</c>.
/// </summary>
/// <remarks>
/// Saved with a model by <c>mlContext.Model.Save</c>: everything except <see cref="GpuDeviceId"/> and
/// <see cref="FallbackToCpu"/> (the loading <c>MLContext</c>'s apply, as for ML.NET's <c>ApplyOnnxModel</c>),
/// <see cref="Progress"/> and <see cref="CancellationToken"/>.
/// </remarks>
public abstract record VcutOptions
{
    /// <summary>Settings with SVD's defaults, the embedded default model, VCUT exact, on the CPU.</summary>
    protected VcutOptions()
    {
    }

    /// <summary>
    /// A Vcut model directory (holding <c>vcut-model.json</c>); null = the embedded default
    /// (<c>VideoGenerator.DefaultModelDirectory</c>, shipped next to the application). A
    /// relative path is resolved against the current directory when the model is opened (also after loading a saved model).
    /// </summary>
    public string? ModelDirectory { get; init; }

    /// <summary>
    /// The VCUT mode of the UNet: <see cref="VcutMode.Exact"/> by default (the original UNet is rewritten in memory; the
    /// video equals <see cref="VcutMode.Off"/>'s). Null keeps the directory's own mode.
    /// </summary>
    public VcutMode? Vcut { get; init; } = VcutMode.Exact;

    /// <summary>
    /// The CUDA device to run on; null = the CPU. As ML.NET's <c>OnnxOptions.GpuDeviceId</c>: the catalog methods use
    /// <c>MLContext.GpuDeviceId</c> when this is null.
    /// </summary>
    public int? GpuDeviceId { get; init; }

    /// <summary>When CUDA cannot start on <see cref="GpuDeviceId"/>, run on the CPU instead of failing (ML.NET's <c>FallbackToCpu</c>).</summary>
    public bool FallbackToCpu { get; init; }

    /// <summary>Threads for one operator (0 = ONNX Runtime's choice: one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Memory a video may use on the CPU; a video whose estimate exceeds it is refused up front. Null: the memory available.</summary>
    public long? MemoryBudgetBytes { get; init; }

    // The runtime's options hold the defaults; these settings start from them rather than restating them.
    private static readonly Vcut.Runtime.Pipeline.VideoGenerationOptions GenerationDefaults = new();

    /// <summary>Frames per video; null = the model's default. Fixed for a column (it is part of the column's type).</summary>
    public int? Frames { get; init; }

    /// <summary>Video height in pixels, a multiple of 8; null = the model's default. Fixed for a column.</summary>
    public int? Height { get; init; }

    /// <summary>Video width in pixels, a multiple of 8; null = the model's default. Fixed for a column.</summary>
    public int? Width { get; init; }

    /// <summary>Denoising steps (25).</summary>
    public int Steps { get; init; } = GenerationDefaults.Steps;

    /// <summary>Frames per second the model is conditioned on (7); per row with <see cref="FpsColumnName"/>.</summary>
    public float Fps { get; init; } = GenerationDefaults.Fps;

    /// <summary>Motion bucket id (127): more means more motion; per row with <see cref="MotionBucketIdColumnName"/>.</summary>
    public float MotionBucketId { get; init; } = GenerationDefaults.MotionBucketId;

    /// <summary>Noise added to the conditioning image (0.02); per row with <see cref="NoiseAugStrengthColumnName"/>.</summary>
    public float NoiseAugStrength { get; init; } = GenerationDefaults.NoiseAugStrength;

    /// <summary>Guidance scale of the first frame (1.0).</summary>
    public float MinGuidanceScale { get; init; } = GenerationDefaults.MinGuidanceScale;

    /// <summary>Guidance scale of the last frame (3.0); at most 1 turns guidance off (and changes the cache column's size).</summary>
    public float MaxGuidanceScale { get; init; } = GenerationDefaults.MaxGuidanceScale;

    /// <summary>Frames decoded per VAE call; null = all frames at once.</summary>
    public int? DecodeChunkSize { get; init; }

    /// <summary>
    /// Step-level caching (1 = off): the full UNet every this many steps, only its outer <see cref="StepCacheBranch"/>
    /// levels between, with the deep features of the last full step (docs/speed.md). Changes the video a little.
    /// </summary>
    public int StepCacheInterval { get; init; } = GenerationDefaults.StepCacheInterval;

    /// <summary>Resolution levels a cached step computes, from the outermost (1, the cheapest); used when <see cref="StepCacheInterval"/> is above 1.</summary>
    public int StepCacheBranch { get; init; } = 1;

    /// <summary>Guidance economy: the fraction of the steps, from the first, that apply classifier-free guidance (1 = every step).</summary>
    public float GuidanceStepFraction { get; init; } = GenerationDefaults.GuidanceStepFraction;

    /// <summary>Guidance reuse: the unconditional row every this many guided steps, its last difference reused between (1 = every step).</summary>
    public int GuidanceInterval { get; init; } = GenerationDefaults.GuidanceInterval;

    /// <summary>The step-cache branch the model is opened with: null when no step is cached.</summary>
    internal int? OpenedStepCacheBranch => StepCacheInterval > 1 ? StepCacheBranch : null;

    /// <summary>Seed of the noise (0): the same seed gives the same video; per row with <see cref="SeedColumnName"/>.</summary>
    public ulong Seed { get; init; }

    /// <summary>An input column holding each row's seed (any integer type, not negative); null = <see cref="Seed"/> for every row.</summary>
    public string? SeedColumnName { get; init; }

    /// <summary>An input column holding each row's motion bucket id (any numeric type); null = <see cref="MotionBucketId"/>.</summary>
    public string? MotionBucketIdColumnName { get; init; }

    /// <summary>An input column holding each row's conditioning fps (any numeric type); null = <see cref="Fps"/>.</summary>
    public string? FpsColumnName { get; init; }

    /// <summary>An input column holding each row's noise augmentation strength (any numeric type); null = <see cref="NoiseAugStrength"/>.</summary>
    public string? NoiseAugStrengthColumnName { get; init; }

    /// <summary>The folder that relative image paths in a text image column are read from (as ML.NET's <c>LoadImages</c>); null = the current directory.</summary>
    public string? ImageFolder { get; init; }

    /// <summary>
    /// Receives a report at each step of each row's computation (the row, the stage, the step), on the thread reading
    /// the row. Not saved with the model.
    /// </summary>
    public IProgress<VcutProgress>? Progress { get; init; }

    /// <summary>
    /// Cancels the computation of every row of the fitted transformer: the running model call stops and the getter throws
    /// <see cref="OperationCanceledException"/>. Not saved with the model.
    /// </summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>The runtime's execution options these settings give.</summary>
    internal RuntimeExecution Execution => new()
    {
        Device = GpuDeviceId is null ? RuntimeDevice.Cpu : RuntimeDevice.Cuda,
        CudaDeviceId = GpuDeviceId ?? 0,
        AllowCpuFallback = FallbackToCpu,
        IntraOpThreads = IntraOpThreads,
        MemoryBudgetBytes = MemoryBudgetBytes,
    };

    /// <summary>The runtime's video options these settings give (before any per-row value).</summary>
    internal GenerationOptions Generation => new()
    {
        Frames = Frames,
        Height = Height,
        Width = Width,
        Steps = Steps,
        Fps = Fps,
        MotionBucketId = MotionBucketId,
        NoiseAugStrength = NoiseAugStrength,
        MinGuidanceScale = MinGuidanceScale,
        MaxGuidanceScale = MaxGuidanceScale,
        DecodeChunkSize = DecodeChunkSize,
        Seed = Seed,
        StepCacheInterval = StepCacheInterval,
        GuidanceStepFraction = GuidanceStepFraction,
        GuidanceInterval = GuidanceInterval,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and what was expected.</summary>
    public virtual void Validate()
    {
        var type = GetType().Name;
        if (ModelDirectory is not null && string.IsNullOrWhiteSpace(ModelDirectory))
        {
            throw new ArgumentException($"{type}.ModelDirectory is blank: expected a model directory, or null for the embedded default.");
        }
        if (Vcut is { } mode && !Enum.IsDefined(mode))
        {
            throw new ArgumentException($"{type}.Vcut = {mode} is not a VCUT mode: expected Off, Paper, Exact or null.");
        }
        if (GpuDeviceId is < 0)
        {
            throw new ArgumentException($"{type}.GpuDeviceId = {GpuDeviceId} must be zero or positive (or null for the CPU).");
        }
        if (ImageFolder is not null && string.IsNullOrWhiteSpace(ImageFolder))
        {
            throw new ArgumentException($"{type}.ImageFolder is blank: expected a folder, or null for the current directory.");
        }
        if (StepCacheBranch < 1)
        {
            throw new ArgumentException($"{type}.StepCacheBranch = {StepCacheBranch} must be at least 1 (resolution levels from the outermost).");
        }
        RequireColumnName(SeedColumnName, nameof(SeedColumnName));
        RequireColumnName(MotionBucketIdColumnName, nameof(MotionBucketIdColumnName));
        RequireColumnName(FpsColumnName, nameof(FpsColumnName));
        RequireColumnName(NoiseAugStrengthColumnName, nameof(NoiseAugStrengthColumnName));
        Execution.Validate();
        Generation.Validate();
    }

    /// <summary>Throws when <paramref name="name"/> is given but blank.</summary>
    private protected void RequireColumnName(string? name, string property)
    {
        if (name is not null && string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException($"{GetType().Name}.{property} is blank: expected a column name, or null.");
        }
    }

    /// <summary>Throws when the required column name <paramref name="name"/> is null or blank.</summary>
    private protected void RequireOutputColumnName(string? name, string property)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException($"{GetType().Name}.{property} is blank: expected the name of the column to add.");
        }
    }
}

/// <summary>
/// Options of <c>mlContext.Transforms.GenerateVideo</c> (<see cref="VcutVideoEstimator"/>): image column to video column,
/// plus the shared <see cref="VcutOptions"/> settings.
/// </summary>
public record VcutVideoOptions : VcutOptions
{
    /// <summary>Options with the default settings; set <see cref="OutputColumnName"/> (and usually <see cref="InputColumnName"/>).</summary>
    public VcutVideoOptions()
    {
    }

    /// <summary>Options with the settings of <paramref name="settings"/> (not its column names).</summary>
    /// <param name="settings">The settings to copy.</param>
    public VcutVideoOptions(VcutOptions settings)
        : base(settings ?? throw new ArgumentNullException(nameof(settings)))
    {
    }

    /// <summary>The video column to add: <c>Vector&lt;Single, F, 3, H, W&gt;</c>.</summary>
    public required string OutputColumnName { get; init; }

    /// <summary>The image column: <c>MLImage</c> (from <c>LoadImages</c>) or text (image paths); null = <see cref="OutputColumnName"/>, as in ML.NET.</summary>
    public string? InputColumnName { get; init; }

    internal string ImageColumn => InputColumnName ?? OutputColumnName;

    /// <inheritdoc />
    public override void Validate()
    {
        RequireOutputColumnName(OutputColumnName, nameof(OutputColumnName));
        RequireColumnName(InputColumnName, nameof(InputColumnName));
        base.Validate();
    }
}

/// <summary>
/// Options of <c>mlContext.Transforms.GenerateVideoByStages</c>: as <see cref="VcutVideoOptions"/>, and what becomes
/// of the intermediate stage columns.
/// </summary>
public sealed record VcutStagesOptions : VcutVideoOptions
{
    /// <summary>Options with the default settings.</summary>
    public VcutStagesOptions()
    {
    }

    /// <summary>Options with the settings of <paramref name="settings"/> (not its column names).</summary>
    /// <param name="settings">The settings to copy.</param>
    public VcutStagesOptions(VcutOptions settings)
        : base(settings)
    {
    }

    /// <summary>
    /// The prefix of the stage columns (<c>{prefix}ImageEmbedding</c>, <c>{prefix}ConditioningLatent</c>,
    /// <c>{prefix}ConditioningCache</c>, <c>{prefix}VideoLatents</c>); null = the output column's name and a dot, e.g.
    /// <c>Video.ImageEmbedding</c>, so they cannot clash with the input's columns.
    /// </summary>
    public string? StageColumnPrefix { get; init; }

    /// <summary>Drop the stage columns at the end of the chain, leaving only the video (false: keep them to inspect).</summary>
    public bool DropStageColumns { get; init; }

    internal string Prefix => StageColumnPrefix ?? OutputColumnName + ".";
}

/// <summary>Options of <c>mlContext.Transforms.PreprocessClipImage</c> (<see cref="ClipImagePreprocessingEstimator"/>); it runs no model.</summary>
public sealed record ClipImagePreprocessingOptions
{
    /// <summary>The pixel column to add: <c>Vector&lt;Single, 3, 224, 224&gt;</c>.</summary>
    public required string OutputColumnName { get; init; }

    /// <summary>The image column; null = <see cref="OutputColumnName"/>.</summary>
    public string? InputColumnName { get; init; }

    /// <summary>The folder relative image paths are read from; null = the current directory.</summary>
    public string? ImageFolder { get; init; }

    internal string ImageColumn => InputColumnName ?? OutputColumnName;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputColumnName))
        {
            throw new ArgumentException($"{nameof(ClipImagePreprocessingOptions)}.OutputColumnName is blank: expected the name of the column to add.");
        }
        if (InputColumnName is not null && string.IsNullOrWhiteSpace(InputColumnName))
        {
            throw new ArgumentException($"{nameof(ClipImagePreprocessingOptions)}.InputColumnName is blank: expected a column name, or null.");
        }
        if (ImageFolder is not null && string.IsNullOrWhiteSpace(ImageFolder))
        {
            throw new ArgumentException($"{nameof(ClipImagePreprocessingOptions)}.ImageFolder is blank: expected a folder, or null.");
        }
    }
}

/// <summary>Options of <c>mlContext.Transforms.EncodeClipImage</c> (stage 1, <see cref="ClipImageEncodingEstimator"/>).</summary>
public sealed record ClipImageEncodingOptions : VcutOptions
{
    /// <summary>Options with the default settings.</summary>
    public ClipImageEncodingOptions()
    {
    }

    /// <summary>Options with the settings of <paramref name="settings"/> (not its column names).</summary>
    /// <param name="settings">The settings to copy.</param>
    public ClipImageEncodingOptions(VcutOptions settings)
        : base(settings ?? throw new ArgumentNullException(nameof(settings)))
    {
    }

    /// <summary>The embedding column to add: <c>Vector&lt;Single, 1, D&gt;</c>.</summary>
    public required string OutputColumnName { get; init; }

    /// <summary>The image column; null = <see cref="OutputColumnName"/>.</summary>
    public string? InputColumnName { get; init; }

    internal string ImageColumn => InputColumnName ?? OutputColumnName;

    /// <inheritdoc />
    public override void Validate()
    {
        RequireOutputColumnName(OutputColumnName, nameof(OutputColumnName));
        RequireColumnName(InputColumnName, nameof(InputColumnName));
        if (OutputColumnName == ClipImageEncodingTransformer.PixelColumn)
        {
            throw new ArgumentException($"The output column cannot be '{OutputColumnName}': this stage uses that name inside.", nameof(OutputColumnName));
        }
        base.Validate();
    }
}

/// <summary>Options of <c>mlContext.Transforms.EncodeConditioningLatent</c> (stage 2, <see cref="ConditioningLatentEstimator"/>).</summary>
public sealed record ConditioningLatentOptions : VcutOptions
{
    /// <summary>Options with the default settings.</summary>
    public ConditioningLatentOptions()
    {
    }

    /// <summary>Options with the settings of <paramref name="settings"/> (not its column names).</summary>
    /// <param name="settings">The settings to copy.</param>
    public ConditioningLatentOptions(VcutOptions settings)
        : base(settings ?? throw new ArgumentNullException(nameof(settings)))
    {
    }

    /// <summary>The latent column to add: <c>Vector&lt;Single, C, H/8, W/8&gt;</c>.</summary>
    public required string OutputColumnName { get; init; }

    /// <summary>The image column; null = <see cref="OutputColumnName"/>.</summary>
    public string? InputColumnName { get; init; }

    internal string ImageColumn => InputColumnName ?? OutputColumnName;

    /// <inheritdoc />
    public override void Validate()
    {
        RequireOutputColumnName(OutputColumnName, nameof(OutputColumnName));
        RequireColumnName(InputColumnName, nameof(InputColumnName));
        base.Validate();
    }
}

/// <summary>Options of <c>mlContext.Transforms.ComputeConditioningCache</c> (stage 3, <see cref="ConditioningCacheEstimator"/>).</summary>
public sealed record ConditioningCacheOptions : VcutOptions
{
    /// <summary>Options with the default settings.</summary>
    public ConditioningCacheOptions()
    {
    }

    /// <summary>Options with the settings of <paramref name="settings"/> (not its column names).</summary>
    /// <param name="settings">The settings to copy.</param>
    public ConditioningCacheOptions(VcutOptions settings)
        : base(settings ?? throw new ArgumentNullException(nameof(settings)))
    {
    }

    /// <summary>The cache column to add: <c>Vector&lt;Single, N&gt;</c>.</summary>
    public required string OutputColumnName { get; init; }

    /// <summary>The CLIP embedding column; null = <see cref="OutputColumnName"/>.</summary>
    public string? InputColumnName { get; init; }

    internal string EmbeddingColumn => InputColumnName ?? OutputColumnName;

    /// <inheritdoc />
    public override void Validate()
    {
        RequireOutputColumnName(OutputColumnName, nameof(OutputColumnName));
        RequireColumnName(InputColumnName, nameof(InputColumnName));
        base.Validate();
    }
}

/// <summary>Options of <c>mlContext.Transforms.DenoiseVideo</c> (stage 4, <see cref="VideoDenoisingEstimator"/>).</summary>
public sealed record VideoDenoisingOptions : VcutOptions
{
    /// <summary>Options with the default settings.</summary>
    public VideoDenoisingOptions()
    {
    }

    /// <summary>Options with the settings of <paramref name="settings"/> (not its column names).</summary>
    /// <param name="settings">The settings to copy.</param>
    public VideoDenoisingOptions(VcutOptions settings)
        : base(settings ?? throw new ArgumentNullException(nameof(settings)))
    {
    }

    /// <summary>The video latents column to add: <c>Vector&lt;Single, F, C, H/8, W/8&gt;</c>.</summary>
    public required string OutputColumnName { get; init; }

    /// <summary>The conditioning latent column (stage 2).</summary>
    public required string ConditioningLatentColumnName { get; init; }

    /// <summary>The conditioning cache column (stage 3).</summary>
    public required string ConditioningCacheColumnName { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        RequireOutputColumnName(OutputColumnName, nameof(OutputColumnName));
        RequireOutputColumnName(ConditioningLatentColumnName, nameof(ConditioningLatentColumnName));
        RequireOutputColumnName(ConditioningCacheColumnName, nameof(ConditioningCacheColumnName));
        base.Validate();
    }
}

/// <summary>Options of <c>mlContext.Transforms.DecodeVideo</c> (stage 5, <see cref="VaeDecodingEstimator"/>).</summary>
public sealed record VaeDecodingOptions : VcutOptions
{
    /// <summary>Options with the default settings.</summary>
    public VaeDecodingOptions()
    {
    }

    /// <summary>Options with the settings of <paramref name="settings"/> (not its column names).</summary>
    /// <param name="settings">The settings to copy.</param>
    public VaeDecodingOptions(VcutOptions settings)
        : base(settings ?? throw new ArgumentNullException(nameof(settings)))
    {
    }

    /// <summary>The video column to add: <c>Vector&lt;Single, F, 3, H, W&gt;</c>.</summary>
    public required string OutputColumnName { get; init; }

    /// <summary>The video latents column; null = <see cref="OutputColumnName"/>.</summary>
    public string? InputColumnName { get; init; }

    internal string LatentsColumn => InputColumnName ?? OutputColumnName;

    /// <inheritdoc />
    public override void Validate()
    {
        RequireOutputColumnName(OutputColumnName, nameof(OutputColumnName));
        RequireColumnName(InputColumnName, nameof(InputColumnName));
        base.Validate();
    }
}
