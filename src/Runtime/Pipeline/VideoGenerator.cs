using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Rewriting;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Randomness;
using Vcut.Runtime.Scheduling;
using Vcut.Runtime.Sessions;

namespace Vcut.Runtime.Pipeline;

/// <summary>
/// SVD image-to-video (spec §7) on ONNX Runtime. Create one per model directory and reuse it: the sessions are
/// created once; each video allocates its buffers once and reuses them at every step. Safe to call from
/// several threads at once (each call has its own buffers; the sessions are shared).
/// </summary>
public sealed class VideoGenerator : IDisposable
{
    private readonly SvdSessions _sessions;

    private VideoGenerator(SvdSessions sessions) => _sessions = sessions;

    /// <summary>The embedded default model (the tiny preset with seeded weights), shipped next to the assembly.</summary>
    public static string DefaultModelDirectory => Path.Combine(AppContext.BaseDirectory, "models", "tiny");

    /// <summary>The model directory's manifest.</summary>
    public ModelManifest Manifest => _sessions.Manifest;

    /// <summary>Where the models run.</summary>
    public ExecutionDevice Device => _sessions.Device;

    /// <summary>The VCUT mode the UNet runs in.</summary>
    public VcutMode Vcut => _sessions.Vcut;

    /// <summary>What the in-memory VCUT rewrite found, when one was made at <see cref="Open"/>.</summary>
    public RewriteReport? Rewrite => _sessions.Rewrite;

    /// <summary>
    /// Opens a model directory (the embedded default when <paramref name="modelDirectory"/> is null). With
    /// <paramref name="vcut"/> set, a directory of the original UNet is rewritten in memory for that VCUT mode;
    /// null keeps the directory's own mode.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">A model is missing or does not match the pipeline's contract.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for, cannot start, and CPU fallback is off; or an impossible VCUT mode.</exception>
    public static VideoGenerator Open(string? modelDirectory = null, ExecutionOptions? execution = null, VcutMode? vcut = null) =>
        new(SvdSessions.Open(modelDirectory ?? DefaultModelDirectory, execution, vcut));

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
        var shape = VideoShape.Resolve(Manifest, options);
        CheckMemory(shape, options);
        using var calls = new ModelCallRecorder(_sessions, cancellationToken);

        progress?.Report(new GenerationProgress(GenerationStage.EncodingImage, 0, 1));
        var embedding = EncodeImage(image, calls);
        progress?.Report(new GenerationProgress(GenerationStage.EncodingImage, 1, 1));

        var random = new GaussianRandom(options.Seed);
        progress?.Report(new GenerationProgress(GenerationStage.EncodingLatent, 0, 1));
        var conditioning = EncodeConditioningLatent(image, shape, options.NoiseAugStrength, random, calls);
        progress?.Report(new GenerationProgress(GenerationStage.EncodingLatent, 1, 1));

        var latents = Denoise(embedding, conditioning, shape, options, random, progress, calls);
        var frames = Decode(latents, shape, options.DecodeChunkSize ?? shape.Frames, progress, calls);
        progress?.Report(new GenerationProgress(GenerationStage.Done, 1, 1));
        return new GeneratedVideo(frames, shape.Frames, shape.Height, shape.Width, calls.Statistics());
    }

    /// <summary>The estimated peak memory of a video with these options (see <see cref="MemoryEstimate"/>).</summary>
    public MemoryEstimate EstimateMemory(VideoGenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var shape = VideoShape.Resolve(Manifest, options);
        return MemoryEstimate.For(Manifest.Architecture, Manifest.Attention, _sessions.ModelBytes,
            shape.Frames, shape.Height, shape.Width, options.GuidanceEnabled, options.DecodeChunkSize ?? shape.Frames);
    }

    private void CheckMemory(VideoShape shape, VideoGenerationOptions options)
    {
        if (Device != ExecutionDevice.Cpu)
        {
            return; // GPU memory is ONNX Runtime's arena on the device; its errors are already explicit.
        }
        var budget = _sessions.Execution.MemoryBudgetBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var estimate = EstimateMemory(options);
        if (estimate.TotalBytes > budget)
        {
            throw new InsufficientMemoryException(
                $"A video of {shape.Frames} frames at {shape.Width}×{shape.Height} needs {estimate}, more than the " +
                $"{budget / (double)(1L << 30):F2} GiB available. Use fewer frames, a smaller size or a smaller decode chunk size.");
        }
    }

    private float[] EncodeImage(RgbImage image, ModelCallRecorder calls)
    {
        var size = ClipImagePreprocessor.Size;
        using var pixels = new TensorBuffer(1, 3, size, size);
        ClipImagePreprocessor.Preprocess(image, pixels.Span);
        using var embeds = new TensorBuffer(1, Manifest.Architecture.ImageEncoder.ProjectionDim);
        calls.Run(ModelNames.ImageEncoder, ["pixel_values"], [pixels.Value], ["image_embeds"], [embeds.Value]);
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
        calls.Run(ModelNames.VaeEncoder, ["sample"], [sample.Value], ["latent_sample"], [latent.Value]);
        return latent.Data;
    }

    private float[] Denoise(float[] embedding, float[] conditioning, VideoShape shape, VideoGenerationOptions options,
        GaussianRandom random, IProgress<GenerationProgress>? progress, ModelCallRecorder calls)
    {
        var rows = options.GuidanceEnabled ? 2 : 1; // with guidance: row 0 unconditional (zeros), row 1 conditional
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
        using var context = new TensorBuffer(rows, 1, embedding.Length);
        using var constants = new DisposableList<TensorBuffer>();
        using var timeIds = new TensorBuffer(rows, 3);
        using var velocity = new TensorBuffer(rows, frames, channels, shape.LatentHeight, shape.LatentWidth);
        var guided = rows == 2 ? new float[latents.Length] : velocity.Data;
        var guidance = new ClassifierFreeGuidance(options.MinGuidanceScale, options.MaxGuidanceScale);

        // Per-video constants, written once: the CLIP token, the added time ids and the conditioning latent in
        // channels [C, 2C) of every frame (zeros in the unconditional row).
        embedding.CopyTo(context.Span[((rows - 1) * embedding.Length)..]);
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

        List<string> inputNames = ["sample", "timestep", "added_time_ids"];
        List<OrtValue> inputs = [sample.Value, timestep.Value, timeIds.Value];
        if (Vcut == VcutMode.Off)
        {
            inputNames.Add("encoder_hidden_states");
            inputs.Add(context.Value);
        }
        else
        {
            // VCUT: every cross-attention's output is to_out(to_v(c)), the same at every step; compute the
            // constants once per video and bind them to the UNet at every step.
            var cache = _sessions[ModelNames.ConditioningCache];
            var names = cache.OutputNames.Where(_sessions[ModelNames.UNet].InputMetadata.ContainsKey).ToArray();
            foreach (var name in names)
            {
                constants.Add(new TensorBuffer(rows, cache.OutputMetadata[name].Dimensions[1]));
            }
            calls.Run(ModelNames.ConditioningCache, ["encoder_hidden_states"], [context.Value], names, constants.Select(c => c.Value).ToArray());
            inputNames.AddRange(names);
            inputs.AddRange(constants.Select(c => c.Value));
        }
        var inputNameArray = inputNames.ToArray();
        var inputArray = inputs.ToArray();
        string[] outputNames = ["out_sample"];
        OrtValue[] outputs = [velocity.Value];
        for (var step = 0; step < options.Steps; step++)
        {
            var scale = scheduler.InputScale(step);
            for (var row = 0; row < rows; row++)
            {
                for (var frame = 0; frame < frames; frame++)
                {
                    TensorPrimitives.Multiply(
                        latents.AsSpan(frame * latentFrame, latentFrame), scale,
                        sample.Span.Slice((row * frames + frame) * 2 * latentFrame, latentFrame));
                }
            }
            timestep.Span[0] = scheduler.Timesteps[step];
            calls.Run(ModelNames.UNet, inputNameArray, inputArray, outputNames, outputs);
            if (rows == 2)
            {
                guidance.Apply(velocity.Data.AsSpan(0, latents.Length), velocity.Data.AsSpan(latents.Length), guided, frames, latentFrame);
            }
            scheduler.Step(step, guided, latents);
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
            calls.Run(ModelNames.VaeDecoder, ["latent_sample", "num_frames"], [input, numFrames], ["sample"], [output]);
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

/// <summary>The resolved sizes of one video.</summary>
internal sealed record VideoShape(int Frames, int Height, int Width, int LatentChannels, int LatentHeight, int LatentWidth)
{
    public static VideoShape Resolve(ModelManifest manifest, VideoGenerationOptions options)
    {
        var frames = options.Frames ?? manifest.DefaultFrames;
        var height = options.Height ?? manifest.DefaultHeight;
        var width = options.Width ?? manifest.DefaultWidth;
        var factor = manifest.Architecture.Vae.DownscaleFactor;
        if (height % factor != 0 || width % factor != 0)
        {
            throw new ArgumentException($"Invalid video options: {width}×{height} must be multiples of {factor}, the VAE's downscale factor.");
        }
        return new VideoShape(frames, height, width, manifest.Architecture.Vae.LatentChannels, height / factor, width / factor);
    }
}
