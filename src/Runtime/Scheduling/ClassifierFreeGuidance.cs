using System.Numerics.Tensors;

namespace Vcut.Runtime.Scheduling;

/// <summary>
/// SVD's frame-wise classifier-free guidance (docs/svd.md §7 steps 2 and 6): the guidance scale rises linearly over the
/// frames from <see cref="MinScale"/> to <see cref="MaxScale"/>, and each frame's prediction is
/// v = v_u + g_f·(v_c − v_u).
/// </summary>
public sealed class ClassifierFreeGuidance
{
    /// <summary>Creates guidance with scales from <paramref name="minScale"/> (first frame) to <paramref name="maxScale"/> (last frame).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A scale is not a finite number.</exception>
    public ClassifierFreeGuidance(float minScale = 1f, float maxScale = 3f)
    {
        if (!float.IsFinite(minScale))
        {
            throw new ArgumentOutOfRangeException(nameof(minScale), minScale, "The guidance scale must be a finite number.");
        }
        if (!float.IsFinite(maxScale))
        {
            throw new ArgumentOutOfRangeException(nameof(maxScale), maxScale, "The guidance scale must be a finite number.");
        }
        MinScale = minScale;
        MaxScale = maxScale;
    }

    /// <summary>The first frame's guidance scale (SVD's default 1).</summary>
    public float MinScale { get; }

    /// <summary>The last frame's guidance scale (SVD's default 3).</summary>
    public float MaxScale { get; }

    /// <summary>
    /// Whether the pipeline runs the unconditional branch at all: only when <see cref="MaxScale"/> &gt; 1, as diffusers
    /// decides. Otherwise the UNet batch holds just the conditional rows and no guidance is applied.
    /// </summary>
    public bool IsEnabled => MaxScale > 1f;

    /// <summary>The scale of each of <paramref name="frames"/> frames: linspace(min, max, frames); one frame gets min.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="frames"/> is below 1.</exception>
    public float[] FrameScales(int frames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        var scales = new float[frames];
        for (var f = 0; f < frames; f++)
        {
            scales[f] = FrameScale(f, frames);
        }
        return scales;
    }

    /// <summary>
    /// Guides one video: <paramref name="unconditional"/> and <paramref name="conditional"/> are its (F, 4, h, w)
    /// predictions, <paramref name="perFrameElements"/> = 4·h·w. <paramref name="result"/> may be the same span as
    /// <paramref name="conditional"/> but must not overlap <paramref name="unconditional"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1.</exception>
    /// <exception cref="ArgumentException">A span is not frames·perFrameElements long, or the result overlaps the unconditional input.</exception>
    public void Apply(ReadOnlySpan<float> unconditional, ReadOnlySpan<float> conditional, Span<float> result, int frames, int perFrameElements)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(perFrameElements, 1);
        var length = checked(frames * perFrameElements);
        RequireLength(unconditional.Length, length, nameof(unconditional));
        RequireLength(conditional.Length, length, nameof(conditional));
        RequireLength(result.Length, length, nameof(result));
        if (result.Overlaps(unconditional))
        {
            // The result is written before the unconditional values are read a second time.
            throw new ArgumentException("The result must not overlap the unconditional prediction.", nameof(result));
        }
        for (var f = 0; f < frames; f++)
        {
            var u = unconditional.Slice(f * perFrameElements, perFrameElements);
            var frameResult = result.Slice(f * perFrameElements, perFrameElements);
            TensorPrimitives.Subtract(conditional.Slice(f * perFrameElements, perFrameElements), u, frameResult);
            TensorPrimitives.MultiplyAdd(frameResult, FrameScale(f, frames), u, frameResult);
        }
    }

    /// <summary>
    /// Guides a batch of <paramref name="videos"/> videos straight from the UNet output (2B, F, 4, h, w): rows 0..B−1 are
    /// the unconditional predictions, rows B..2B−1 the conditional ones in the same order (the UNet input is
    /// concat[zeros-conditioned, conditioned]). <paramref name="result"/> receives (B, F, 4, h, w).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is below 1.</exception>
    /// <exception cref="ArgumentException">A span has the wrong length, or the result overlaps the model output.</exception>
    public void ApplyBatch(ReadOnlySpan<float> modelOutput, Span<float> result, int videos, int frames, int perFrameElements)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(videos, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(perFrameElements, 1);
        var perVideo = checked(frames * perFrameElements);
        RequireLength(modelOutput.Length, checked(2 * videos * perVideo), nameof(modelOutput));
        RequireLength(result.Length, checked(videos * perVideo), nameof(result));
        if (result.Overlaps(modelOutput))
        {
            throw new ArgumentException("The result must not overlap the model output.", nameof(result));
        }
        for (var b = 0; b < videos; b++)
        {
            Apply(modelOutput.Slice(b * perVideo, perVideo), modelOutput.Slice((videos + b) * perVideo, perVideo),
                result.Slice(b * perVideo, perVideo), frames, perFrameElements);
        }
    }

    // torch.linspace's formula: from the start for the first half, from the end for the second, so both ends are exact.
    private float FrameScale(int frame, int frames)
    {
        if (frames == 1)
        {
            return MinScale;
        }
        var step = ((double)MaxScale - MinScale) / (frames - 1);
        return (float)(frame < frames / 2 ? MinScale + frame * step : MaxScale - (frames - 1 - frame) * step);
    }

    private static void RequireLength(int actual, int expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"Expected {expected} values, got {actual}.", name);
        }
    }
}
