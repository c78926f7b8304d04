using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Io;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Video;

namespace Vcut.Cli;

/// <summary><c>vcut generate</c>: one image to one video.</summary>
internal static class GenerateCommand
{
    /// <summary>The picture used when no <c>--image</c> is given.</summary>
    public static string SampleImage => Path.Combine(AppContext.BaseDirectory, "assets", "sample.png");

    private static readonly Option<string?> ImageOption = CliOptions.PathOption(new Option<string?>("--image") { Description = "The picture (a bundled sample picture)", HelpName = "PATH" });
    private static readonly Option<string> OutOption = CliOptions.PathOption(new Option<string>("--out")
    {
        Description = "The video: .gif an animated GIF (no external program), .mp4 H.264 through ffmpeg, no extension a folder of PNG frames",
        HelpName = "FILE.gif|FILE.mp4|DIR",
        DefaultValueFactory = _ => DefaultOutput,
    });
    private static readonly Option<string?> LatentsOption = CliOptions.PathOption(new Option<string?>("--latents")
    {
        Description = "Initial latents (frames, 4, H/8, W/8) instead of drawn ones, to reproduce a run of another implementation",
        HelpName = "FILE.npy",
    });
    private static readonly Option<string?> VcutOption = CliOptions.Vcut("--vcut", "VCUT mode (the directory's own; an original UNet is rewritten in memory)");

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("generate",
            "One image to one video. Without --model: the embedded default (the trained micro model); without --image: the bundled sample picture. " +
            "The extension of --out chooses the format.")
        {
            CliOptions.Model, ImageOption, OutOption, LatentsOption, VcutOption,
        }.With(CliOptions.Video, CliOptions.Writing, CliOptions.Execution);
        command.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var modelDirectory = parse.GetValue(CliOptions.Model) ?? VideoGenerator.DefaultModelDirectory;
        var imagePath = parse.GetValue(ImageOption) ?? SampleImage;
        var output = parse.GetValue(OutOption)!;
        var latentsPath = parse.GetValue(LatentsOption);
        // --latents: only the shape here (its frames are the video's unless --frames says otherwise); the values are
        // read once the shape has been checked against the model.
        var latentShape = latentsPath is null ? null : LatentsShape(latentsPath);
        var options = CliOptions.ReadVideo(parse, latentShape is [>= 1 and <= int.MaxValue, ..] ? (int)latentShape[0] : null);
        var maxPixels = CliOptions.ReadMaxPixels(parse);
        var writing = CliOptions.ReadWriting(parse, options);
        var execution = CliOptions.ReadExecution(parse);
        var vcut = parse.GetValue(VcutOption) is { } mode ? CliOptions.ParseVcut(mode) : (Vcut.Graph.Vcut.VcutMode?)null;
        // Before the model runs, cheapest first: an unknown extension, a missing ffmpeg or a folder that cannot be
        // written, a picture too large (read from its header) or latents of the wrong shape should not cost a video.
        VideoFileWriter.EnsureCanWrite(output, writing);
        var (imageWidth, imageHeight) = RgbImage.ReadSize(imagePath, maxPixels);

        using var generator = VideoGenerator.Open(modelDirectory, execution, vcut, CliOptions.ReadStepCacheBranch(parse, options));
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
