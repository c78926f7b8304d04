using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.StepCache;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Randomness;
using Vcut.Runtime.Scheduling;
using Vcut.Runtime.Sessions;

namespace Vcut.Runtime.Pipeline;

/// <summary>
/// SVD image-to-video (docs/svd.md §7) on ONNX Runtime. Create one per model directory and reuse it: the sessions are
/// created once; each video allocates its buffers once and reuses them at every step. Safe to call from
/// several threads at once (each call has its own buffers; the sessions are shared).
/// </summary>
public sealed class VideoGenerator : IDisposable
{
    private readonly SvdSessions _sessions;

    private VideoGenerator(SvdSessions sessions)
    {
        _sessions = sessions;
        if (sessions.Vcut == VcutMode.Off)
        {
            CacheEntries = [new ConditioningCacheEntry(ConditioningCache.ContextName, Manifest.Architecture.ImageEncoder.ProjectionDim)];
        }
        else
        {
            // The constants the UNet takes, in the cache graph's output order.
            var cache = sessions[ModelNames.ConditioningCache];
            CacheEntries = cache.OutputNames.Where(sessions[ModelNames.UNet].InputMetadata.ContainsKey)
                .Select(name => new ConditioningCacheEntry(name, cache.OutputMetadata[name].Dimensions[1])).ToArray();
        }
    }

    /// <summary>
    /// The embedded default model: the <c>micro</c> preset trained on this project's synthetic camera clips
    /// (docs/model-card.md), shipped next to the assembly.
    /// </summary>
    public static string DefaultModelDirectory => Path.Combine(AppContext.BaseDirectory, "models", "micro");

    /// <summary>The model directory's manifest.</summary>
    public ModelManifest Manifest => _sessions.Manifest;

    /// <summary>Where the models run.</summary>
    public ExecutionDevice Device => _sessions.Device;

    /// <summary>The VCUT mode the UNet runs in.</summary>
    public VcutMode Vcut => _sessions.Vcut;

    /// <summary>What the in-memory VCUT rewrite found, when one was made at <see cref="Open"/>.</summary>
    public RewriteReport? Rewrite => _sessions.Rewrite;

    /// <summary>Where the UNet was split for step-level caching, when <see cref="Open"/> was given a branch.</summary>
    public StepCacheSplit? StepCache => _sessions.StepCache;

    /// <summary>The entries of every <see cref="ConditioningCache"/> this generator computes and consumes, in order.</summary>
    public IReadOnlyList<ConditioningCacheEntry> CacheEntries { get; }

    /// <summary>
    /// Opens a model directory (the embedded default when <paramref name="modelDirectory"/> is null). With
    /// <paramref name="vcut"/> set, a directory of the original UNet is rewritten in memory for that VCUT mode;
    /// null keeps the directory's own mode. With <paramref name="stepCacheBranch"/> set, the UNet is also split for
    /// step-level caching: on the steps between full ones (<see cref="VideoGenerationOptions.StepCacheInterval"/>) only
    /// the outer <paramref name="stepCacheBranch"/> resolution levels run (1 = the outermost only).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">A model is missing or does not match the pipeline's contract.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for, cannot start, and CPU fallback is off; or an impossible VCUT mode.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A step-cache branch the UNet does not have (the message gives the range).</exception>
    public static VideoGenerator Open(string? modelDirectory = null, ExecutionOptions? execution = null, VcutMode? vcut = null, int? stepCacheBranch = null) =>
        new(SvdSessions.Open(modelDirectory ?? DefaultModelDirectory, execution, vcut, stepCacheBranch));

    /// <summary>
    /// The shape of a video of <paramref name="options"/> on this generator's model and VCUT mode (see
    /// <see cref="VideoShape.Resolve"/>); the options are not validated here.
    /// </summary>
    /// <exception cref="ArgumentException">A size the model cannot take.</exception>
    public VideoShape ShapeOf(VideoGenerationOptions options) => VideoShape.Resolve(Manifest, options, Vcut, _sessions.Directory);

    /// <summary>Generates a video from <paramref name="image"/> on a worker thread.</summary>
    public Task<GeneratedVideo> GenerateAsync(RgbImage image, VideoGenerationOptions? options = null,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(image, options, progress, cancellationToken), cancellationToken);

    /// <summary>Generates a video from <paramref name="image"/> on the calling thread.</summary>
    /// <exception cref="ArgumentException">Invalid options (named in the message).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the running model call is terminated.</exception>
    public GeneratedVideo Generate(RgbImage image, VideoGenerationOptions? options = null,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        options ??= new VideoGenerationOptions();
        options.Validate();
        var shape = ShapeOf(options);
        CheckMemory(shape, options, (long)image.Width * image.Height);
        using var calls = new ModelCallRecorder(_sessions, cancellationToken);

        progress?.Report(new GenerationProgress(GenerationStage.EncodingImage, 0, 1));
        var embedding = EncodeImage(image, calls);
        progress?.Report(new GenerationProgress(GenerationStage.EncodingImage, 1, 1));

        var random = new GaussianRandom(options.Seed);
        progress?.Report(new GenerationProgress(GenerationStage.EncodingLatent, 0, 1));
        var conditioning = EncodeConditioningLatent(image, shape, options.NoiseAugStrength, random, calls);
        progress?.Report(new GenerationProgress(GenerationStage.EncodingLatent, 1, 1));

        var cache = ComputeCache(embedding, shape.GuidanceRows, calls);
        var latents = Denoise(cache, conditioning, shape, options, random, progress, calls);
        var frames = Decode(latents, shape, options.DecodeChunkSize ?? shape.Frames, progress, calls);
        progress?.Report(new GenerationProgress(GenerationStage.Done, 1, 1));
        return new GeneratedVideo(frames, shape.Frames, shape.Height, shape.Width, calls.Statistics());
    }

    // The stages of Generate, one by one: chained with the same options they give the same video, bit for bit.

    /// <summary>
    /// Stage 1 of <see cref="Generate"/>: the CLIP image embedding of <paramref name="image"/>
    /// (<c>ProjectionDim</c> values, docs/svd.md §7 steps 1–2).
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; the running model call is terminated.</exception>
    public float[] EncodeImage(RgbImage image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var calls = new ModelCallRecorder(_sessions, cancellationToken);
        return EncodeImage(image, calls);
    }

    /// <summary>
    /// Stage 2 of <see cref="Generate"/>: the VAE latent of the conditioning image (latent channels × H/8 × W/8, docs/svd.md §7
    /// step 3), with the noise augmentation drawn first from the stream of <see cref="VideoGenerationOptions.Seed"/>, as
    /// <see cref="Generate"/> draws it.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options (named in the message).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the running model call is terminated.</exception>
    public float[] EncodeConditioningLatent(RgbImage image, VideoGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        options = Validated(options);
        var shape = ShapeOf(options);
        using var calls = new ModelCallRecorder(_sessions, cancellationToken);
        return EncodeConditioningLatent(image, shape, options.NoiseAugStrength, new GaussianRandom(options.Seed), calls);
    }

    /// <summary>
    /// Stage 3 of <see cref="Generate"/>: what the UNet is conditioned on, from the CLIP <paramref name="embedding"/>:
    /// in a VCUT mode the cross-attention constants (one conditioning-cache call), with VCUT off the context.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, or an embedding of the wrong length.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the running model call is terminated.</exception>
    public ConditioningCache ComputeCache(float[] embedding, VideoGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        options = Validated(options);
        RequireLength(embedding, Manifest.Architecture.ImageEncoder.ProjectionDim, "the image embedding", "the encoder's projection width");
        using var calls = new ModelCallRecorder(_sessions, cancellationToken);
        return ComputeCache(embedding, options.GuidanceRows, calls);
    }

    /// <summary>
    /// Stage 4 of <see cref="Generate"/>: the denoising loop (docs/svd.md §7 steps 4–6), from the conditioning
    /// <paramref name="cache"/> and the <paramref name="conditioningLatent"/>, to the video latents (frames × latent
    /// channels × H/8 × W/8, not yet divided by the VAE scaling factor). The initial latents continue the stream of
    /// <see cref="VideoGenerationOptions.Seed"/> after the conditioning image's noise, as in <see cref="Generate"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, an input of the wrong length, or a cache of another VCUT mode or guidance.</exception>
    /// <exception cref="InsufficientMemoryException">The video's estimated memory exceeds the budget.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the running model call is terminated.</exception>
    public float[] Denoise(ConditioningCache cache, float[] conditioningLatent, VideoGenerationOptions? options = null,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(conditioningLatent);
        options = Validated(options);
        var shape = ShapeOf(options);
        RequireLength(conditioningLatent, shape.LatentChannels * shape.LatentHeight * shape.LatentWidth, "the conditioning latent",
            $"{shape.LatentChannels}×{shape.LatentHeight}×{shape.LatentWidth} for {shape.Width}×{shape.Height}");
        CheckMemory(shape, options, 0);
        var random = new GaussianRandom(options.Seed);
        if (options.InitialLatents is null)
        {
            random.Fill(new float[3 * shape.Height * shape.Width]); // the conditioning image's noise comes first in the stream
        }
        using var calls = new ModelCallRecorder(_sessions, cancellationToken);
        return Denoise(cache, conditioningLatent, shape, options, random, progress, calls);
    }

    /// <summary>
    /// Stage 5 of <see cref="Generate"/>: decodes video <paramref name="latents"/> (as <see cref="Denoise(ConditioningCache, float[], VideoGenerationOptions?, IProgress{GenerationProgress}?, CancellationToken)"/> returns
    /// them; not modified) into frames in [0, 1], in chunks of <see cref="VideoGenerationOptions.DecodeChunkSize"/> (docs/svd.md §7 step 7).
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options or latents of the wrong length.</exception>
    /// <exception cref="InsufficientMemoryException">The video's estimated memory exceeds the budget.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the running model call is terminated.</exception>
    public GeneratedVideo Decode(float[] latents, VideoGenerationOptions? options = null,
        IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(latents);
        options = Validated(options);
        var shape = ShapeOf(options);
        RequireLength(latents, shape.Frames * shape.LatentChannels * shape.LatentHeight * shape.LatentWidth, "the video latents",
            $"{shape.Frames}×{shape.LatentChannels}×{shape.LatentHeight}×{shape.LatentWidth}");
        CheckMemory(shape, options, 0);
        using var calls = new ModelCallRecorder(_sessions, cancellationToken);
        var frames = Decode((float[])latents.Clone(), shape, options.DecodeChunkSize ?? shape.Frames, progress, calls);
        return new GeneratedVideo(frames, shape.Frames, shape.Height, shape.Width, calls.Statistics());
    }

    private static VideoGenerationOptions Validated(VideoGenerationOptions? options)
    {
        options ??= new VideoGenerationOptions();
        options.Validate();
        return options;
    }

    private static void RequireLength(float[] values, int expected, string what, string because)
    {
        if (values.Length != expected)
        {
            throw new ArgumentException($"{char.ToUpperInvariant(what[0])}{what[1..]} has {values.Length} values, expected {expected} ({because}).");
        }
    }

    /// <summary>The estimated peak memory of a video with these options (see <see cref="MemoryEstimate"/>).</summary>
    public MemoryEstimate EstimateMemory(VideoGenerationOptions options) => EstimateMemory(options, 0);

    /// <summary>
    /// The estimated peak memory of a video with these options made from a picture of <paramref name="inputPixels"/>
    /// pixels, whose decoding is counted too (see <see cref="MemoryEstimate"/>).
    /// </summary>
    public MemoryEstimate EstimateMemory(VideoGenerationOptions options, long inputPixels)
    {
        ArgumentNullException.ThrowIfNull(options);
        var shape = ShapeOf(options);
        return MemoryEstimate.For(Manifest.Architecture, Manifest.Attention, _sessions.ModelBytes,
            shape.Frames, shape.Height, shape.Width, options.GuidanceEnabled, options.DecodeChunkSize ?? shape.Frames, inputPixels);
    }

    /// <summary>
    /// Checks before any work that a video with these options, from a picture of <paramref name="inputWidth"/> ×
    /// <paramref name="inputHeight"/> pixels (read with <see cref="RgbImage.ReadSize"/>, before decoding it), can be made:
    /// valid options, buffers within .NET's array limit, and on the CPU an estimated peak within the memory budget
    /// (<see cref="ExecutionOptions.MemoryBudgetBytes"/>, or the memory available to the process).
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, or a video too large for one array.</exception>
    /// <exception cref="InsufficientMemoryException">The estimate exceeds the budget; the message names the sizes and the budget.</exception>
    public void EnsureFits(VideoGenerationOptions options, int inputWidth = 0, int inputHeight = 0)
    {
        options = Validated(options);
        ArgumentOutOfRangeException.ThrowIfNegative(inputWidth);
        ArgumentOutOfRangeException.ThrowIfNegative(inputHeight);
        CheckMemory(ShapeOf(options), options, (long)inputWidth * inputHeight);
    }

    /// <summary>
    /// The shape initial latents must have for these options: (frames, latent channels, height / f, width / f), f the
    /// VAE's downscale factor (8 in SVD).
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    public long[] LatentShape(VideoGenerationOptions options)
    {
        var shape = ShapeOf(Validated(options));
        return [shape.Frames, shape.LatentChannels, shape.LatentHeight, shape.LatentWidth];
    }

    private void CheckMemory(VideoShape shape, VideoGenerationOptions options, long inputPixels)
    {
        if (Device != ExecutionDevice.Cpu)
        {
            return; // GPU memory is ONNX Runtime's arena on the device; its errors are already explicit.
        }
        var budget = _sessions.Execution.MemoryBudgetBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var estimate = EstimateMemory(options, inputPixels);
        if (estimate.TotalBytes > budget)
        {
            var source = inputPixels > 0 ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $" from a {inputPixels / 1e6:0.#}-megapixel picture") : "";
            throw new InsufficientMemoryException(
                $"A video of {shape.Frames} frames at {shape.Width}×{shape.Height}{source} needs {estimate}, more than the " +
                $"{budget / (double)(1L << 30):F2} GiB available (ExecutionOptions.MemoryBudgetBytes, else the memory this process may use). " +
                "Use fewer frames, a smaller size, a smaller decode chunk size or a smaller picture.");
        }
    }

    private float[] EncodeImage(RgbImage image, ModelCallRecorder calls)
    {
        var size = ClipImagePreprocessor.Size;
        using var pixels = new TensorBuffer(1, 3, size, size);
        ClipImagePreprocessor.Preprocess(image, pixels.Span);
        using var embeds = new TensorBuffer(1, Manifest.Architecture.ImageEncoder.ProjectionDim);
        calls.Run(ModelNames.ImageEncoder, [GraphPorts.PixelValues], [pixels.Value], [GraphPorts.ImageEmbeds], [embeds.Value]);
        return embeds.Data;
    }

    private float[] EncodeConditioningLatent(RgbImage image, VideoShape shape, float noiseAugStrength, GaussianRandom random, ModelCallRecorder calls)
    {
        using var sample = new TensorBuffer(1, 3, shape.Height, shape.Width);
        LanczosResizer.Resize(image, shape.Width, shape.Height).Pixels.CopyTo(sample.Span);
        // [0, 1] → [−1, 1], then the noise augmentation the model was trained with.
        TensorPrimitives.Multiply(sample.Span, 2f, sample.Span);
        TensorPrimitives.Add(sample.Span, -1f, sample.Span);
        var noise = new float[sample.Data.Length];
        random.Fill(noise);
        TensorPrimitives.MultiplyAdd(noise, noiseAugStrength, sample.Span, sample.Span);
        using var latent = new TensorBuffer(1, shape.LatentChannels, shape.LatentHeight, shape.LatentWidth);
        calls.Run(ModelNames.VaeEncoder, [GraphPorts.Sample], [sample.Value], [GraphPorts.LatentSample], [latent.Value]);
        return latent.Data;
    }

    private ConditioningCache ComputeCache(float[] embedding, int rows, ModelCallRecorder calls)
    {
        // The CLIP context: with guidance row 0 is unconditional (zeros), row 1 conditional.
        var context = new float[rows * embedding.Length];
        embedding.CopyTo(context, (rows - 1) * embedding.Length);
        if (Vcut == VcutMode.Off)
        {
            return new ConditioningCache(Vcut, rows, [new ConditioningCacheEntry(ConditioningCache.ContextName, embedding.Length)], context);
        }
        // VCUT: every cross-attention's output is to_out(to_v(c)), the same at every step; compute the constants once
        // per video, each into its own slice of one array.
        var values = new float[rows * CacheEntries.Sum(e => e.Width)];
        using var contextValue = OrtValue.CreateTensorValueFromMemory(context, [rows, 1, embedding.Length]);
        using var outputs = Bind(values, rows, CacheEntries, contextShape: false);
        calls.Run(ModelNames.ConditioningCache, [ConditioningCache.ContextName], [contextValue],
            CacheEntries.Select(e => e.Name).ToArray(), outputs.ToArray());
        return new ConditioningCache(Vcut, rows, CacheEntries, values);
    }

    /// <summary>
    /// An <see cref="OrtValue"/> over each entry's slice of <paramref name="values"/>, without copying: all
    /// <paramref name="rows"/> rows, or only row <paramref name="onlyRow"/>.
    /// </summary>
    private static DisposableList<OrtValue> Bind(float[] values, int rows, IReadOnlyList<ConditioningCacheEntry> entries, bool contextShape,
        int? onlyRow = null)
    {
        var bound = new DisposableList<OrtValue>();
        var offset = 0;
        foreach (var entry in entries)
        {
            var (start, count) = onlyRow is { } row ? (offset + row * entry.Width, 1) : (offset, rows);
            long[] shape = contextShape ? [count, 1, entry.Width] : [count, entry.Width];
            bound.Add(OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, values.AsMemory(start, count * entry.Width), shape));
            offset += rows * entry.Width;
        }
        return bound;
    }

    private float[] Denoise(ConditioningCache cache, float[] conditioning, VideoShape shape, VideoGenerationOptions options,
        GaussianRandom random, IProgress<GenerationProgress>? progress, ModelCallRecorder calls)
    {
        var rows = shape.GuidanceRows; // with guidance: row 0 unconditional (zeros), row 1 conditional
        if (cache.Mode != Vcut || cache.Rows != rows || !cache.Entries.SequenceEqual(CacheEntries)
            || cache.Values.Length != rows * cache.Entries.Sum(e => e.Width))
        {
            throw new ArgumentException(
                $"The conditioning cache was computed for VCUT '{cache.Mode}' with {cache.Rows} row(s) ({cache.Values.Length} values); " +
                $"this generator runs VCUT '{Vcut}' and these options need {rows} row(s) (guidance {(rows == 2 ? "on" : "off")}).");
        }
        var frames = shape.Frames;
        var channels = shape.LatentChannels;
        var plane = shape.LatentHeight * shape.LatentWidth;
        var latentFrame = channels * plane;
        var scheduler = new EulerKarrasScheduler(options.Steps);
        calls.UNetBatch = rows;

        var latents = new float[frames * latentFrame];
        if (options.InitialLatents is { } given)
        {
            if (given.Length != latents.Length)
            {
                throw new ArgumentException(
                    $"Invalid video options: initial latents have {given.Length} values, expected {frames}×{channels}×{shape.LatentHeight}×{shape.LatentWidth} = {latents.Length}.");
            }
            given.CopyTo(latents, 0);
        }
        else
        {
            random.Fill(latents);
        }
        TensorPrimitives.Multiply(latents, scheduler.InitNoiseSigma, latents);

        using var sample = new TensorBuffer(rows, frames, 2 * channels, shape.LatentHeight, shape.LatentWidth);
        using var timestep = new TensorBuffer(1);
        using var conditioningValues = Bind(cache.Values, rows, cache.Entries, contextShape: Vcut == VcutMode.Off);
        using var timeIds = new TensorBuffer(rows, 3);
        using var velocity = new TensorBuffer(rows, frames, channels, shape.LatentHeight, shape.LatentWidth);
        var guided = rows == 2 ? new float[latents.Length] : velocity.Data;
        var guidance = new ClassifierFreeGuidance(options.MinGuidanceScale, options.MaxGuidanceScale);

        // Per-video constants, written once: the added time ids and the conditioning latent in channels [C, 2C) of
        // every frame (zeros in the unconditional row); the cache (or the CLIP context) is bound as it is.
        for (var row = 0; row < rows; row++)
        {
            timeIds.Span[row * 3] = options.Fps - 1;
            timeIds.Span[row * 3 + 1] = options.MotionBucketId;
            timeIds.Span[row * 3 + 2] = options.NoiseAugStrength;
        }
        var conditionalRow = rows - 1;
        for (var frame = 0; frame < frames; frame++)
        {
            conditioning.CopyTo(sample.Span.Slice(((conditionalRow * frames + frame) * 2 + 1) * latentFrame, latentFrame));
        }

        var interval = options.StepCacheInterval;
        if (interval > 1 && StepCache is null)
        {
            throw new ArgumentException(
                $"Invalid video options: step cache interval = {interval} needs a generator opened with a step-cache branch " +
                "(VideoGenerator.Open(…, stepCacheBranch: 1) or the CLI's --step-cache-branch); this one has no shallow UNet.");
        }
        var guidedSteps = options.GuidedSteps;
        var unetFrame = 2 * latentFrame;
        var memory = OrtMemoryInfo.DefaultInstance;

        // The UNet's ports as the manifest records them (an imported UNet may name its output otherwise and take float16):
        // float16 ports get their own buffers, allocated here once per video and converted at every call.
        var ports = Manifest.Ports;
        using var boundary = new Float16Boundary();
        static bool Half(UNetPort port) => port.ElementType == PortElementType.Float16;
        OrtValue Port(UNetPort port, TensorBuffer buffer, long[] portShape, bool perStep) =>
            Half(port) ? boundary.Input(buffer.Data, portShape, perStep) : buffer.Value;
        var halfPorts = Half(ports.Sample) || Half(ports.Timestep) || Half(ports.AddedTimeIds) || Half(ports.Output)
            || (Vcut == VcutMode.Off && Half(ports.EncoderHiddenStates));
        if (halfPorts && (interval > 1 || (rows == 2 && (guidedSteps < options.Steps || options.GuidanceInterval > 1))))
        {
            throw new ArgumentException(
                "Invalid video options: step caching and guidance economy need a UNet with float32 ports; this model's UNet takes or " +
                "gives float16 (its manifest's unetPorts). Use step cache interval 1, guidance step fraction 1 and guidance interval 1 with it.");
        }
        long[] sampleShape = [rows, frames, 2 * channels, shape.LatentHeight, shape.LatentWidth];
        var contextValues = Vcut == VcutMode.Off && Half(ports.EncoderHiddenStates)
            ? [boundary.Input(cache.Values, [rows, 1, cache.Entries[0].Width], perStep: false)]
            : conditioningValues.ToList();

        // Two bindings of the same buffers: every row, and the conditional row alone (the steps after guidance ends).
        string[] names = [ports.Sample.Name, ports.Timestep.Name, ports.AddedTimeIds.Name,
            .. cache.Entries.Select(e => Vcut == VcutMode.Off ? ports.EncoderHiddenStates.Name : e.Name)];
        OrtValue[] allRows = [Port(ports.Sample, sample, sampleShape, perStep: true), Port(ports.Timestep, timestep, [1], perStep: true),
            Port(ports.AddedTimeIds, timeIds, [rows, GraphPorts.AddedTimeIdCount], perStep: false), .. contextValues];
        var velocityValue = Half(ports.Output)
            ? boundary.Output(velocity.Data, [rows, frames, channels, shape.LatentHeight, shape.LatentWidth])
            : velocity.Value;
        using var conditionalValues = new DisposableList<OrtValue>();
        OrtValue[] conditionalOnly = allRows;
        var conditionalVelocity = velocityValue;
        if (rows == 2 && !halfPorts)
        {
            conditionalValues.Add(OrtValue.CreateTensorValueFromMemory(memory, sample.Data.AsMemory(frames * unetFrame, frames * unetFrame),
                [1, frames, 2 * channels, shape.LatentHeight, shape.LatentWidth]));
            conditionalValues.Add(OrtValue.CreateTensorValueFromMemory(memory, timeIds.Data.AsMemory(3, 3), [1, 3]));
            conditionalValues.Add(OrtValue.CreateTensorValueFromMemory(memory, velocity.Data.AsMemory(latents.Length, latents.Length),
                [1, frames, channels, shape.LatentHeight, shape.LatentWidth]));
            using var conditionalCache = Bind(cache.Values, rows, cache.Entries, contextShape: Vcut == VcutMode.Off, onlyRow: 1);
            conditionalValues.AddRange(conditionalCache);
            conditionalCache.Clear(); // now owned by conditionalValues
            conditionalOnly = [conditionalValues[0], timestep.Value, conditionalValues[1], .. conditionalValues.Skip(3)];
            conditionalVelocity = conditionalValues[2];
        }

        // Step-level caching: the deep features of the last full step, in a buffer sized by the first full step.
        using var features = new DisposableList<OrtValue>(); // [every row, conditional row]
        string[] unetOutputs = interval > 1 ? [ports.Output.Name, StepCacheSplitter.FeaturesName] : [ports.Output.Name];
        string[] shallowNames = [.. names, StepCacheSplitter.FeaturesName];
        string[] velocityOnly = [ports.Output.Name];
        // Guidance reuse: conditional − unconditional prediction of the last step that ran both rows.
        var guidanceDifference = rows == 2 && options.GuidanceInterval > 1 ? new float[latents.Length] : null;

        for (var step = 0; step < options.Steps; step++)
        {
            var guidedStep = rows == 2 && step < guidedSteps;
            var bothRows = rows == 1 || options.RunsUnconditionalRow(step);
            var inputs = bothRows ? allRows : conditionalOnly;
            var velocityOut = bothRows ? velocityValue : conditionalVelocity;
            var scale = scheduler.InputScale(step);
            for (var row = bothRows ? 0 : rows - 1; row < rows; row++)
            {
                for (var frame = 0; frame < frames; frame++)
                {
                    TensorPrimitives.Multiply(
                        latents.AsSpan(frame * latentFrame, latentFrame), scale,
                        sample.Span.Slice((row * frames + frame) * unetFrame, latentFrame));
                }
            }
            timestep.Span[0] = scheduler.Timesteps[step];
            if (interval == 1)
            {
                boundary.BeforeCall();
                calls.Run(ModelNames.UNet, names, inputs, velocityOnly, [velocityOut]);
                boundary.AfterCall();
            }
            else if (features.Count == 0)
            {
                // The first step is full and guided: ONNX Runtime sizes the features once, then they live in one buffer.
                using var results = calls.RunAllocating(ModelNames.UNet, names, inputs, unetOutputs);
                results[0].GetTensorDataAsSpan<float>().CopyTo(velocity.Span);
                var featureShape = results[1].GetTensorTypeAndShape().Shape;
                var featureData = results[1].GetTensorDataAsSpan<float>().ToArray();
                features.Add(OrtValue.CreateTensorValueFromMemory(featureData, featureShape));
                var perRow = featureData.Length / rows;
                features.Add(OrtValue.CreateTensorValueFromMemory(memory, featureData.AsMemory(featureData.Length - perRow, perRow),
                    [featureShape[0] / rows, .. featureShape[1..]]));
            }
            else
            {
                var cached = bothRows ? features[0] : features[1];
                if (step % interval == 0)
                {
                    calls.Run(ModelNames.UNet, names, inputs, unetOutputs, [velocityOut, cached]);
                }
                else
                {
                    calls.Run(StepCacheSplitter.ShallowModelName, shallowNames, [.. inputs, cached], velocityOnly, [velocityOut]);
                }
            }
            if (guidedStep)
            {
                var unconditional = velocity.Data.AsSpan(0, latents.Length);
                var conditional = velocity.Data.AsSpan(latents.Length);
                if (guidanceDifference is not null)
                {
                    if (bothRows)
                    {
                        TensorPrimitives.Subtract(conditional, unconditional, guidanceDifference);
                    }
                    else
                    {
                        // The unconditional prediction the last difference implies: guided = cond + (scale − 1)·difference.
                        TensorPrimitives.Subtract(conditional, guidanceDifference, unconditional);
                    }
                }
                guidance.Apply(unconditional, conditional, guided, frames, latentFrame);
                scheduler.Step(step, guided, latents);
            }
            else
            {
                scheduler.Step(step, velocity.Data.AsSpan(rows == 2 ? latents.Length : 0, latents.Length), latents);
            }
            progress?.Report(new GenerationProgress(GenerationStage.Denoising, step + 1, options.Steps));
        }
        return latents;
    }

    private float[] Decode(float[] latents, VideoShape shape, int chunkSize, IProgress<GenerationProgress>? progress, ModelCallRecorder calls)
    {
        TensorPrimitives.Multiply(latents, 1f / Manifest.Architecture.Vae.ScalingFactor, latents);
        var latentFrame = shape.LatentChannels * shape.LatentHeight * shape.LatentWidth;
        var pixelFrame = 3 * shape.Height * shape.Width;
        var frames = new float[shape.Frames * pixelFrame];
        var chunks = (shape.Frames + chunkSize - 1) / chunkSize;
        var memory = OrtMemoryInfo.DefaultInstance;
        for (var chunk = 0; chunk < chunks; chunk++)
        {
            var start = chunk * chunkSize;
            var count = Math.Min(chunkSize, shape.Frames - start);
            using var input = OrtValue.CreateTensorValueFromMemory(memory, latents.AsMemory(start * latentFrame, count * latentFrame),
                [count, shape.LatentChannels, shape.LatentHeight, shape.LatentWidth]);
            using var numFrames = OrtValue.CreateTensorValueFromMemory(new long[] { count }, []);
            using var output = OrtValue.CreateTensorValueFromMemory(memory, frames.AsMemory(start * pixelFrame, count * pixelFrame),
                [count, 3, shape.Height, shape.Width]);
            calls.Run(ModelNames.VaeDecoder, [GraphPorts.LatentSample, GraphPorts.NumFrames], [input, numFrames], [GraphPorts.Sample], [output]);
            progress?.Report(new GenerationProgress(GenerationStage.Decoding, chunk + 1, chunks));
        }
        // x/2 + 0.5, clamped to [0, 1].
        TensorPrimitives.Multiply(frames, 0.5f, frames);
        TensorPrimitives.Add(frames, 0.5f, frames);
        TensorPrimitives.Max(frames, 0f, frames);
        TensorPrimitives.Min(frames, 1f, frames);
        return frames;
    }

    /// <inheritdoc />
    public void Dispose() => _sessions.Dispose();
}

/// <summary>A list that disposes its items with itself.</summary>
internal sealed class DisposableList<T> : List<T>, IDisposable where T : IDisposable
{
    public void Dispose()
    {
        foreach (var item in this)
        {
            item.Dispose();
        }
    }
}
