using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Vcut.Graph.Analysis;
using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;

namespace Vcut.Cli;

/// <summary>
/// <c>vcut bench</c>: VCUT off, paper and exact measured side by side in one process: sessions opened once per
/// mode, one warm-up video per mode, then the modes interleaved (rotating order) for every repetition.
/// </summary>
internal static class BenchCommand
{
    private static readonly VcutMode[] Modes = [VcutMode.Off, VcutMode.Paper, VcutMode.Exact];

    public static int Run(CommandLine command, CancellationToken cancellationToken)
    {
        var quick = command.Flag("quick");
        var modelDirectory = command.Get("model") ?? VideoGenerator.DefaultModelDirectory;
        var repetitions = command.GetInt("repetitions") ?? (quick ? 2 : 3);
        var jsonPath = command.Get("out");
        var execution = new ExecutionOptions
        {
            Device = command.Get("device") == "cuda" ? ExecutionDevice.Cuda : ExecutionDevice.Cpu,
            IntraOpThreads = command.GetInt("threads") ?? 0,
        };
        var manifest = ModelManifest.Load(modelDirectory);
        var options = new VideoGenerationOptions
        {
            Frames = command.GetInt("frames") ?? (quick ? 4 : manifest.DefaultFrames),
            Height = command.GetInt("height") ?? (quick ? 64 : manifest.DefaultHeight),
            Width = command.GetInt("width") ?? (quick ? 64 : manifest.DefaultWidth),
            Steps = command.GetInt("steps") ?? (quick ? 3 : 25),
            DecodeChunkSize = command.GetInt("decode-chunk"),
            Seed = 1,
        };
        command.RejectUnknown();
        options.Validate();
        if (repetitions < 1)
        {
            throw new UsageException("--repetitions must be at least 1.");
        }

        var image = RgbImage.Load(GenerateCommand.SampleImage);
        var analysis = CostAnalyzer.AnalyzeUNet(OnnxModelFile.Read(manifest.PathOf(modelDirectory, ModelNames.UNet)),
            1, options.GuidanceEnabled, options.Frames!.Value, options.Height!.Value / 8, options.Width!.Value / 8, options.Steps);
        var generators = Modes.ToDictionary(m => m, m => VideoGenerator.Open(modelDirectory, execution, m));
        try
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"bench: {manifest.Preset} ({modelDirectory}) on {generators[VcutMode.Off].Device}, {options.Frames} frames at {options.Width}×{options.Height}, {options.Steps} steps, {repetitions} repetitions + 1 warm-up"));
            var results = Modes.ToDictionary(m => m, _ => new List<GenerationStatistics>());
            foreach (var mode in Modes)
            {
                generators[mode].Generate(image, options, cancellationToken: cancellationToken); // warm-up
            }
            for (var repetition = 0; repetition < repetitions; repetition++)
            {
                for (var k = 0; k < Modes.Length; k++)
                {
                    var mode = Modes[(k + repetition) % Modes.Length];
                    var video = generators[mode].Generate(image, options, cancellationToken: cancellationToken);
                    results[mode].Add(video.Statistics);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  repetition {repetition + 1}, {mode.ToString().ToLowerInvariant(),-5}: video {video.Statistics.TotalTime.TotalSeconds:F2} s"));
                }
            }
            var peak = Process.GetCurrentProcess().PeakWorkingSet64;
            var rows = Modes.Select(m => Summarize(m, results[m], analysis)).ToList();
            Print(rows, analysis, peak);
            if (jsonPath is not null)
            {
                var document = new
                {
                    machine = new { Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription, device = generators[VcutMode.Off].Device.ToString() },
                    model = manifest.Preset,
                    options.Frames, options.Height, options.Width, options.Steps, repetitions,
                    peakWorkingSetBytes = peak,
                    crossAttentionShareOfUNetMacs = analysis.CrossAttentionShare,
                    modes = rows,
                };
                var temporary = jsonPath + ".tmp";
                File.WriteAllText(temporary, JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
                File.Move(temporary, jsonPath, overwrite: true);
                Console.WriteLine($"Wrote {Path.GetFullPath(jsonPath)}");
            }
            return 0;
        }
        finally
        {
            foreach (var generator in generators.Values)
            {
                generator.Dispose();
            }
        }
    }

    /// <summary>One mode's figures: medians with min and max, in milliseconds.</summary>
    internal sealed record ModeSummary(
        string Mode, double UNetCallMedianMs, double UNetCallMinMs, double UNetCallMaxMs, int UNetCalls,
        double VideoMedianMs, double VideoMinMs, double VideoMaxMs, double OutsideShareMedian, double CacheMs,
        double MacsPerUNetCall, double MacRatioToOff);

    private static ModeSummary Summarize(VcutMode mode, List<GenerationStatistics> runs, VcutCostReport analysis)
    {
        var unet = runs.SelectMany(r => r.CallDurations[ModelNames.UNet]).Select(t => t.TotalMilliseconds).Order().ToList();
        var videos = runs.Select(r => r.TotalTime.TotalMilliseconds).Order().ToList();
        var outside = runs.Select(r => r.OutsideFraction).Order().ToList();
        var cache = runs.SelectMany(r => r.CallDurations.GetValueOrDefault(ModelNames.ConditioningCache) ?? []).Select(t => t.TotalMilliseconds).DefaultIfEmpty(0).Average();
        var macs = analysis.Mode(mode).UNetCall.Macs;
        return new ModeSummary(mode.ToString().ToLowerInvariant(), Median(unet), unet[0], unet[^1], unet.Count,
            Median(videos), videos[0], videos[^1], Median(outside), cache, macs, macs / (double)analysis.Mode(VcutMode.Off).UNetCall.Macs);
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;

    private static void Print(List<ModeSummary> rows, VcutCostReport analysis, long peak)
    {
        var off = rows[0];
        Console.WriteLine($"{"mode",-6} {"UNet call ms (median, min–max, n)",-36} {"vs off",8} {"MAC ratio",10} {"video ms (median, min–max)",-30} {"vs off",8} {"outside ORT",12}");
        foreach (var r in rows)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{r.Mode,-6} {$"{r.UNetCallMedianMs:F1} ({r.UNetCallMinMs:F1}–{r.UNetCallMaxMs:F1}, {r.UNetCalls})",-36} {r.UNetCallMedianMs / off.UNetCallMedianMs,8:F3} {r.MacRatioToOff,10:F3} {$"{r.VideoMedianMs:F0} ({r.VideoMinMs:F0}–{r.VideoMaxMs:F0})",-30} {r.VideoMedianMs / off.VideoMedianMs,8:F3} {r.OutsideShareMedian,12:P2}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cross-attention share of UNet MACs {analysis.CrossAttentionShare:P2}; peak working set {peak / 1e9:F2} GB (process, all three modes' sessions)"));
    }
}
