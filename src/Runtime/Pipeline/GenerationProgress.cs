namespace Vcut.Runtime.Pipeline;

/// <summary>The stages of one video.</summary>
public enum GenerationStage
{
    /// <summary>CLIP image embedding.</summary>
    EncodingImage,
    /// <summary>VAE encoding of the conditioning image.</summary>
    EncodingLatent,
    /// <summary>The denoising loop.</summary>
    Denoising,
    /// <summary>VAE decoding, chunk by chunk.</summary>
    Decoding,
    /// <summary>Finished.</summary>
    Done,
}

/// <summary>A progress report: the stage and the step within it (1-based; 0 when the stage starts).</summary>
/// <param name="Stage">Current stage.</param>
/// <param name="Step">Completed steps of the stage.</param>
/// <param name="TotalSteps">Steps of the stage.</param>
public readonly record struct GenerationProgress(GenerationStage Stage, int Step, int TotalSteps);

/// <summary>Where one video's time went, and how often each model ran.</summary>
/// <param name="CallDurations">The wall time of each call, per model name, in call order.</param>
/// <param name="TimeInModels">Wall time inside ONNX Runtime calls.</param>
/// <param name="TotalTime">Wall time of the whole video.</param>
/// <param name="UNetBatch">Rows per UNet call: 2 per video with classifier-free guidance, 1 without.</param>
public sealed record GenerationStatistics(IReadOnlyDictionary<string, IReadOnlyList<TimeSpan>> CallDurations, TimeSpan TimeInModels, TimeSpan TotalTime, int UNetBatch)
{
    /// <summary>Calls per model name.</summary>
    public IReadOnlyDictionary<string, int> ModelCalls => CallDurations.ToDictionary(c => c.Key, c => c.Value.Count);

    /// <summary>Wall time outside ONNX Runtime calls (pre-processing, scheduler, guidance, copies).</summary>
    public TimeSpan TimeOutsideModels => TotalTime - TimeInModels;

    /// <summary><see cref="TimeOutsideModels"/> as a fraction of <see cref="TotalTime"/>.</summary>
    public double OutsideFraction => TotalTime > TimeSpan.Zero ? TimeOutsideModels / TotalTime : 0;
}

/// <summary>A generated video: frames × 3 × height × width, values in [0, 1].</summary>
/// <param name="Frames">Planar RGB frames, frame-major.</param>
/// <param name="FrameCount">Frames.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Statistics">Calls and timings.</param>
public sealed record GeneratedVideo(float[] Frames, int FrameCount, int Height, int Width, GenerationStatistics Statistics)
{
    /// <summary>The planar RGB pixels of frame <paramref name="index"/>.</summary>
    public ReadOnlyMemory<float> Frame(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, FrameCount);
        var size = 3 * Height * Width;
        return Frames.AsMemory(index * size, size);
    }
}
