using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;

namespace Vcut.Cli;

/// <summary>Writes a video's frames as PNG files, atomically.</summary>
internal static class FrameWriter
{
    /// <summary>
    /// Writes <c>frame_000.png</c>… into <paramref name="folder"/>: first into a hidden sibling folder, renamed
    /// into place when every frame is written. An existing folder of frames is replaced; any other content is refused.
    /// </summary>
    public static string WritePngFrames(GeneratedVideo video, string folder)
    {
        var target = Path.GetFullPath(folder);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any(e => !IsFrameFile(e)))
        {
            throw new IOException($"Output folder '{target}' holds files other than frames; refusing to overwrite it.");
        }
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            for (var i = 0; i < video.FrameCount; i++)
            {
                RgbImage.FromPixels(video.Frame(i).ToArray(), video.Width, video.Height)
                    .SavePng(Path.Combine(staging, $"frame_{i:D3}.png"));
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

    private static bool IsFrameFile(string path) =>
        Path.GetFileName(path).StartsWith("frame_", StringComparison.Ordinal) && path.EndsWith(".png", StringComparison.Ordinal);
}
