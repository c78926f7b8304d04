using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SkiaSharp;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Tests.Video;

/// <summary>Synthetic videos, and independent decoders for what the writers produce (SkiaSharp, ffprobe).</summary>
internal static class VideoTestData
{
    /// <summary>A video whose value at (frame, channel, y, x) is <paramref name="value"/>'s.</summary>
    public static GeneratedVideo Synthetic(int frames, int width, int height, Func<int, int, int, int, float> value)
    {
        var data = new float[frames * 3 * height * width];
        for (var f = 0; f < frames; f++)
        {
            for (var c = 0; c < 3; c++)
            {
                for (var y = 0; y < height; y++)
                {
                    for (var x = 0; x < width; x++)
                    {
                        data[((f * 3 + c) * height + y) * width + x] = value(f, c, y, x);
                    }
                }
            }
        }
        return new GeneratedVideo(data, frames, height, width,
            new GenerationStatistics(new Dictionary<string, IReadOnlyList<TimeSpan>>(), TimeSpan.Zero, TimeSpan.Zero, 1));
    }

    /// <summary>The 8-bit value the writers store for a float (as RgbImage.SavePng: round half to even).</summary>
    public static byte Expected(float value) => (byte)MathF.Round(Math.Clamp(value, 0f, 1f) * 255f, MidpointRounding.ToEven);

    public sealed record DecodedGif(int Width, int Height, List<byte[]> Rgb, List<int> DurationsMs, int RepetitionCount);

    /// <summary>Every frame of a GIF, decoded by SkiaSharp (Skia's own GIF decoder) as interleaved RGB.</summary>
    public static DecodedGif DecodeGif(string path)
    {
        using var data = SKData.Create(path);
        using var codec = SKCodec.Create(data);
        Assert.IsNotNull(codec, $"SkiaSharp cannot open '{path}'");
        Assert.AreEqual(SKEncodedImageFormat.Gif, codec.EncodedFormat);
        var width = codec.Info.Width;
        var height = codec.Info.Height;
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var frames = new List<byte[]>();
        var durations = new List<int>();
        var count = codec.FrameCount;
        for (var i = 0; i < count; i++)
        {
            var rgba = new byte[info.BytesSize];
            var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
            try
            {
                var result = codec.GetPixels(info, handle.AddrOfPinnedObject(), new SKCodecOptions(i));
                Assert.AreEqual(SKCodecResult.Success, result, $"frame {i} of '{path}'");
            }
            finally
            {
                handle.Free();
            }
            var rgb = new byte[3 * width * height];
            for (var p = 0; p < width * height; p++)
            {
                Assert.AreEqual(255, rgba[4 * p + 3], $"frame {i} pixel {p} is opaque");
                rgb[3 * p] = rgba[4 * p];
                rgb[3 * p + 1] = rgba[4 * p + 1];
                rgb[3 * p + 2] = rgba[4 * p + 2];
            }
            frames.Add(rgb);
            durations.Add(codec.FrameInfo[i].Duration);
        }
        return new DecodedGif(width, height, frames, durations, codec.RepetitionCount);
    }

    /// <summary>The frame of <paramref name="video"/> as the 8-bit interleaved RGB every writer should store.</summary>
    public static byte[] ExpectedRgb(GeneratedVideo video, int frame)
    {
        var planar = video.Frame(frame).Span;
        var plane = video.Width * video.Height;
        var rgb = new byte[3 * plane];
        for (var p = 0; p < plane; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                rgb[3 * p + c] = Expected(planar[c * plane + p]);
            }
        }
        return rgb;
    }

    /// <summary>The first program called <paramref name="name"/> on PATH, or null.</summary>
    public static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name)).FirstOrDefault(File.Exists);

    /// <summary>
    /// ffprobe's view of the first video stream, decoding every frame (<c>-count_frames</c>): nb_read_frames, width,
    /// height, codec_name, pix_fmt. Null when ffprobe is not installed.
    /// </summary>
    public static Dictionary<string, string>? Probe(string path)
    {
        var ffprobe = OnPath("ffprobe");
        if (ffprobe is null)
        {
            return null;
        }
        var start = new ProcessStartInfo(ffprobe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-v", "error", "-count_frames", "-select_streams", "v:0",
            "-show_entries", "stream=nb_read_frames,width,height,codec_name,pix_fmt,avg_frame_rate", "-of", "default=noprint_wrappers=1", path })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, $"ffprobe failed on '{path}': {errors.Result}");
        Assert.AreEqual("", errors.Result.Trim(), $"ffprobe reported errors decoding '{path}'");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1]);
    }

    public static int Int(Dictionary<string, string> probe, string key) => int.Parse(probe[key], CultureInfo.InvariantCulture);
}
