using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Vcut.Graph.Analysis;
using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Vcut;
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

    private static readonly Option<bool> QuickOption = new("--quick") { Description = "The embedded default model with short settings (4 frames at 64×64, 3 steps, 2 repetitions)" };
    private static readonly Option<int?> FramesOption = new("--frames") { Description = "Frames (the model's default)", HelpName = "F" };
    private static readonly Option<int?> HeightOption = new("--height") { Description = "Height in pixels (the model's default)", HelpName = "H" };
    private static readonly Option<int?> WidthOption = new("--width") { Description = "Width in pixels (the model's default)", HelpName = "W" };
    private static readonly Option<int?> StepsOption = new("--steps") { Description = $"Denoising steps ({new VideoGenerationOptions().Steps})", HelpName = "S" };
    private static readonly Option<int?> RepetitionsOption = new("--repetitions") { Description = "Interleaved repetitions after the warm-up (3)", HelpName = "R" };
    private static readonly Option<string?> OutOption = CliOptions.PathOption(new Option<string?>("--out") { Description = "Write the figures to this JSON file", HelpName = "FILE.json" });

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("bench",
            "VCUT off, paper and exact side by side: UNet call and video latency (median, spread, ratios to off), time outside " +
            "ONNX Runtime, peak memory.")
        {
            CliOptions.Model, QuickOption, FramesOption, HeightOption, WidthOption, StepsOption, CliOptions.DecodeChunk, RepetitionsOption,
            CliOptions.Device, CliOptions.Threads, OutOption,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Run(parse, cancellationToken)));
        return command;
    }

    private static int Run(ParseResult parse, CancellationToken cancellationToken)
    {
        var quick = parse.GetValue(QuickOption);
        var modelDirectory = parse.GetValue(CliOptions.Model) ?? VideoGenerator.DefaultModelDirectory;
        var repetitions = parse.GetValue(RepetitionsOption) ?? (quick ? 2 : 3);
        var jsonPath = parse.GetValue(OutOption);
        var execution = new ExecutionOptions
        {
            Device = parse.GetValue(CliOptions.Device) == "cuda" ? ExecutionDevice.Cuda : ExecutionDevice.Cpu,
            IntraOpThreads = parse.GetValue(CliOptions.Threads),
        };
        var manifest = ModelManifest.Load(modelDirectory);
        var options = new VideoGenerationOptions
        {
            Frames = parse.GetValue(FramesOption) ?? (quick ? 4 : manifest.DefaultFrames),
            Height = parse.GetValue(HeightOption) ?? (quick ? 64 : manifest.DefaultHeight),
            Width = parse.GetValue(WidthOption) ?? (quick ? 64 : manifest.DefaultWidth),
            Steps = parse.GetValue(StepsOption) ?? (quick ? 3 : new VideoGenerationOptions().Steps),
            DecodeChunkSize = parse.GetValue(CliOptions.DecodeChunk),
            Seed = 1,
        };
        options.Validate();
        if (repetitions < 1)
        {
            throw new UsageException("--repetitions must be at least 1.");
        }

        var image = RgbImage.Load(GenerateCommand.SampleImage);
        var analysis = VcutModeComparison.Compare(OnnxModelFile.Read(manifest.PathOf(modelDirectory, ModelNames.UNet)),
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
                CliOptions.WriteJson(jsonPath, document);
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
