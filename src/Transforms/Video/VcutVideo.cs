using Microsoft.ML.Data;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Video;

namespace Vcut.MLNet;

/// <summary>
/// One video read from a video column (<c>Vector&lt;Single, F, 3, H, W&gt;</c>): its frames as ML.NET images
/// (<see cref="GetFrame"/>, <see cref="ToFrames"/>) or as a file written by the runtime's writers (<see cref="Save(string, double)"/>:
/// an animated GIF, an MP4 through ffmpeg, or a folder of PNG frames). Made by <c>data.GetVideos(column)</c>,
/// <see cref="VideoRow.ToVideo"/> or <see cref="FromColumn"/>.
/// </summary>
public sealed class VcutVideo
{
    /// <summary>Wraps planar RGB frames in [0, 1], frame-major (not copied).</summary>
    /// <param name="pixels">Frames × 3 × height × width values.</param>
    /// <param name="frameCount">Frames.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="width">Width in pixels.</param>
    /// <exception cref="ArgumentException">The sizes are not positive or do not match the number of values.</exception>
    public VcutVideo(float[] pixels, int frameCount, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (frameCount < 1 || height < 1 || width < 1)
        {
            throw new ArgumentException($"A video needs at least one frame of at least 1×1 pixels; got {frameCount} frames of {width}×{height}.");
        }
        if (pixels.LongLength != 3L * frameCount * height * width)
        {
            throw new ArgumentException($"A video of {frameCount} frames of {width}×{height} holds {3L * frameCount * height * width} values; got {pixels.LongLength}.", nameof(pixels));
        }
        Pixels = pixels;
        FrameCount = frameCount;
        Height = height;
        Width = width;
    }

    /// <summary>Planar RGB frames in [0, 1], frame-major: frames × 3 × height × width.</summary>
    public float[] Pixels { get; }

    /// <summary>Frames.</summary>
    public int FrameCount { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>
    /// The video in a row's values of a video column of type <paramref name="columnType"/> (which gives the frames and the
    /// size: <c>schema["Video"].Type</c>, <c>engine.OutputSchema["Video"].Type</c>).
    /// </summary>
    /// <param name="values">The row's values (as <c>CreateEnumerable</c> or a <c>PredictionEngine</c> give them).</param>
    /// <param name="columnType">The column's type: <c>Vector&lt;Single, F, 3, H, W&gt;</c>.</param>
    /// <exception cref="ArgumentException">The type is not a video column's, or the values do not fit it.</exception>
    public static VcutVideo FromColumn(float[] values, DataViewType columnType)
    {
        ArgumentNullException.ThrowIfNull(values);
        var (frames, height, width) = Dimensions(columnType, "the column");
        return new VcutVideo(values, frames, height, width);
    }

    /// <summary>The frames, height and width of a video column's type.</summary>
    /// <exception cref="ArgumentException">Not <c>Vector&lt;Single, F, 3, H, W&gt;</c>.</exception>
    internal static (int Frames, int Height, int Width) Dimensions(DataViewType columnType, string what)
    {
        ArgumentNullException.ThrowIfNull(columnType);
        if (columnType is not VectorDataViewType { ItemType: NumberDataViewType } vector || vector.ItemType != NumberDataViewType.Single
            || vector.Dimensions.Length != 4 || vector.Dimensions[1] != 3 || vector.Size == 0)
        {
            throw new ArgumentException($"{char.ToUpperInvariant(what[0])}{what[1..]} is {columnType}; a video column is Vector<Single, F, 3, H, W> (what GenerateVideo and DecodeVideo add).");
        }
        return (vector.Dimensions[0], vector.Dimensions[2], vector.Dimensions[3]);
    }

    /// <summary>
    /// Frame <paramref name="index"/> as an opaque <see cref="MLPixelFormat.Rgba32"/> <see cref="MLImage"/>: each value
    /// clamped to [0, 1], times 255, rounded half to even, the 8-bit pixels every video file of the runtime holds. The
    /// caller disposes it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">No such frame.</exception>
    public MLImage GetFrame(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, FrameCount);
        var plane = Height * Width;
        var planar = Pixels.AsSpan(index * 3 * plane, 3 * plane);
        var rgba = new byte[4 * plane];
        for (var i = 0; i < plane; i++)
        {
            rgba[4 * i] = ToByte(planar[i]);
            rgba[4 * i + 1] = ToByte(planar[plane + i]);
            rgba[4 * i + 2] = ToByte(planar[2 * plane + i]);
            rgba[4 * i + 3] = 255;
        }
        return MLImage.CreateFromPixels(Width, Height, MLPixelFormat.Rgba32, rgba);
    }

    /// <summary>Every frame as an <see cref="MLImage"/> (see <see cref="GetFrame"/>); the caller disposes them.</summary>
    public IReadOnlyList<MLImage> ToFrames() => Enumerable.Range(0, FrameCount).Select(GetFrame).ToArray();

    /// <summary>
    /// Writes the video to <paramref name="path"/> in the format its extension names: <c>.gif</c> an animated GIF,
    /// <c>.mp4</c> H.264 through <c>ffmpeg</c>, no extension a folder of <c>frame_000.png</c>…; written under a temporary
    /// name and renamed when complete. Returns the full path written.
    /// </summary>
    /// <param name="path">The file (or folder) to write.</param>
    /// <param name="fps">Playback frames per second (SVD's default conditioning is 7).</param>
    /// <exception cref="ArgumentException">An unknown extension.</exception>
    /// <exception cref="InvalidOperationException">MP4 without ffmpeg on <c>PATH</c>.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public string Save(string path, double fps = 7) => Save(path, new VideoWriteOptions { Fps = fps });

    /// <summary>As <see cref="Save(string, double)"/>, with the runtime's writer options (GIF dithering, ffmpeg path, MP4 quality).</summary>
    /// <param name="path">The file (or folder) to write.</param>
    /// <param name="options">How to write it.</param>
    /// <param name="cancellationToken">Stops the writing; nothing is left under the target.</param>
    /// <exception cref="ArgumentException">An unknown extension or invalid options.</exception>
    /// <exception cref="InvalidOperationException">MP4 without ffmpeg.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public string Save(string path, VideoWriteOptions options, CancellationToken cancellationToken = default) =>
        VideoFileWriter.Write(ToGeneratedVideo(), path, options, cancellationToken);

    /// <summary>The video as the runtime's <see cref="GeneratedVideo"/> (no statistics), for its other writers and tools.</summary>
    public GeneratedVideo ToGeneratedVideo() =>
        new(Pixels, FrameCount, Height, Width, new GenerationStatistics(new Dictionary<string, IReadOnlyList<TimeSpan>>(), TimeSpan.Zero, TimeSpan.Zero, 0));

    private static byte ToByte(float value) => (byte)MathF.Round(Math.Clamp(value, 0f, 1f) * 255f, MidpointRounding.ToEven);
}
