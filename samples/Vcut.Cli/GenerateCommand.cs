using System.Diagnostics;
using System.Globalization;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Io;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;
using Vcut.Runtime.Video;

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
        var output = command.Get("out") ?? DefaultOutput;
        var latentsPath = command.Get("latents");
        var options = ReadOptions(command);
        var maxPixels = ReadMaxPixels(command);
        var writing = ReadWriteOptions(command, options);
        var execution = ReadExecution(command);
        var vcut = command.Get("vcut") is { } mode ? Program.ParseVcut(mode, "vcut") : (Vcut.Graph.Builders.VcutMode?)null;
        command.RejectUnknown();
        // Before the model runs, cheapest first: an unknown extension, a missing ffmpeg or a folder that cannot be
        // written, a picture too large (read from its header) or latents of the wrong shape should not cost a video.
        VideoFileWriter.EnsureCanWrite(output, writing);
        var (imageWidth, imageHeight) = RgbImage.ReadSize(imagePath, maxPixels);
        var latentShape = latentsPath is null ? null : LatentsShape(latentsPath);

        using var generator = VideoGenerator.Open(modelDirectory, execution, vcut);
        if (latentsPath is not null)
        {
            var expected = generator.LatentShape(options);
            if (!latentShape!.SequenceEqual(expected))
            {
                var factor = generator.Manifest.Architecture.Vae.DownscaleFactor;
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture,
                    $"--latents '{latentsPath}' has shape {NpyFile.ShapeText(latentShape)}; expected {NpyFile.ShapeText(expected)}, that is (frames, latent channels, height/{factor}, width/{factor}) " +
                    $"for {expected[0]} frames at {expected[3] * factor}×{expected[2] * factor} (a leading batch dimension of 1 may be kept)."));
            }
        }
        generator.EnsureFits(options, imageWidth, imageHeight);
        if (latentsPath is not null)
        {
            options = options with { InitialLatents = NpyFile.Read(latentsPath).Data };
            options.Validate();
        }
        var image = RgbImage.Load(imagePath, maxPixels);
        Console.Error.WriteLine($"Model {Path.GetFullPath(modelDirectory)} ({generator.Manifest.Preset}, {generator.Manifest.Weights}) on {generator.Device}, VCUT {generator.Vcut.ToString().ToLowerInvariant()}");
        if (generator.Rewrite is { } report)
        {
            Console.Error.WriteLine($"VCUT rewrite in memory: {report}");
        }
        var progress = new ConsoleProgress();
        var video = await generator.GenerateAsync(image, options, progress, cancellationToken).ConfigureAwait(false);
        progress.Finish();
        var written = VideoFileWriter.Write(video, output, writing, cancellationToken);
        var stats = video.Statistics;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {video.FrameCount} frames of {video.Width}×{video.Height} at {writing.Fps:0.##} fps to {written} ({Describe(written)})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Total {stats.TotalTime.TotalSeconds:F2} s, in ONNX Runtime {stats.TimeInModels.TotalSeconds:F2} s, outside {stats.OutsideFraction:P1}; calls: {string.Join(", ", stats.ModelCalls.Select(c => $"{c.Key} {c.Value}"))}"));
        return 0;
    }

    /// <summary>The default output: an animated GIF, which needs no external program.</summary>
    public const string DefaultOutput = "out/video.gif";

    /// <summary>The format and size of what was written, for the closing line.</summary>
    internal static string Describe(string written)
    {
        if (Directory.Exists(written))
        {
            return $"PNG frames, {Directory.GetFiles(written).Sum(f => new FileInfo(f).Length) / 1024.0:F1} KiB";
        }
        var format = VideoFileWriter.FormatOf(written) == VideoFormat.Gif ? "animated GIF" : "H.264 MP4";
        return string.Create(CultureInfo.InvariantCulture, $"{format}, {new FileInfo(written).Length / 1024.0:F1} KiB");
    }

    /// <summary>--max-megapixels: the largest picture decoded (RgbImage.DefaultMaxPixels, 100 megapixels, by default).</summary>
    internal static long ReadMaxPixels(CommandLine command)
    {
        var megapixels = command.GetFloat("max-megapixels");
        if (megapixels is null)
        {
            return RgbImage.DefaultMaxPixels;
        }
        if (!(megapixels > 0) || !float.IsFinite(megapixels.Value) || megapixels > 100_000)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"--max-megapixels expects a number of megapixels above 0 and at most 100000, got {megapixels}."));
        }
        return Math.Max(1, (long)(megapixels.Value * 1e6));
    }

    /// <summary>How the video file is written: the playback rate is the --fps the model is conditioned on.</summary>
    internal static VideoWriteOptions ReadWriteOptions(CommandLine command, VideoGenerationOptions options)
    {
        var dithering = (command.Get("dither") ?? "floyd-steinberg") switch
        {
            "floyd-steinberg" => GifDithering.FloydSteinberg,
            "ordered" => GifDithering.Ordered,
            "none" => GifDithering.None,
            var other => throw new UsageException($"--dither expects 'floyd-steinberg', 'ordered' or 'none', got '{other}'."),
        };
        var writing = new VideoWriteOptions { Fps = options.Fps, GifDithering = dithering, FfmpegPath = command.Get("ffmpeg") };
        try
        {
            writing.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return writing;
    }

    internal static VideoGenerationOptions ReadOptions(CommandLine command, bool allowLatents = true)
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
        // --latents: only the shape here (its frames are the video's unless --frames says otherwise); the values are
        // read once the shape has been checked against the model (see RunAsync).
        if (allowLatents && command.Get("latents") is { } latentsPath && options.Frames is null && LatentsShape(latentsPath) is [>= 1 and <= int.MaxValue, ..] shape)
        {
            options = options with { Frames = (int)shape[0] };
        }
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        return options;
    }

    /// <summary>
    /// The shape of a --latents file, read from its header (values unread): (frames, channels, h, w), the reference
    /// pipeline's leading batch of one dropped.
    /// </summary>
    internal static long[] LatentsShape(string path)
    {
        var shape = NpyFile.ReadShape(path);
        if (shape.Length == 5 && shape[0] == 1)
        {
            shape = shape[1..];
        }
        return shape.Length == 4
            ? shape
            : throw new InvalidDataException($"--latents '{path}' has shape {NpyFile.ShapeText(shape)}; expected (frames, latent channels, height/8, width/8), optionally with a leading batch of 1.");
    }

    internal static ExecutionOptions ReadExecution(CommandLine command)
    {
        var device = (command.Get("device") ?? "cpu") switch
        {
            "cpu" => ExecutionDevice.Cpu,
            "cuda" => ExecutionDevice.Cuda,
            var other => throw new UsageException($"--device expects 'cpu' or 'cuda', got '{other}'."),
        };
        var execution = new ExecutionOptions
        {
            Device = device,
            CudaDeviceId = command.GetInt("cuda-device") ?? 0,
            AllowCpuFallback = command.Flag("allow-cpu-fallback"),
            IntraOpThreads = command.GetInt("threads") ?? 0,
        };
        if (execution.IntraOpThreads < 0 || execution.IntraOpThreads > ExecutionOptions.MaxIntraOpThreads)
        {
            throw new UsageException(
                $"--threads {execution.IntraOpThreads} is outside 0 to {ExecutionOptions.MaxIntraOpThreads} ({ExecutionOptions.ThreadsPerProcessor} × the {Environment.ProcessorCount} processor(s) " +
                "this process may use; more threads only contend for the cores); leave it out for one thread per physical core.");
        }
        if (execution.CudaDeviceId < 0)
        {
            throw new UsageException($"--cuda-device expects a device number of 0 or more, got {execution.CudaDeviceId}.");
        }
        return execution;
    }

    /// <summary>One status line, rewritten in place when the error stream is a terminal.</summary>
    internal sealed class ConsoleProgress : IProgress<GenerationProgress>
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
