using Vcut.Runtime.Imaging;
using Vcut.Runtime.Io;
using Vcut.Runtime.Pipeline;

namespace Vcut.Runtime.Video;

/// <summary>A video as a folder of PNG files, written atomically.</summary>
internal static class PngFrameWriter
{
    /// <summary>
    /// Writes <c>frame_000.png</c>… into <paramref name="folder"/>: first into a hidden sibling folder, renamed into place
    /// when every frame is written. An existing folder of frames is replaced; any other content is refused.
    /// </summary>
    public static string Write(GeneratedVideo video, string folder, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(folder);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any(e => !IsFrameFile(e)))
        {
            throw new IOException($"Output folder '{target}' holds files other than frames; refusing to overwrite it.");
        }
        if (File.Exists(target))
        {
            throw new IOException($"'{target}' is a file; PNG frames need a folder there.");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var staging = AtomicFile.TemporaryPathFor(target);
        Directory.CreateDirectory(staging);
        try
        {
            for (var i = 0; i < video.FrameCount; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RgbImage.Own(video.Frame(i).ToArray(), video.Width, video.Height)
                    .SavePng(Path.Combine(staging, FrameName(i, video.FrameCount)));
            }
            if (Directory.Exists(target))
            {
                Directory.Delete(target, recursive: true);
            }
            Directory.Move(staging, target);
            return target;
        }
        catch
        {
            Directory.Delete(staging, recursive: true);
            throw;
        }
    }

    /// <summary><c>frame_007.png</c>: three digits at least, more when the video has over 1000 frames, so names sort in order.</summary>
    public static string FrameName(int index, int frameCount) =>
        $"frame_{index.ToString("D" + Math.Max(3, (frameCount - 1).ToString(System.Globalization.CultureInfo.InvariantCulture).Length), System.Globalization.CultureInfo.InvariantCulture)}.png";

    private static bool IsFrameFile(string path) =>
        Path.GetFileName(path).StartsWith("frame_", StringComparison.Ordinal) && path.EndsWith(".png", StringComparison.Ordinal);
}
