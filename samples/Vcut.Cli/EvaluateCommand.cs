using System.CommandLine;
using System.Globalization;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Quality;

namespace Vcut.Cli;

/// <summary>
/// <c>vcut evaluate</c>: every picture of a folder to videos at several motion buckets, scored against the picture
/// (first-frame PSNR, motion-fit PSNR, motion; <see cref="VideoEvaluator"/>), with a table per picture, the averages, and
/// how motion grows with the bucket. The metrics live in the runtime (<see cref="VideoQuality"/>); this only prints them.
/// </summary>
internal static class EvaluateCommand
{
    private static readonly string[] Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    private static readonly Option<string> ImagesOption = CliOptions.PathOption(new Option<string>("--images")
    {
        Description = $"A folder of pictures ({string.Join(", ", Extensions)}; sorted by name)",
        HelpName = "FOLDER",
        Required = true,
    });
    private static readonly Option<string?> BucketsOption = new("--motion-buckets")
    {
        Description = $"Motion buckets each picture is also generated at ({string.Join(',', VideoEvaluator.DefaultMotionBuckets)})",
        HelpName = "B1,B2,...",
    };
    private static readonly Option<string?> JsonOption = CliOptions.PathOption(new Option<string?>("--json") { Description = "Write every figure to this JSON file", HelpName = "FILE" });
    private static readonly Option<string?> VcutOption = CliOptions.Vcut("--vcut", "VCUT mode (the directory's own; an original UNet is rewritten in memory)");
    private static readonly Option<bool> AgainstOption = new("--against")
    {
        Description = "Also score each video against the same picture, seed and latents without the speed-ups (VCUT off, no step cache, " +
            "guidance at every step): PSNR and SSIM per frame (docs/speed.md)",
    };

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("evaluate",
            "Every picture of --images to a video at each of --motion-buckets (and at --motion-bucket, which gives the main figures), " +
            "each scored against the picture: first-frame PSNR, motion-fit PSNR (later frames against the best zoom + shift of the " +
            "picture) and motion (mean frame difference, camera displacement in pixels). Prints a table per picture, the averages, " +
            "the mean motion per bucket and the ratio of motion at the highest to the lowest bucket. Exit code 1 for an empty folder " +
            "or an unreadable picture. See docs/quality.md.")
        {
            ImagesOption, CliOptions.Model, BucketsOption, JsonOption, VcutOption, AgainstOption,
        }.With(CliOptions.Video, CliOptions.Execution);
        command.SetAction((parse, cancellationToken) => Task.FromResult(Run(parse, cancellationToken)));
        return command;
    }

    private static int Run(ParseResult parse, CancellationToken cancellationToken)
    {
        var folder = parse.GetValue(ImagesOption)!;
        var modelDirectory = parse.GetValue(CliOptions.Model) ?? VideoGenerator.DefaultModelDirectory;
        var options = CliOptions.ReadVideo(parse);
        var execution = CliOptions.ReadExecution(parse);
        var vcut = parse.GetValue(VcutOption) is { } mode ? CliOptions.ParseVcut(mode) : (Vcut.Graph.Vcut.VcutMode?)null;
        var buckets = ParseBuckets(parse.GetValue(BucketsOption));
        var jsonPath = parse.GetValue(JsonOption);

        // Bad data before any video: a missing or empty folder, a picture that does not decode (named in the message).
        var pictures = ListPictures(folder);
        foreach (var path in pictures)
        {
            RgbImage.Load(path);
        }
        if (jsonPath is not null && Path.GetDirectoryName(Path.GetFullPath(jsonPath)) is { } jsonFolder)
        {
            Directory.CreateDirectory(jsonFolder);
        }

        using var generator = VideoGenerator.Open(modelDirectory, execution, vcut, CliOptions.ReadStepCacheBranch(parse, options));
        // The reference: the original UNet (a directory rewritten on disk can only run in its own mode), every step full.
        using var reference = parse.GetValue(AgainstOption)
            ? VideoGenerator.Open(modelDirectory, execution, generator.Manifest.Vcut == Vcut.Graph.Vcut.VcutMode.Off ? Vcut.Graph.Vcut.VcutMode.Off : null)
            : null;
        Console.Error.WriteLine($"Model {Path.GetFullPath(modelDirectory)} ({generator.Manifest.Preset}, {generator.Manifest.Weights}) on {generator.Device}, VCUT {generator.Vcut.ToString().ToLowerInvariant()}" +
            $", step cache {options.StepCacheInterval}, guidance on {options.GuidedSteps} of {options.Steps} steps" +
            (options.GuidanceInterval > 1 ? $" (unconditional row every {options.GuidanceInterval})" : "") +
            (reference is null ? "" : $"; against VCUT {reference.Vcut.ToString().ToLowerInvariant()} without step cache, guidance on every step"));
        var results = new List<(string Path, VideoEvaluation Evaluation)>();
        for (var i = 0; i < pictures.Count; i++)
        {
            var name = Path.GetFileName(pictures[i]);
            Console.Error.WriteLine($"[{i + 1}/{pictures.Count}] {name}");
            var image = RgbImage.Load(pictures[i]);
            var evaluation = reference is null
                ? VideoEvaluator.Evaluate(generator, image, options, buckets, new StatusLines(), cancellationToken)
                : VideoEvaluator.Evaluate(generator, image, options, buckets, reference, new StatusLines(), cancellationToken);
            results.Add((pictures[i], evaluation));
            PrintPicture(name, evaluation, options.MotionBucketId);
        }
        var summary = Summarize(results.Select(r => r.Evaluation).ToList(), buckets);
        PrintSummary(summary, results.Count, options.MotionBucketId);
        if (jsonPath is not null)
        {
            CliOptions.WriteJson(jsonPath, Document(generator, modelDirectory, options, buckets, results, summary));
            Console.WriteLine($"Wrote {Path.GetFullPath(jsonPath)}");
        }
        return 0;
    }

    private static List<int> ParseBuckets(string? text)
    {
        if (text is null)
        {
            return [.. VideoEvaluator.DefaultMotionBuckets];
        }
        var buckets = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var bucket))
            {
                throw new UsageException($"--motion-buckets expects non-negative integers separated by commas (e.g. 10,127,250), got '{text}'.");
            }
            buckets.Add(bucket);
        }
        return buckets;
    }

    /// <summary>The pictures directly in <paramref name="folder"/>, by name (ordinal); hidden files are left out.</summary>
    internal static List<string> ListPictures(string folder)
    {
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"--images '{folder}' is not a folder.");
        }
        var pictures = Directory.EnumerateFiles(folder)
            .Where(f => !Path.GetFileName(f).StartsWith('.') && Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
            .ToList();
        if (pictures.Count == 0)
        {
            throw new InvalidDataException($"No pictures ({string.Join(", ", Extensions)}) in '{Path.GetFullPath(folder)}'.");
        }
        return pictures;
    }

    private static void PrintPicture(string name, VideoEvaluation evaluation, float mainBucket)
    {
        Console.WriteLine($"{name}: {evaluation.FrameCount} frames of {evaluation.Width}×{evaluation.Height}");
        var against = evaluation.Main.Against is not null;
        Console.WriteLine("    bucket  first PSNR    fit PSNR  frame diff  camera px  last move (zoom, dx, dy)" + (against ? "   vs reference (PSNR, SSIM)" : ""));
        var rows = evaluation.Buckets.Append(evaluation.Main).Distinct().OrderBy(b => b.MotionBucketId);
        foreach (var row in rows)
        {
            var quality = row.Quality;
            var last = quality.MotionFit.Frames.Count > 0 ? quality.MotionFit.Frames[^1].Move : CameraMove.Identity;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {(row.MotionBucketId == mainBucket ? '*' : ' ')}{row.MotionBucketId,7:0.##}  {Db(quality.FirstFramePsnr),10}  {Db(quality.MotionFitPsnr),10}  {quality.Motion.MeanFrameDifference,10:F4}  {quality.Motion.CameraDisplacement,9:F2}  {last.Zoom:F3}, {last.ShiftX:+0.00;-0.00}, {last.ShiftY:+0.00;-0.00}") +
                (row.Against is { } a ? string.Create(CultureInfo.InvariantCulture, $"   {Db(a.MeanPsnr)}, {a.MeanSsim:F4}") : ""));
        }
        Console.WriteLine();
    }

    private static string Db(double value) =>
        double.IsFinite(value) ? string.Create(CultureInfo.InvariantCulture, $"{value:F2} dB") : "n/a";

    /// <summary>The averages over the pictures: the main figures, and the motion per bucket.</summary>
    private sealed record Summary(double FirstFramePsnr, double MotionFitPsnr, double MeanFrameDifference, double CameraDisplacement,
        IReadOnlyList<BucketSummary> Buckets, double? FrameDifferenceRatio, double? DisplacementRatio, double? AgainstPsnr, double? AgainstSsim);

    private sealed record BucketSummary(float MotionBucketId, double FirstFramePsnr, double MotionFitPsnr, double MeanFrameDifference, double CameraDisplacement);

    private static Summary Summarize(IReadOnlyList<VideoEvaluation> evaluations, IReadOnlyList<int> buckets)
    {
        var main = evaluations.Select(e => e.Main.Quality).ToList();
        var perBucket = buckets.Distinct().Order().Select(bucket =>
        {
            var qualities = evaluations.Select(e => e.Buckets.Single(b => b.MotionBucketId == bucket).Quality).ToList();
            return new BucketSummary(bucket, qualities.Average(q => q.FirstFramePsnr), qualities.Average(q => q.MotionFitPsnr),
                qualities.Average(q => q.Motion.MeanFrameDifference), qualities.Average(q => q.Motion.CameraDisplacement));
        }).ToList();
        double? Ratio(Func<BucketSummary, double> motion) =>
            perBucket.Count >= 2 && motion(perBucket[0]) > 0 ? motion(perBucket[^1]) / motion(perBucket[0]) : null;
        return new Summary(main.Average(q => q.FirstFramePsnr), main.Average(q => q.MotionFitPsnr),
            main.Average(q => q.Motion.MeanFrameDifference), main.Average(q => q.Motion.CameraDisplacement),
            perBucket, Ratio(b => b.MeanFrameDifference), Ratio(b => b.CameraDisplacement),
            evaluations.All(e => e.Main.Against is not null) ? evaluations.Average(e => e.Main.Against!.MeanPsnr) : null,
            evaluations.All(e => e.Main.Against is not null) ? evaluations.Average(e => e.Main.Against!.MeanSsim) : null);
    }

    private static void PrintSummary(Summary summary, int pictures, float mainBucket)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Averages over {pictures} picture(s) at motion bucket {mainBucket:0.##}: first-frame PSNR {Db(summary.FirstFramePsnr)}, motion-fit PSNR {Db(summary.MotionFitPsnr)}, " +
            $"frame difference {summary.MeanFrameDifference:F4}, camera displacement {summary.CameraDisplacement:F2} px") +
            (summary.AgainstPsnr is { } p ? string.Create(CultureInfo.InvariantCulture, $"; against the reference PSNR {Db(p)}, SSIM {summary.AgainstSsim:F4}") : ""));
        if (summary.Buckets.Count == 0)
        {
            return;
        }
        Console.WriteLine("Motion per bucket (means over the pictures):");
        Console.WriteLine("    bucket  frame diff  camera px    fit PSNR");
        foreach (var bucket in summary.Buckets)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   {bucket.MotionBucketId,7:0.##}  {bucket.MeanFrameDifference,10:F4}  {bucket.CameraDisplacement,9:F2}  {Db(bucket.MotionFitPsnr),10}"));
        }
        if (summary.Buckets.Count >= 2)
        {
            static string Times(double? ratio) => ratio is { } r ? string.Create(CultureInfo.InvariantCulture, $"{r:F2}×") : "n/a (no motion at the lowest bucket)";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Motion at bucket {summary.Buckets[^1].MotionBucketId:0.##} vs {summary.Buckets[0].MotionBucketId:0.##}: frame difference {Times(summary.FrameDifferenceRatio)}, camera displacement {Times(summary.DisplacementRatio)}"));
        }
    }

    private static object Document(VideoGenerator generator, string modelDirectory, VideoGenerationOptions options, IReadOnlyList<int> buckets,
        List<(string Path, VideoEvaluation Evaluation)> results, Summary summary) => new
    {
        model = new
        {
            directory = Path.GetFullPath(modelDirectory),
            preset = generator.Manifest.Preset,
            weights = generator.Manifest.Weights.ToString(),
            vcut = generator.Vcut.ToString().ToLowerInvariant(),
            device = generator.Device.ToString().ToLowerInvariant(),
        },
        options = new
        {
            frames = results[0].Evaluation.FrameCount,
            height = results[0].Evaluation.Height,
            width = results[0].Evaluation.Width,
            steps = options.Steps,
            fps = options.Fps,
            motionBucket = options.MotionBucketId,
            noiseAug = options.NoiseAugStrength,
            minGuidance = options.MinGuidanceScale,
            maxGuidance = options.MaxGuidanceScale,
            seed = options.Seed,
            decodeChunk = options.DecodeChunkSize,
            stepCache = options.StepCacheInterval,
            stepCacheBranch = generator.StepCache?.Branch,
            guidanceFraction = options.GuidanceStepFraction,
            guidanceInterval = options.GuidanceInterval,
        },
        motionBuckets = buckets.Distinct().Order().ToList(),
        pictures = results.Select(r => new
        {
            name = Path.GetFileName(r.Path),
            path = Path.GetFullPath(r.Path),
            main = Bucket(r.Evaluation.Main),
            buckets = r.Evaluation.Buckets.Select(Bucket).ToList(),
        }).ToList(),
        averages = new
        {
            firstFramePsnr = Finite(summary.FirstFramePsnr),
            motionFitPsnr = Finite(summary.MotionFitPsnr),
            meanFrameDifference = Finite(summary.MeanFrameDifference),
            cameraDisplacement = Finite(summary.CameraDisplacement),
            againstPsnr = summary.AgainstPsnr is { } ap ? Finite(ap) : null,
            againstSsim = summary.AgainstSsim,
        },
        buckets = summary.Buckets.Select(b => new
        {
            motionBucket = b.MotionBucketId,
            firstFramePsnr = Finite(b.FirstFramePsnr),
            motionFitPsnr = Finite(b.MotionFitPsnr),
            meanFrameDifference = Finite(b.MeanFrameDifference),
            cameraDisplacement = Finite(b.CameraDisplacement),
        }).ToList(),
        motionRatio = summary.Buckets.Count >= 2
            ? new
            {
                lowestBucket = summary.Buckets[0].MotionBucketId,
                highestBucket = summary.Buckets[^1].MotionBucketId,
                frameDifference = summary.FrameDifferenceRatio is { } f ? Finite(f) : null,
                cameraDisplacement = summary.DisplacementRatio is { } d ? Finite(d) : null,
            }
            : null,
    };

    private static object Bucket(BucketEvaluation bucket) => new
    {
        motionBucket = bucket.MotionBucketId,
        firstFramePsnr = Finite(bucket.Quality.FirstFramePsnr),
        motionFitPsnr = Finite(bucket.Quality.MotionFitPsnr),
        meanFrameDifference = Finite(bucket.Quality.Motion.MeanFrameDifference),
        cameraDisplacement = Finite(bucket.Quality.Motion.CameraDisplacement),
        generationSeconds = bucket.Statistics.TotalTime.TotalSeconds,
        against = bucket.Against is { } a ? new { psnr = Finite(a.MeanPsnr), ssim = a.MeanSsim, referenceSeconds = bucket.ReferenceStatistics?.TotalTime.TotalSeconds } : null,
        fits = bucket.Quality.MotionFit.Frames.Select(f => new
        {
            frame = f.Frame,
            zoom = f.Move.Zoom,
            shiftX = f.Move.ShiftX,
            shiftY = f.Move.ShiftY,
            psnr = Finite(f.Psnr),
            validFraction = f.ValidFraction,
        }).ToList(),
    };

    /// <summary>JSON has no NaN: a figure that does not exist (motion fit of a one-frame video) is null.</summary>
    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>One line per finished video on the error stream, written on the calling thread.</summary>
    private sealed class StatusLines : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress value) =>
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  motion bucket {value.MotionBucketId:0.##}: {value.Elapsed.TotalSeconds:F1} s ({value.Done}/{value.Total})"));
    }
}
