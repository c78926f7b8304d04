using System.Runtime.InteropServices;
using System.Text.Json;
using Vcut.Graph.Analysis;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Onnx;
using Vcut.Graph.Rewriting;
using Vcut.Graph.Weights;

namespace Vcut.Cli;

/// <summary>The <c>vcut</c> command line.</summary>
internal static class Program
{
    private static readonly string Usage = $"""
        usage: vcut <command> [options]

        commands:
          build-model --preset tiny|small|svd|svd-xt --out DIR [--seed N] [--weights seeded|none] [--attention plain|fused]
                      [--vcut off|paper|exact] [--fp16]
              Build the four SVD graphs (image_encoder, vae_encoder, unet, vae_decoder) into a model directory;
              with --vcut paper|exact the UNet takes VCUT's cached cross-attentions and a conditioning_cache graph is added.
        {ConvertCommand.Usage}
          rewrite --model DIR --mode paper|exact --out DIR
              Rewrite a model directory's UNet for VCUT (found by structure) and add its conditioning cache.
          analyze --model DIR|--preset P [--frames F] [--height H] [--width W] [--steps S] [--videos B] [--no-guidance] [--json]
              Parameters and multiply-accumulates per UNet call and per video for VCUT off, paper and exact.
          bench [--model DIR] [--quick] [--frames F] [--height H] [--width W] [--steps S] [--decode-chunk N] [--repetitions R]
                [--device cpu|cuda] [--threads N] [--out FILE.json]
              VCUT off, paper and exact side by side: UNet call and video latency (median, spread, ratios to off),
              time outside ONNX Runtime, peak memory. --quick: the embedded tiny model with short settings.
          info DIR [--json]
              Per model: parameters, initializer bytes, inputs and outputs.
          generate [--model DIR] [--image PATH] [--out FILE.gif|FILE.mp4|DIR] [--frames F] [--steps S] [--height H] [--width W]
                   [--fps N] [--motion-bucket N] [--noise-aug X] [--min-guidance G] [--max-guidance G]
                   [--decode-chunk N] [--seed N] [--latents FILE.npy] [--vcut off|paper|exact]
                   [--dither floyd-steinberg|ordered|none] [--ffmpeg PATH] [--max-megapixels N]
                   [--device cpu|cuda] [--cuda-device N] [--allow-cpu-fallback] [--threads N]
              One image to one video. Without --model: the embedded tiny model; without --image: the bundled sample
              picture. --out (default out/video.gif) chooses the format by extension: .gif an animated GIF (no external
              program), .mp4 H.264 through ffmpeg (must be installed), no extension a folder of PNG frames.
              Pictures above --max-megapixels (100) are refused from their header; --threads is at most 4 × the cores.
          batch --input FOLDER|FILE.csv --out FOLDER [--model DIR] [--format gif|mp4|png] [--column NAME]
                [--shard i/n | --shards n] [--seed BASE] [generate's video, --dither, --ffmpeg, --max-megapixels and device options]
              Every image to a video in --out (a/cat.png -> a/cat.gif), one after another, with a progress bar and ETA.
              A bad image is reported and skipped; the exit code is 1 if any failed. Videos already complete are skipped,
              so re-running the command resumes after a crash or Ctrl-C. Each image's seed derives from --seed and its
              path, so a re-run makes the same videos. --shard i/n handles a deterministic 1/n of the inputs; --shards n
              takes i from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array).
        {EvaluateCommand.Usage}
        """;

    private static readonly HashSet<string> Flags = ["json", "help", "allow-cpu-fallback", "no-guidance", "quick", "fp16"];

    private static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl-C stops cleanly (the video in progress is dropped, nothing half-written is left);
            // a second one ends the process at once.
            e.Cancel = !cancellation.IsCancellationRequested;
            cancellation.Cancel();
        };
        // SIGTERM (a Kubernetes pod being stopped, Slurm's scancel) stops cleanly too, so a re-run resumes.
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        });
        try
        {
            if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
            {
                Console.WriteLine(Usage);
                return args.Length == 0 ? 2 : 0;
            }
            // evaluate's --json takes a file name, so it is not a flag there.
            var command = new CommandLine(args.Skip(1), args[0] == "evaluate" ? EvaluateCommand.Flags : Flags);
            return args[0] switch
            {
                "build-model" => BuildModel(command, cancellation.Token),
                "info" => Info(command),
                "rewrite" => Rewrite(command, cancellation.Token),
                "convert" => ConvertCommand.Run(command, cancellation.Token),
                "analyze" => AnalyzeCommand.Run(command),
                "bench" => BenchCommand.Run(command, cancellation.Token),
                "generate" => await GenerateCommand.RunAsync(command, cancellation.Token).ConfigureAwait(false),
                "batch" => await BatchCommand.RunAsync(command, cancellation.Token).ConfigureAwait(false),
                "evaluate" => EvaluateCommand.Run(command, cancellation.Token),
                _ => throw new UsageException($"Unknown command '{args[0]}'."),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"vcut: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("vcut: cancelled.");
            return 130;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException or OutOfMemoryException)
        {
            Console.Error.WriteLine($"vcut: {e.Message}");
            return 1;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("VCUT_STACK_TRACES") is not "1")
        {
            // Never a stack trace for a user: one line, and how to get the trace for a bug report.
            Console.Error.WriteLine($"vcut: {e.GetType().Name}: {e.Message} (an unexpected error; set VCUT_STACK_TRACES=1 for the stack trace to report it)");
            return 1;
        }
    }

    private static int BuildModel(CommandLine command, CancellationToken cancellationToken)
    {
        var preset = ModelPreset.Get(command.Require("preset"));
        var output = command.Require("out");
        var seed = command.GetUInt64("seed", 0);
        IWeightSource weights = (command.Get("weights") ?? "seeded") switch
        {
            "seeded" => new SeededWeightSource(seed),
            "none" => StructureOnlyWeightSource.Instance,
            var other => throw new UsageException($"--weights expects 'seeded' or 'none', got '{other}'."),
        };
        var attention = command.Get("attention") switch
        {
            null => SvdBuildOptions.DefaultAttention,
            "plain" => AttentionForm.Plain,
            "fused" => AttentionForm.Fused,
            var other => throw new UsageException($"--attention expects 'plain' or 'fused', got '{other}'."),
        };
        var vcut = ParseVcut(command.Get("vcut") ?? "off", "vcut");
        var precision = command.Flag("fp16") ? GraphPrecision.Float16 : GraphPrecision.Float32;
        command.RejectUnknown();
        var progress = new Progress<string>(message => Console.Error.WriteLine($"  {message}"));
        var options = new SvdBuildOptions(preset, weights, attention, vcut) { Precision = precision };
        var manifest = SvdModelBuilder.BuildDirectory(output, options, progress, cancellationToken);
        Console.WriteLine($"Built '{manifest.Preset}' ({manifest.Weights}, {manifest.Attention} attention, VCUT {manifest.Vcut}) into {Path.GetFullPath(output)}");
        return 0;
    }

    /// <summary>Parses a VCUT mode name given to option <paramref name="option"/>.</summary>
    internal static VcutMode ParseVcut(string text, string option) => text switch
    {
        "off" => VcutMode.Off,
        "paper" => VcutMode.Paper,
        "exact" => VcutMode.Exact,
        _ => throw new UsageException($"--{option} expects 'off', 'paper' or 'exact', got '{text}'."),
    };

    private static int Rewrite(CommandLine command, CancellationToken cancellationToken)
    {
        var source = command.Require("model");
        var mode = ParseVcut(command.Require("mode"), "mode");
        var output = command.Require("out");
        command.RejectUnknown();
        if (mode == VcutMode.Off)
        {
            throw new UsageException("--mode off is the original model; choose 'paper' or 'exact'.");
        }
        var report = ModelDirectoryRewriter.Rewrite(source, output, mode, Vcut.Runtime.Sessions.OrtShapeProbe.For, cancellationToken);
        Console.WriteLine(report);
        Console.WriteLine($"Wrote {Path.GetFullPath(output)}");
        return 0;
    }

    private static int Info(CommandLine command)
    {
        if (command.Positional.Count != 1)
        {
            throw new UsageException("info takes one model directory.");
        }
        var json = command.Flag("json");
        command.RejectUnknown();
        var directory = command.Positional[0];
        var summaries = GraphSummary.OfDirectory(directory);
        if (json)
        {
            var document = summaries.ToDictionary(s => s.Name, s => new
            {
                parameters = s.Parameters,
                initializerBytes = s.InitializerBytes,
                nodes = s.Nodes,
                inputs = s.Inputs.Select(p => p.ToString()),
                outputs = s.Outputs.Select(p => p.ToString()),
            });
            Console.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        var manifest = ModelManifest.Load(directory);
        Console.WriteLine($"{Path.GetFullPath(directory)}: preset {manifest.Preset}, weights {manifest.Weights}, attention {manifest.Attention}, vcut {manifest.Vcut}");
        foreach (var s in summaries)
        {
            Console.WriteLine($"{s.Name}: {s.Parameters:N0} parameters, {s.InitializerBytes:N0} initializer bytes, {s.Nodes:N0} nodes");
            foreach (var input in s.Inputs)
            {
                Console.WriteLine($"  in  {input}");
            }
            foreach (var output in s.Outputs)
            {
                Console.WriteLine($"  out {output}");
            }
        }
        return 0;
    }
}
