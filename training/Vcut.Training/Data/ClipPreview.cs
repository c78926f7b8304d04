using Vcut.Runtime.Imaging;
using Vcut.Training.Training;
using static TorchSharp.torch;

namespace Vcut.Training.Data;

/// <summary>A contact sheet of training clips, to look at what the model learns from.</summary>
public static class ClipPreview
{
    /// <summary>Draws <paramref name="count"/> clips as the trainer draws them and writes them, one a row, as <c>clips.png</c>.</summary>
    public static string Write(TrainingOptions options, int count)
    {
        var scenes = new SceneGenerator(2 * options.Size);
        var clips = new CameraClips(options.Size);
        using var g = new Generator((ulong)options.Seed);
        var rows = new List<Tensor>();
        var drawClock = new System.Diagnostics.Stopwatch();
        var renderClock = new System.Diagnostics.Stopwatch();
        for (var i = 0; i < count; i++)
        {
            drawClock.Start();
            using var canvas = scenes.Draw(g);
            drawClock.Stop();
            renderClock.Start();
            // Fast moves at 7 fps so the push-in is visible.
            var clip = clips.Render(canvas, options.Frames, 7, 60 + 190f * i / Math.Max(1, count - 1));
            renderClock.Stop();
            rows.Add(cat(clip.Frames.unbind(0), 2)); // (3, S, F·S)
        }
        Console.WriteLine($"draw {drawClock.Elapsed.TotalMilliseconds / count:F1} ms, render {renderClock.Elapsed.TotalMilliseconds / count:F1} ms per clip");
        using var sheet = cat(rows, 1).contiguous();
        Directory.CreateDirectory(options.OutputDirectory);
        var path = Path.Combine(options.OutputDirectory, "clips.png");
        RgbImage.FromPixels(sheet.data<float>().ToArray(), (int)sheet.shape[2], (int)sheet.shape[1]).SavePng(path);
        return path;
    }
}
