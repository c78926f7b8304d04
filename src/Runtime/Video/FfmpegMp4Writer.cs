using System.Diagnostics;
using System.Globalization;
using Vcut.Runtime.Io;
using Vcut.Runtime.Pipeline;

namespace Vcut.Runtime.Video;

/// <summary>
/// MP4 (H.264, yuv420p) through the <c>ffmpeg</c> program: raw rgb24 frames are piped to
/// <c>ffmpeg -f rawvideo -pix_fmt rgb24 -s W×H -r FPS -i - -c:v libx264 -pix_fmt yuv420p</c>, which writes a temporary
/// file next to the target; it is renamed over the target only when ffmpeg has finished successfully.
/// </summary>
/// <remarks>
/// yuv420p stores colour at half resolution, so H.264 in it needs an even width and height: an odd side is padded by
/// one black row or column (ffmpeg's <c>pad</c> filter); the generator's sizes are multiples of 8, so its videos are
/// never padded.
/// </remarks>
internal static class FfmpegMp4Writer
{
    /// <summary>
    /// The ffmpeg executable: <paramref name="configured"/> when given (it must exist), else the first <c>ffmpeg</c>
    /// in the folders of <paramref name="searchPath"/> (the <c>PATH</c> variable when null); null when there is none.
    /// </summary>
    public static string? Find(string? configured, string? searchPath = null)
    {
        if (configured is not null)
        {
            return File.Exists(configured) ? Path.GetFullPath(configured) : null;
        }
        searchPath ??= Environment.GetEnvironmentVariable("PATH") ?? "";
        var name = OperatingSystem.IsWindows() ? "ffmpeg.exe" : "ffmpeg";
        foreach (var folder in searchPath.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>The ffmpeg to use, or an exception that says how to get one and suggests a GIF instead.</summary>
    /// <exception cref="InvalidOperationException">No ffmpeg was found.</exception>
    public static string Require(string target, VideoWriteOptions options, string? searchPath = null)
    {
        if (Find(options.FfmpegPath, searchPath) is { } ffmpeg)
        {
            return ffmpeg;
        }
        var where = options.FfmpegPath is null ? "no 'ffmpeg' program was found on PATH" : $"the configured ffmpeg '{options.FfmpegPath}' does not exist";
        throw new InvalidOperationException(
            $"Writing '{target}' as MP4 needs ffmpeg, but {where}. Install it (Debian/Ubuntu: apt-get install ffmpeg; " +
            $"macOS: brew install ffmpeg; Windows: winget install ffmpeg), or write an animated GIF, which needs no " +
            $"external program: '{Path.ChangeExtension(target, ".gif")}'.");
    }

    /// <summary>Encodes <paramref name="video"/> to <paramref name="path"/>; returns the full path written.</summary>
    /// <exception cref="InvalidOperationException">ffmpeg is not installed.</exception>
    /// <exception cref="IOException">ffmpeg failed (its error output is in the message).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; ffmpeg is stopped and the temporary file removed.</exception>
    public static string Write(GeneratedVideo video, string path, VideoWriteOptions options, CancellationToken cancellationToken, string? searchPath = null)
    {
        var target = Path.GetFullPath(path);
        var ffmpeg = Require(target, options, searchPath);
        var temporary = AtomicFile.TemporaryPathFor(target);
        var start = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{video.Width}x{video.Height}",
            "-r", options.Fps.ToString("R", CultureInfo.InvariantCulture), "-i", "-",
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", options.Mp4Crf.ToString(CultureInfo.InvariantCulture),
            "-movflags", "+faststart",
            // The temporary name has no .mp4 extension, so the container is named.
            "-f", "mp4", temporary,
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new IOException($"Could not start ffmpeg ('{ffmpeg}').");
        // Read both outputs while writing, so a chatty ffmpeg never blocks on a full pipe.
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var outputs = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var completed = false;
        try
        {
            using (cancellationToken.Register(() => Kill(process)))
            {
                var frame = new byte[3 * video.Width * video.Height];
                var stdin = process.StandardInput.BaseStream;
                try
                {
                    for (var i = 0; i < video.FrameCount; i++)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        VideoFrames.ToRgb24(video, i, frame);
                        stdin.Write(frame);
                    }
                    stdin.Close();
                }
                catch (IOException)
                {
                    // ffmpeg closed its input early: it failed (its error output below says why) or was stopped by a cancel.
                }
                process.WaitForExit();
                cancellationToken.ThrowIfCancellationRequested();
            }
            var message = errors.GetAwaiter().GetResult().Trim();
            outputs.GetAwaiter().GetResult();
            if (process.ExitCode != 0 || !File.Exists(temporary))
            {
                throw new IOException($"ffmpeg failed writing '{target}' (exit code {process.ExitCode}): {(message.Length > 0 ? message : "no error output")}");
            }
            File.Move(temporary, target, overwrite: true);
            completed = true;
            return target;
        }
        finally
        {
            if (!completed)
            {
                Kill(process);
                TryDelete(temporary);
            }
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the failure that got us here matters more.
        }
    }
}
