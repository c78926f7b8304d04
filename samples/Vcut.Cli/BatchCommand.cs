using System.CommandLine;
using System.Globalization;
using Vcut.Runtime.Batch;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Video;

namespace Vcut.Cli;

/// <summary><c>vcut batch</c>: every image of a folder or CSV file to a video, resumable and shardable.</summary>
internal static class BatchCommand
{
    private static readonly BatchOptions Defaults = new() { Input = ".", OutputFolder = "." };

    private static readonly Option<string> InputOption = CliOptions.PathOption(new Option<string>("--input")
    {
        Description = "A folder of images (recursively) or a CSV file with a column of image paths",
        HelpName = "FOLDER|FILE.csv",
        Required = true,
    });
    private static readonly Option<string> OutOption = CliOptions.PathOption(new Option<string>("--out")
    {
        Description = "The output folder: a/cat.png becomes a/cat.gif there",
        HelpName = "FOLDER",
        Required = true,
    });
    private static readonly Option<string> FormatOption = CliOptions.Choice(new Option<string>("--format")
    {
        Description = "Video format (png: a folder of PNG frames per image)",
        DefaultValueFactory = _ => FormatName(Defaults.Format),
    }, "gif", "mp4", "png");
    private static readonly Option<string?> ColumnOption = new("--column") { Description = "The CSV column of image paths (the first)", HelpName = "NAME" };
    private static readonly Option<string?> ShardOption = new("--shard") { Description = "Handle a deterministic 1/n of the inputs: shard i of n", HelpName = "i/n" };
    private static readonly Option<int?> ShardsOption = new("--shards")
    {
        Description = "n shards, i taken from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (Slurm array)",
        HelpName = "n",
    };

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("batch",
            "Every image to a video in --out, one after another, with a progress bar and ETA. A bad image is reported and skipped; " +
            "the exit code is 1 if any failed. Videos already complete are skipped, so re-running the command resumes after a crash " +
            "or Ctrl-C. Each image's seed derives from --seed (the base seed) and its path, so a re-run makes the same videos.")
        {
            InputOption, OutOption, CliOptions.Model, FormatOption, ColumnOption, ShardOption, ShardsOption,
        }.With(CliOptions.Video, CliOptions.Writing, CliOptions.Execution);
        command.SetAction((parse, cancellationToken) => RunAsync(parse, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var modelDirectory = parse.GetValue(CliOptions.Model) ?? VideoGenerator.DefaultModelDirectory;
        var input = parse.GetValue(InputOption)!;
        var output = parse.GetValue(OutOption)!;
        var format = parse.GetValue(FormatOption) switch
        {
            "mp4" => VideoFormat.Mp4,
            "png" => VideoFormat.PngFrames,
            _ => VideoFormat.Gif,
        };
        var shard = ReadShard(parse);
        var video = CliOptions.ReadVideo(parse);
        var options = new BatchOptions
        {
            Input = input,
            OutputFolder = output,
            Format = format,
            Video = video,
            Writing = CliOptions.ReadWriting(parse, video),
            Shard = shard,
            CsvColumn = parse.GetValue(ColumnOption),
            MaxImagePixels = CliOptions.ReadMaxPixels(parse),
        };
        var execution = CliOptions.ReadExecution(parse);
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        // Before the model opens: a missing ffmpeg or an output folder that cannot be written.
        BatchRunner.EnsureCanWrite(options);

        using var generator = VideoGenerator.Open(modelDirectory, execution, stepCacheBranch: CliOptions.ReadStepCacheBranch(parse, video));
        Console.Error.WriteLine($"Model {Path.GetFullPath(modelDirectory)} ({generator.Manifest.Preset}, {generator.Manifest.Weights}) on {generator.Device}; shard {shard}; output {Path.GetFullPath(output)}");
        var progress = new BatchConsoleProgress();
        var summary = await BatchRunner.RunAsync(generator, options, progress, cancellationToken).ConfigureAwait(false);
        progress.Finish();
        PrintSummary(summary);
        return summary.ExitCode;
    }

    private static string FormatName(VideoFormat format) => format switch
    {
        VideoFormat.Mp4 => "mp4",
        VideoFormat.PngFrames => "png",
        _ => "gif",
    };

    /// <summary>
    /// --shard i/n, or --shards n with i from the scheduler (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID); neither: all inputs.
    /// </summary>
    private static BatchShard ReadShard(ParseResult parse)
    {
        var explicitShard = parse.GetValue(ShardOption);
        var count = parse.GetValue(ShardsOption);
        if (explicitShard is not null && count is not null)
        {
            throw new UsageException("Give either --shard i/n or --shards n (the index then comes from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID), not both.");
        }
        try
        {
            return explicitShard is not null ? BatchShard.Parse(explicitShard)
                : count is not null ? BatchShard.FromEnvironment(count.Value)
                : BatchShard.All;
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    private static void PrintSummary(BatchSummary summary)
    {
        var elapsed = Clock(summary.Elapsed);
        var scope = summary.Shard.Count > 1
            ? $"Shard {summary.Shard}: {summary.ShardCount} of {summary.InputCount} inputs"
            : $"{summary.ShardCount} inputs";
        Console.WriteLine($"{scope}: {summary.Generated} generated, {summary.AlreadyComplete} already complete, {summary.Failed} failed, in {elapsed}.");
        if (summary.Failed > 0)
        {
            Console.WriteLine($"Failed ({summary.Failed}):");
            foreach (var failure in summary.Failures)
            {
                Console.WriteLine($"  {failure.Item.Key}: {failure.Error}");
            }
        }
        if (summary.Cancelled)
        {
            Console.WriteLine($"Cancelled with {summary.NotReached} inputs not done; run the same command again to finish them (finished videos are kept).");
        }
    }

    internal static string Clock(TimeSpan time) =>
        time.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)time.TotalHours}:{time.Minutes:D2}:{time.Seconds:D2}")
            : string.Create(CultureInfo.InvariantCulture, $"{time.Minutes}:{time.Seconds:D2}");

    /// <summary>
    /// A progress bar with ETA on the error stream, rewritten in place on a terminal; when the stream is a file or a
    /// pipe (a cluster's log), one line per finished input instead. Failures are always printed on their own line.
    /// </summary>
    private sealed class BatchConsoleProgress : IProgress<BatchProgress>
    {
        private const int BarWidth = 24;
        private readonly bool _interactive = !Console.IsErrorRedirected;
        private TimeSpan? _lastDraw;
        private bool _drawn;

        public void Report(BatchProgress value)
        {
            if (value.Finished is { } row)
            {
                if (row.Status == BatchRowStatus.Failed)
                {
                    Line($"[{value.Done}/{value.Total}] FAILED {row.Item.Key}: {row.Error}");
                }
                else if (!_interactive && row.Status == BatchRowStatus.Generated)
                {
                    Line(string.Create(CultureInfo.InvariantCulture,
                        $"[{value.Done}/{value.Total}] {row.Item.Key} -> {row.Item.OutputPath} ({row.Time.TotalSeconds:F1} s, seed {row.Item.Seed}); ETA {Eta(value)}"));
                }
            }
            if (!_interactive)
            {
                return;
            }
            // A step report comes many times a second on small models: redraw at most ten times a second.
            if (value.Finished is null && _lastDraw is { } last && value.Elapsed - last < TimeSpan.FromMilliseconds(100))
            {
                return;
            }
            _lastDraw = value.Elapsed;
            var fraction = value.Total == 0 ? 1 : (double)value.Done / value.Total;
            var filled = (int)Math.Round(fraction * BarWidth);
            var bar = new string('#', filled) + new string('.', BarWidth - filled);
            var current = value.Current is { } item
                ? $"  {item.Key}" + (value.Step is { } step ? $" {step.Stage.ToString().ToLowerInvariant()} {step.Step}/{step.TotalSteps}" : "")
                : "";
            var line = string.Create(CultureInfo.InvariantCulture,
                $"[{bar}] {value.Done}/{value.Total} {100 * fraction,3:F0}%  {value.Generated} new, {value.AlreadyComplete} done before, {value.Failed} failed  {Clock(value.Elapsed)} elapsed, ETA {Eta(value)}{current}");
            var width = Math.Max(20, SafeWidth() - 1);
            Console.Error.Write("\r" + (line.Length > width ? line[..width] : line.PadRight(width)));
            _drawn = true;
        }

        public void Finish()
        {
            if (_interactive && _drawn)
            {
                Console.Error.WriteLine();
            }
        }

        private void Line(string text)
        {
            if (_interactive && _drawn)
            {
                Console.Error.Write("\r" + new string(' ', Math.Max(20, SafeWidth() - 1)) + "\r");
            }
            Console.Error.WriteLine(text);
            _drawn = false;
        }

        private static string Eta(BatchProgress value) => value.Remaining is { } left ? Clock(left) : "--:--";

        private static int SafeWidth()
        {
            try
            {
                return Console.WindowWidth > 0 ? Console.WindowWidth : 100;
            }
            catch (IOException)
            {
                return 100;
            }
        }
    }
}
