using System.Diagnostics;
using System.Globalization;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Io;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;

namespace Vcut.Cli;

/// <summary><c>vcut generate</c>: one image to one video.</summary>
internal static class GenerateCommand
{
    /// <summary>The picture used when no <c>--image</c> is given.</summary>
    public static string SampleImage => Path.Combine(AppContext.BaseDirectory, "assets", "sample.png");

    public static async Task<int> RunAsync(CommandLine command, CancellationToken cancellationToken)
    {
        var modelDirectory = command.Get("model") ?? VideoGenerator.DefaultModelDirectory;
        var imagePath = command.Get("image") ?? SampleImage;
        var output = command.Get("out") ?? "out/video";
        var options = ReadOptions(command);
        var execution = ReadExecution(command);
        var vcut = command.Get("vcut") is { } mode ? Program.ParseVcut(mode, "vcut") : (Vcut.Graph.Builders.VcutMode?)null;
        command.RejectUnknown();

        var image = RgbImage.Load(imagePath);
        using var generator = VideoGenerator.Open(modelDirectory, execution, vcut);
        Console.Error.WriteLine($"Model {Path.GetFullPath(modelDirectory)} ({generator.Manifest.Preset}, {generator.Manifest.Weights}) on {generator.Device}, VCUT {generator.Vcut.ToString().ToLowerInvariant()}");
        if (generator.Rewrite is { } report)
        {
            Console.Error.WriteLine($"VCUT rewrite in memory: {report}");
        }
        var progress = new ConsoleProgress();
        var video = await generator.GenerateAsync(image, options, progress, cancellationToken).ConfigureAwait(false);
        progress.Finish();
        var written = FrameWriter.WritePngFrames(video, output);
        var stats = video.Statistics;
        Console.WriteLine($"Wrote {video.FrameCount} frames of {video.Width}×{video.Height} to {written}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Total {stats.TotalTime.TotalSeconds:F2} s, in ONNX Runtime {stats.TimeInModels.TotalSeconds:F2} s, outside {stats.OutsideFraction:P1}; calls: {string.Join(", ", stats.ModelCalls.Select(c => $"{c.Key} {c.Value}"))}"));
        return 0;
    }

    private static VideoGenerationOptions ReadOptions(CommandLine command)
    {
        var options = new VideoGenerationOptions
        {
            Frames = command.GetInt("frames"),
            Steps = command.GetInt("steps") ?? 25,
            Height = command.GetInt("height"),
            Width = command.GetInt("width"),
            Fps = command.GetFloat("fps") ?? 7,
            MotionBucketId = command.GetFloat("motion-bucket") ?? 127,
            NoiseAugStrength = command.GetFloat("noise-aug") ?? 0.02f,
            MinGuidanceScale = command.GetFloat("min-guidance") ?? 1f,
            MaxGuidanceScale = command.GetFloat("max-guidance") ?? 3f,
            DecodeChunkSize = command.GetInt("decode-chunk"),
            Seed = command.GetUInt64("seed", 0),
        };
        if (command.Get("latents") is { } latentsPath)
        {
            var (data, shape) = NpyFile.Read(latentsPath);
            // The reference pipeline's latents are (batch, frames, 4, h, w) or (frames, 4, h, w); one video here.
            if (shape.Length == 5 && shape[0] == 1)
            {
                shape = shape[1..];
            }
            if (shape.Length != 4)
            {
                throw new InvalidDataException($"'{latentsPath}' has shape [{string.Join(", ", shape)}], expected (frames, 4, height/8, width/8).");
            }
            options = options with { InitialLatents = data, Frames = options.Frames ?? (int)shape[0] };
        }
        options.Validate();
        return options;
    }

    private static ExecutionOptions ReadExecution(CommandLine command)
    {
        var device = (command.Get("device") ?? "cpu") switch
        {
            "cpu" => ExecutionDevice.Cpu,
            "cuda" => ExecutionDevice.Cuda,
            var other => throw new UsageException($"--device expects 'cpu' or 'cuda', got '{other}'."),
        };
        return new ExecutionOptions
        {
            Device = device,
            CudaDeviceId = command.GetInt("cuda-device") ?? 0,
            AllowCpuFallback = command.Flag("allow-cpu-fallback"),
            IntraOpThreads = command.GetInt("threads") ?? 0,
        };
    }

    /// <summary>One status line, rewritten in place when the error stream is a terminal.</summary>
    private sealed class ConsoleProgress : IProgress<GenerationProgress>
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly bool _interactive = !Console.IsErrorRedirected;
        private GenerationStage? _lastStage;

        public void Report(GenerationProgress value)
        {
            if (value.Stage == GenerationStage.Done)
            {
                return;
            }
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{_clock.Elapsed.TotalSeconds,6:F1}s  {value.Stage,-14} {value.Step}/{value.TotalSteps}");
            if (_interactive)
            {
                Console.Error.Write("\r" + line.PadRight(48));
            }
            else if (_lastStage != value.Stage || value.Step == value.TotalSteps)
            {
                Console.Error.WriteLine(line);
            }
            _lastStage = value.Stage;
        }

        public void Finish()
        {
            if (_interactive)
            {
                Console.Error.WriteLine();
            }
        }
    }
}
