using System.CommandLine;
using System.Globalization;
using Vcut.Graph.Names;
using Vcut.Graph.StepCache;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Quality;

namespace Vcut.Cli;

/// <summary>
/// <c>vcut bench-speed</c>: step-cache intervals × guidance fractions and intervals × VCUT off/exact, whole videos side by side in one
/// process (each mode's generator opened once, one warm-up, settings interleaved with a rotating order), each setting's
/// time against the plain video (off, interval 1, guidance at every step) and its PSNR/SSIM against that video.
/// </summary>
internal static class SpeedBenchCommand
{
    private static readonly Option<string> IntervalsOption = new("--intervals") { Description = "Step-cache intervals", HelpName = "N1,N2,...", DefaultValueFactory = _ => "1,2,3,4" };
    private static readonly Option<string> FractionsOption = new("--guidance-fractions") { Description = "Guidance step fractions", HelpName = "F1,F2,...", DefaultValueFactory = _ => "1,0.6" };
    private static readonly Option<string> GuidanceIntervalsOption = new("--guidance-intervals") { Description = "Guidance reuse intervals (1: the unconditional row at every guided step)", HelpName = "N1,N2,...", DefaultValueFactory = _ => "1" };
    private static readonly Option<string> ModesOption = new("--modes") { Description = "VCUT modes", HelpName = "M1,M2", DefaultValueFactory = _ => "off,exact" };
    private static readonly Option<int> RepetitionsOption = new("--repetitions") { Description = "Interleaved repetitions after the warm-up", HelpName = "R", DefaultValueFactory = _ => 2 };
    private static readonly Option<string?> OutOption = CliOptions.PathOption(new Option<string?>("--out") { Description = "Write the table to this JSON file", HelpName = "FILE.json" });
    private static readonly Option<string?> ImagesOption = CliOptions.PathOption(new Option<string?>("--images")
    {
        Description = "Run every setting on each picture of this folder (held-out pictures: quality over all of them, and the " +
            "first-frame and motion-fit PSNR of vcut evaluate) instead of on the sample picture alone",
        HelpName = "FOLDER",
    });

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("bench-speed",
            "Step caching × guidance economy × VCUT, whole videos interleaved in one process: time against the plain video and " +
            "PSNR/SSIM against it (same picture, seed and latents). See docs/speed.md.")
        {
            CliOptions.Model, CliOptions.Frames, CliOptions.Steps, CliOptions.Height, CliOptions.Width, CliOptions.StepCacheBranch,
            IntervalsOption, FractionsOption, GuidanceIntervalsOption, ModesOption, RepetitionsOption, ImagesOption, CliOptions.Threads, OutOption,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Run(parse, cancellationToken)));
        return command;
    }

    private sealed record Setting(VcutMode Mode, int Interval, float Fraction, int GuidanceInterval)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Mode.ToString().ToLowerInvariant()}, interval {Interval}, guidance {Fraction:0.##}{(GuidanceInterval > 1 ? $" every {GuidanceInterval}" : "")}");

        public VideoGenerationOptions Apply(VideoGenerationOptions options) =>
            options with { StepCacheInterval = Interval, GuidanceStepFraction = Fraction, GuidanceInterval = GuidanceInterval };
    }

    private static int Run(ParseResult parse, CancellationToken cancellationToken)
    {
        var directory = parse.GetValue(CliOptions.Model) ?? VideoGenerator.DefaultModelDirectory;
        var baseOptions = new VideoGenerationOptions
        {
            Frames = parse.GetValue(CliOptions.Frames),
            Steps = parse.GetValue(CliOptions.Steps),
            Height = parse.GetValue(CliOptions.Height),
            Width = parse.GetValue(CliOptions.Width),
            Seed = 1,
        };
        baseOptions.Validate();
        var intervals = ParseList(parse.GetValue(IntervalsOption)!, "--intervals", int.Parse);
        var fractions = ParseList(parse.GetValue(FractionsOption)!, "--guidance-fractions", t => float.Parse(t, CultureInfo.InvariantCulture));
        var guidanceIntervals = ParseList(parse.GetValue(GuidanceIntervalsOption)!, "--guidance-intervals", int.Parse);
        var modes = ParseList(parse.GetValue(ModesOption)!, "--modes", CliOptions.ParseVcut);
        var repetitions = parse.GetValue(RepetitionsOption);
        if (repetitions < 1)
        {
            throw new UsageException("--repetitions must be at least 1.");
        }
        var settings = (from mode in modes from interval in intervals from fraction in fractions from guidanceInterval in guidanceIntervals
                        select new Setting(mode, interval, fraction, guidanceInterval)).ToList();
        foreach (var setting in settings)
        {
            setting.Apply(baseOptions).Validate();
        }
        var plainSetting = new Setting(VcutMode.Off, 1, 1f, 1);
        if (!settings.Contains(plainSetting))
        {
            settings.Insert(0, plainSetting);
        }
        var execution = CliOptions.ReadExecution(parse);
        var branch = parse.GetValue(CliOptions.StepCacheBranch);
        var generators = settings.Select(s => s.Mode).Distinct().ToDictionary(m => m, m => VideoGenerator.Open(directory, execution, m, branch));
        try
        {
            // Bad pictures are refused before any video; each picture is resized once to the video's size for the absolute figures.
            var imagesFolder = parse.GetValue(ImagesOption);
            var picturePaths = imagesFolder is null ? [GenerateCommand.SampleImage] : EvaluateCommand.ListPictures(imagesFolder);
            var pictures = picturePaths.Select(path => (Name: Path.GetFileName(path), Image: RgbImage.Load(path))).ToList();
            var first = generators.Values.First();
            Console.Error.WriteLine($"bench-speed: {first.Manifest.Preset} ({directory}) on {first.Device}, branch {first.StepCache!.Branch} ({first.StepCache.UpBlock} onwards), " +
                $"{settings.Count} settings × {pictures.Count} picture(s) × {repetitions} repetitions + 1 warm-up");
            foreach (var generator in generators.Values)
            {
                generator.Generate(pictures[0].Image, baseOptions, cancellationToken: cancellationToken); // warm-up
            }
            var times = settings.ToDictionary(s => s, _ => new List<double>());
            // Per setting, one entry per picture (from the last repetition: the same seed gives the same video every time).
            var quality = settings.ToDictionary(s => s, _ => new Dictionary<string, (VideoComparison Against, VideoQualityReport Absolute, GenerationStatistics Statistics)>());
            for (var repetition = 0; repetition < repetitions; repetition++)
            {
                for (var p = 0; p < pictures.Count; p++)
                {
                    var (name, image) = pictures[p];
                    var videos = new Dictionary<Setting, GeneratedVideo>();
                    for (var k = 0; k < settings.Count; k++)
                    {
                        // The order rotates with the repetition and the picture, so no setting always runs first or last.
                        var setting = settings[(k + repetition + p) % settings.Count];
                        var video = generators[setting.Mode].Generate(image, setting.Apply(baseOptions), cancellationToken: cancellationToken);
                        times[setting].Add(video.Statistics.TotalTime.TotalSeconds);
                        videos[setting] = video;
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  repetition {repetition + 1}, {name}, {setting}: {video.Statistics.TotalTime.TotalSeconds:F2} s"));
                    }
                    var plainVideo = videos[plainSetting];
                    var input = LanczosResizer.Resize(image, plainVideo.Width, plainVideo.Height);
                    foreach (var (setting, video) in videos)
                    {
                        quality[setting][name] = (VideoQuality.Compare(plainVideo, video), VideoQuality.Evaluate(video, input), video.Statistics);
                    }
                }
            }
            var plainMedian = Median(times[plainSetting]);
            var rows = settings.Select(s =>
            {
                var perPicture = quality[s].Values.ToList();
                var calls = perPicture[0].Statistics.ModelCalls;
                return new
                {
                    mode = s.Mode.ToString().ToLowerInvariant(),
                    interval = s.Interval,
                    guidanceFraction = s.Fraction,
                    guidanceInterval = s.GuidanceInterval,
                    fullCalls = calls.GetValueOrDefault(ModelNames.UNet),
                    shallowCalls = calls.GetValueOrDefault(StepCacheSplitter.ShallowModelName),
                    // Per-call medians over every picture: what a cached step costs against a full one.
                    fullCallMs = CallMedianMs(perPicture.Select(q => q.Statistics), ModelNames.UNet),
                    shallowCallMs = CallMedianMs(perPicture.Select(q => q.Statistics), StepCacheSplitter.ShallowModelName),
                    videoMedianSeconds = Median(times[s]),
                    speedUp = plainMedian / Median(times[s]),
                    psnr = perPicture.Average(q => q.Against.MeanPsnr),
                    minPsnr = perPicture.Min(q => q.Against.MeanPsnr),
                    ssim = perPicture.Average(q => q.Against.MeanSsim),
                    firstFramePsnr = perPicture.Average(q => q.Absolute.FirstFramePsnr),
                    motionFitPsnr = perPicture.Average(q => q.Absolute.MotionFitPsnr),
                };
            }).ToList();
            Console.WriteLine($"PSNR and SSIM against the plain video, means over {pictures.Count} picture(s) (min PSNR: the worst picture); first frame and motion fit against the picture.");
            Console.WriteLine($"{"mode",-6} {"interval",8} {"guidance",9} {"every",5} {"full",5} {"shallow",8} {"full ms",8} {"shal. ms",8} {"video s",9} {"speed-up",9} {"PSNR dB",8} {"min dB",7} {"SSIM",7} {"first dB",9} {"fit dB",7}");
            foreach (var r in rows)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.mode,-6} {r.interval,8} {r.guidanceFraction,9:0.##} {r.guidanceInterval,5} {r.fullCalls,5} {r.shallowCalls,8} {r.fullCallMs,8:F0} {r.shallowCallMs,8:F0} {r.videoMedianSeconds,9:F2} {r.speedUp,8:F2}× {r.psnr,8:F2} {r.minPsnr,7:F2} {r.ssim,7:F4} {r.firstFramePsnr,9:F2} {r.motionFitPsnr,7:F2}"));
            }
            if (parse.GetValue(OutOption) is { } path)
            {
                CliOptions.WriteJson(path, new
                {
                    model = first.Manifest.Preset,
                    directory = Path.GetFullPath(directory),
                    baseOptions.Frames, baseOptions.Steps, baseOptions.Height, baseOptions.Width, branch, repetitions,
                    pictures = pictures.Select(p => p.Name).ToList(),
                    settings = rows,
                });
                Console.WriteLine($"Wrote {Path.GetFullPath(path)}");
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

    private static List<T> ParseList<T>(string text, string option, Func<string, T> parse)
    {
        try
        {
            var values = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(parse).Distinct().ToList();
            return values.Count > 0 ? values : throw new FormatException();
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UsageException($"{option} expects values separated by commas, got '{text}'.");
        }
    }

    private static double? CallMedianMs(IEnumerable<GenerationStatistics> statistics, string model)
    {
        var calls = statistics.SelectMany(st => st.CallDurations.GetValueOrDefault(model) ?? []).Select(d => d.TotalMilliseconds).ToList();
        return calls.Count > 0 ? Median(calls) : null;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
