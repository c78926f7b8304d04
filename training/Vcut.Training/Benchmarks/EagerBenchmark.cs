using System.Globalization;
using System.Text;
using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;
using Vcut.Training.Model;

namespace Vcut.Training.Benchmarks;

/// <summary>One side's timings: per UNet call and per whole video (medians over the repetitions).</summary>
/// <param name="UNetCall">Median UNet call.</param>
/// <param name="Video">Median whole video.</param>
public sealed record SideTimings(TimeSpan UNetCall, TimeSpan Video);

/// <summary>
/// The project's pipeline (ONNX Runtime) against PyTorch eager (TorchSharp on LibTorch, its own
/// scaled_dot_product_attention) on the same weights — read back from the model directory's graphs — and the same
/// settings, interleaved in one process: ORT video, eager video, ORT video, … so both see the same machine state.
/// </summary>
public static class EagerBenchmark
{
    /// <summary>Runs <paramref name="repetitions"/> interleaved pairs after one warm-up pair and returns (ORT, eager).</summary>
    public static (SideTimings Ort, SideTimings Eager) Run(string modelDirectory, RgbImage image, VideoGenerationOptions options,
        int repetitions, int threads, TextWriter log)
    {
        TorchSharp.torch.set_num_threads(threads);
        using var generator = VideoGenerator.Open(modelDirectory, new ExecutionOptions { IntraOpThreads = threads });
        var manifest = generator.Manifest;
        var preset = new ModelPreset(manifest.Preset, manifest.Architecture, manifest.DefaultFrames, manifest.DefaultHeight, manifest.DefaultWidth, manifest.Weights);
        using var parameters = SvdParameters.FromSource(preset, ModelDirectoryWeightSource.Open(modelDirectory));
        var eager = new EagerPipeline(new SvdNetworks(parameters));
        var frames = options.Frames ?? manifest.DefaultFrames;
        var height = options.Height ?? manifest.DefaultHeight;
        var width = options.Width ?? manifest.DefaultWidth;

        var ortCalls = new List<TimeSpan>();
        var ortVideos = new List<TimeSpan>();
        var eagerCalls = new List<TimeSpan>();
        var eagerVideos = new List<TimeSpan>();
        for (var rep = 0; rep <= repetitions; rep++)
        {
            var ort = generator.Generate(image, options);
            var torchVideo = eager.Generate(image, options, frames, height, width);
            torchVideo.Frames.Dispose();
            if (rep == 0)
            {
                log.WriteLine($"warm-up: ORT {ort.Statistics.TotalTime.TotalSeconds:F2} s, eager {torchVideo.Total.TotalSeconds:F2} s");
                continue;
            }
            ortCalls.AddRange(ort.Statistics.CallDurations[ModelNames.UNet]);
            ortVideos.Add(ort.Statistics.TotalTime);
            eagerCalls.AddRange(torchVideo.UNetCalls);
            eagerVideos.Add(torchVideo.Total);
            log.WriteLine($"pair {rep}: ORT {ort.Statistics.TotalTime.TotalSeconds:F2} s, eager {torchVideo.Total.TotalSeconds:F2} s");
        }
        return (new SideTimings(Median(ortCalls), Median(ortVideos)), new SideTimings(Median(eagerCalls), Median(eagerVideos)));
    }

    /// <summary>A Markdown table row per measure: ORT, eager, and ORT's time as a fraction of eager's.</summary>
    public static string Table(string label, SideTimings ort, SideTimings eager)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"| {label} | UNet call | {ort.UNetCall.TotalMilliseconds:F0} ms | {eager.UNetCall.TotalMilliseconds:F0} ms | {ort.UNetCall / eager.UNetCall:F2}× |");
        text.AppendLine(CultureInfo.InvariantCulture, $"| {label} | whole video | {ort.Video.TotalSeconds:F2} s | {eager.Video.TotalSeconds:F2} s | {ort.Video / eager.Video:F2}× |");
        return text.ToString();
    }

    private static TimeSpan Median(List<TimeSpan> values)
    {
        values.Sort();
        return values.Count == 0 ? TimeSpan.Zero : values[values.Count / 2];
    }
}
