using Vcut.Runtime.Pipeline;

namespace Vcut.Runtime.Video;

/// <summary>A video's frames as 8-bit interleaved RGB, the form every encoder takes.</summary>
internal static class VideoFrames
{
    /// <summary>
    /// Writes frame <paramref name="index"/> of <paramref name="video"/> into <paramref name="rgb"/> (H·W·3 bytes, row-major
    /// R, G, B): each value clamped to [0, 1], times 255, rounded half to even, as <c>RgbImage.SavePng</c> does, so every
    /// format holds the same 8-bit pixels.
    /// </summary>
    public static void ToRgb24(GeneratedVideo video, int index, Span<byte> rgb)
    {
        var planar = video.Frame(index).Span;
        var plane = video.Width * video.Height;
        if (rgb.Length != 3 * plane)
        {
            throw new ArgumentException($"Expected a buffer of 3·{video.Height}·{video.Width} = {3 * plane} bytes, got {rgb.Length}.", nameof(rgb));
        }
        for (var i = 0; i < plane; i++)
        {
            rgb[3 * i] = ToByte(planar[i]);
            rgb[3 * i + 1] = ToByte(planar[plane + i]);
            rgb[3 * i + 2] = ToByte(planar[2 * plane + i]);
        }
    }

    /// <summary>Checks what every encoder needs of a video: at least one frame, positive sizes, the right amount of data.</summary>
    public static void Check(GeneratedVideo video)
    {
        ArgumentNullException.ThrowIfNull(video);
        if (video.FrameCount < 1 || video.Width < 1 || video.Height < 1)
        {
            throw new ArgumentException($"A video needs at least one frame of at least 1×1 pixels; got {video.FrameCount} frames of {video.Width}×{video.Height}.", nameof(video));
        }
        if (video.Frames.LongLength != 3L * video.FrameCount * video.Height * video.Width)
        {
            throw new ArgumentException(
                $"The video holds {video.Frames.LongLength} values, expected {video.FrameCount}·3·{video.Height}·{video.Width}.", nameof(video));
        }
    }

    private static byte ToByte(float value) =>
        (byte)MathF.Round(Math.Clamp(value, 0f, 1f) * 255f, MidpointRounding.ToEven);
}
