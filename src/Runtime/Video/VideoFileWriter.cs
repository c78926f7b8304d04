using Vcut.Runtime.Io;
using Vcut.Runtime.Pipeline;

namespace Vcut.Runtime.Video;

/// <summary>
/// Writes a generated video to a file whose extension chooses the format: <c>.gif</c> an animated GIF (no external
/// program), <c>.mp4</c> H.264 through <c>ffmpeg</c>, a path without extension a folder of PNG frames. Every format
/// is written under a temporary name next to the target and renamed when complete, so a crash or a cancel never
/// leaves a truncated video under the final name.
/// </summary>
public static class VideoFileWriter
{
    /// <summary>The format <paramref name="path"/> asks for.</summary>
    /// <exception cref="ArgumentException">The extension is not <c>.gif</c>, <c>.mp4</c> or none.</exception>
    public static VideoFormat FormatOf(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (Path.EndsInDirectorySeparator(path))
        {
            return VideoFormat.PngFrames;
        }
        var extension = Path.GetExtension(path);
        return extension.ToLowerInvariant() switch
        {
            "" => VideoFormat.PngFrames,
            ".gif" => VideoFormat.Gif,
            ".mp4" => VideoFormat.Mp4,
            ".png" => throw new ArgumentException(
                $"Output '{path}' names a single picture; for PNG frames give a folder (a path without extension), for a video a .gif or .mp4 file."),
            _ => throw new ArgumentException(
                $"Output '{path}' has the extension '{extension}'; expected .gif (animated GIF), .mp4 (H.264 through ffmpeg) or none (a folder of PNG frames)."),
        };
    }

    /// <summary>The extension of <paramref name="format"/>: <c>.gif</c>, <c>.mp4</c>, or empty for a folder of PNG frames.</summary>
    public static string ExtensionOf(VideoFormat format) => format switch
    {
        VideoFormat.Gif => ".gif",
        VideoFormat.Mp4 => ".mp4",
        VideoFormat.PngFrames => "",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Not a video format."),
    };

    /// <summary>Whether MP4 can be written: an <c>ffmpeg</c> program is configured in <paramref name="options"/> or on <c>PATH</c>.</summary>
    public static bool IsFfmpegAvailable(VideoWriteOptions? options = null) =>
        FfmpegMp4Writer.Find((options ?? new VideoWriteOptions()).FfmpegPath) is not null;

    /// <summary>
    /// Checks before any work is done that <paramref name="path"/> can be written: a known extension, valid options,
    /// ffmpeg for MP4, nothing of the wrong kind in the way (a folder where a file goes, or the reverse), and a folder
    /// that can be written: the nearest existing one on the way to the target gets a temporary file, removed at once.
    /// Nothing else is created. Call it before generating, so neither a missing program nor a read-only disk costs a video.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown extension or invalid options.</exception>
    /// <exception cref="InvalidOperationException">MP4 was asked for and ffmpeg is not installed; the message suggests a GIF.</exception>
    /// <exception cref="IOException">The target cannot be written there; the message names the path and why.</exception>
    public static void EnsureCanWrite(string path, VideoWriteOptions? options = null)
    {
        options ??= new VideoWriteOptions();
        options.Validate();
        var format = FormatOf(path);
        if (format == VideoFormat.Mp4)
        {
            FfmpegMp4Writer.Require(path, options);
        }
        var target = Path.GetFullPath(path);
        if (format != VideoFormat.PngFrames && Directory.Exists(target))
        {
            throw new IOException($"'{target}' is a folder; a {ExtensionOf(format)} video needs a file name there.");
        }
        if (format == VideoFormat.PngFrames && File.Exists(target))
        {
            throw new IOException($"'{target}' is a file; PNG frames need a folder there.");
        }
        AtomicFile.EnsureWritable(Path.GetDirectoryName(target) ?? target, target);
    }

    /// <summary>Writes <paramref name="video"/> to <paramref name="path"/> in the format its extension names; returns the full path written.</summary>
    /// <exception cref="ArgumentException">Unknown extension, an empty video or invalid options.</exception>
    /// <exception cref="InvalidOperationException">MP4 without ffmpeg; the message suggests a GIF.</exception>
    /// <exception cref="IOException">The file cannot be written, or ffmpeg failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; nothing is left under the target or a temporary name.</exception>
    public static string Write(GeneratedVideo video, string path, VideoWriteOptions? options = null, CancellationToken cancellationToken = default) =>
        Write(video, path, FormatOf(path), options, cancellationToken);

    /// <summary>
    /// As <see cref="Write(GeneratedVideo, string, VideoWriteOptions?, CancellationToken)"/> in the given format, whatever the
    /// path's extension (a batch's folder of PNG frames for <c>cat.png</c> is named <c>cat.png</c> when it keeps the extension).
    /// </summary>
    internal static string Write(GeneratedVideo video, string path, VideoFormat format, VideoWriteOptions? options, CancellationToken cancellationToken)
    {
        VideoFrames.Check(video);
        options ??= new VideoWriteOptions();
        options.Validate();
        var target = Path.GetFullPath(path);
        if (format != VideoFormat.PngFrames && Directory.Exists(target))
        {
            throw new IOException($"'{target}' is a folder; a {ExtensionOf(format)} video needs a file name there.");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        switch (format)
        {
            case VideoFormat.Gif:
                using (var file = AtomicFile.Create(target))
                {
                    // Buffered, as the encoder writes many small pieces; flushed, not disposed, which would close the file before Commit.
                    var buffered = new BufferedStream(file.Stream, 1 << 16);
                    GifEncoder.Encode(video, buffered, options);
                    buffered.Flush();
                    cancellationToken.ThrowIfCancellationRequested();
                    file.Commit();
                }
                return target;
            case VideoFormat.Mp4:
                return FfmpegMp4Writer.Write(video, target, options, cancellationToken);
            default:
                return PngFrameWriter.Write(video, target, cancellationToken);
        }
    }
}
