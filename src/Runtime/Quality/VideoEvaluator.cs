using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;

namespace Vcut.Runtime.Quality;

/// <summary>The figures of the video generated at one motion bucket.</summary>
/// <param name="MotionBucketId">The motion bucket id the video was generated with.</param>
/// <param name="Quality">Its figures against the input picture.</param>
/// <param name="Statistics">Its generation's calls and timings.</param>
/// <param name="Against">
/// With a reference: the video against the reference video of the same picture, seed and latents (the same settings
/// without the speed-ups), frame by frame (<see cref="VideoQuality.Compare"/>); null otherwise.
/// </param>
/// <param name="ReferenceStatistics">With a reference: the reference video's calls and timings.</param>
public sealed record BucketEvaluation(float MotionBucketId, VideoQualityReport Quality, GenerationStatistics Statistics,
    VideoComparison? Against = null, GenerationStatistics? ReferenceStatistics = null);

/// <summary>One picture evaluated: the video at the options' motion bucket, and the videos at each motion bucket asked for.</summary>
/// <param name="Width">The videos' width in pixels.</param>
/// <param name="Height">The videos' height in pixels.</param>
/// <param name="FrameCount">The videos' frame count.</param>
/// <param name="Main">The video at the options' <see cref="VideoGenerationOptions.MotionBucketId"/>: the main figures.</param>
/// <param name="Buckets">The videos at the motion buckets asked for, by ascending bucket, each bucket once (the same object as <paramref name="Main"/> for its bucket).</param>
public sealed record VideoEvaluation(int Width, int Height, int FrameCount, BucketEvaluation Main, IReadOnlyList<BucketEvaluation> Buckets);

/// <summary>Reported after each video of an evaluation.</summary>
/// <param name="MotionBucketId">The bucket of the video just evaluated.</param>
/// <param name="Done">Videos evaluated so far.</param>
/// <param name="Total">Videos of this picture.</param>
/// <param name="Elapsed">Time spent on this video (generation and figures).</param>
public readonly record struct EvaluationProgress(float MotionBucketId, int Done, int Total, TimeSpan Elapsed);

/// <summary>
/// The evaluation of the generator on one picture: a video per motion bucket, each scored by <see cref="VideoQuality.Evaluate"/>
/// against the picture resized (Lanczos, as the pipeline's conditioning image) to the video's size. What <c>vcut evaluate</c>
/// runs per picture.
/// </summary>
public static class VideoEvaluator
{
    /// <summary>The motion buckets <c>vcut evaluate</c> generates by default: low, SVD's default, high.</summary>
    public static IReadOnlyList<int> DefaultMotionBuckets { get; } = [10, 127, 250];

    /// <summary>
    /// Generates <paramref name="image"/>'s video with <paramref name="options"/> at each of <paramref name="motionBuckets"/>
    /// and at the options' own bucket (once, if it is not in the list), and scores each.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, or a negative motion bucket.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static VideoEvaluation Evaluate(VideoGenerator generator, RgbImage image, VideoGenerationOptions options,
        IReadOnlyList<int> motionBuckets, CancellationToken cancellationToken = default) =>
        Evaluate(generator, image, options, motionBuckets, progress: null, cancellationToken);

    /// <summary>As <see cref="Evaluate(VideoGenerator, RgbImage, VideoGenerationOptions, IReadOnlyList{int}, CancellationToken)"/>, reporting each video's end to <paramref name="progress"/>.</summary>
    /// <exception cref="ArgumentException">Invalid options, or a negative motion bucket.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static VideoEvaluation Evaluate(VideoGenerator generator, RgbImage image, VideoGenerationOptions options,
        IReadOnlyList<int> motionBuckets, IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return Evaluate((o, token) => generator.Generate(image, o, cancellationToken: token), image, options, motionBuckets, progress, cancellationToken);
    }

    /// <summary>
    /// As <see cref="Evaluate(VideoGenerator, RgbImage, VideoGenerationOptions, IReadOnlyList{int}, IProgress{EvaluationProgress}?, CancellationToken)"/>,
    /// and each video also against the video <paramref name="reference"/> makes of the same picture with
    /// <paramref name="options"/> less the speed-ups (step cache interval 1, guidance at every step): the same seed, so
    /// the same initial latents. Open the reference without VCUT or a step-cache branch to measure what they cost.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, or a negative motion bucket.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static VideoEvaluation Evaluate(VideoGenerator generator, RgbImage image, VideoGenerationOptions options,
        IReadOnlyList<int> motionBuckets, VideoGenerator reference, IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(reference);
        return Evaluate((o, token) => generator.Generate(image, o, cancellationToken: token), image, options, motionBuckets, progress, cancellationToken,
            (o, token) => reference.Generate(image, WithoutSpeedUps(o), cancellationToken: token));
    }

    /// <summary>The options of the reference video: the same video, sampled as SVD samples it.</summary>
    public static VideoGenerationOptions WithoutSpeedUps(VideoGenerationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with { StepCacheInterval = 1, GuidanceStepFraction = 1f, GuidanceInterval = 1 };
    }

    /// <summary>The evaluation with any video source (tests give synthetic videos).</summary>
    internal static VideoEvaluation Evaluate(Func<VideoGenerationOptions, CancellationToken, GeneratedVideo> generate, RgbImage image,
        VideoGenerationOptions options, IReadOnlyList<int> motionBuckets, IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken,
        Func<VideoGenerationOptions, CancellationToken, GeneratedVideo>? generateReference = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(motionBuckets);
        options.Validate();
        if (motionBuckets.FirstOrDefault(b => b < 0) is var negative and < 0)
        {
            throw new ArgumentException($"Motion bucket {negative} must be a non-negative number.", nameof(motionBuckets));
        }
        var buckets = motionBuckets.Distinct().Order().Select(b => (float)b).ToList();
        var all = buckets.Contains(options.MotionBucketId) ? buckets : [.. buckets, options.MotionBucketId];
        var results = new Dictionary<float, BucketEvaluation>();
        RgbImage? input = null;
        (int Frames, int Height, int Width)? shape = null;
        foreach (var bucket in all)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var video = generate(options with { MotionBucketId = bucket }, cancellationToken);
            shape ??= (video.FrameCount, video.Height, video.Width);
            input ??= LanczosResizer.Resize(image, video.Width, video.Height);
            var referenceVideo = generateReference?.Invoke(options with { MotionBucketId = bucket }, cancellationToken);
            results[bucket] = new BucketEvaluation(bucket, VideoQuality.Evaluate(video, input), video.Statistics,
                referenceVideo is null ? null : VideoQuality.Compare(referenceVideo, video), referenceVideo?.Statistics);
            progress?.Report(new EvaluationProgress(bucket, results.Count, all.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started)));
        }
        var (frames, height, width) = shape!.Value;
        return new VideoEvaluation(width, height, frames, results[options.MotionBucketId], buckets.Select(b => results[b]).ToList());
    }
}
