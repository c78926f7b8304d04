namespace Vcut.Runtime.Pipeline;

/// <summary>
/// What one video should be: SVD's sampling settings (docs/svd.md, "Sampling"), immutable and validated up front by
/// <see cref="Validate"/>. Null sizes take the model directory's defaults.
/// </summary>
public sealed record VideoGenerationOptions
{
    /// <summary>Frames per video; null = the model's default (14 for svd, 25 for svd-xt).</summary>
    public int? Frames { get; init; }

    /// <summary>Denoising steps (25).</summary>
    public int Steps { get; init; } = 25;

    /// <summary>Video height in pixels, a multiple of 8; null = the model's default.</summary>
    public int? Height { get; init; }

    /// <summary>Video width in pixels, a multiple of 8; null = the model's default.</summary>
    public int? Width { get; init; }

    /// <summary>Frames per second the model is conditioned on (7); it receives fps − 1.</summary>
    public float Fps { get; init; } = 7;

    /// <summary>Motion bucket id (127): more means more motion.</summary>
    public float MotionBucketId { get; init; } = 127;

    /// <summary>Noise added to the conditioning image (0.02).</summary>
    public float NoiseAugStrength { get; init; } = 0.02f;

    /// <summary>Guidance scale of the first frame (1.0).</summary>
    public float MinGuidanceScale { get; init; } = 1.0f;

    /// <summary>Guidance scale of the last frame (3.0); at most 1 turns guidance off and halves the UNet batch.</summary>
    public float MaxGuidanceScale { get; init; } = 3.0f;

    /// <summary>Frames decoded per VAE call; null = all frames at once.</summary>
    public int? DecodeChunkSize { get; init; }

    /// <summary>Seed of the noise: the same seed gives the same video on the same provider.</summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// Initial latents (frames × 4 × H/8 × W/8) to use instead of drawing them, as the reference pipeline's
    /// <c>latents</c> argument; they are multiplied by the scheduler's initial sigma like drawn ones.
    /// </summary>
    public float[]? InitialLatents { get; init; }

    /// <summary>
    /// Step-level caching: the full UNet runs every this many steps (from the first) and the steps between reuse its
    /// deep features, computing only the outer levels (1 = every step runs the full UNet, no caching). Needs a
    /// generator opened with a step-cache branch (<see cref="VideoGenerator.Open"/>).
    /// </summary>
    public int StepCacheInterval { get; init; } = 1;

    /// <summary>
    /// Guidance economy: the fraction of the steps, from the first, that run the unconditional row of classifier-free
    /// guidance; the later steps (the low-noise end, where the guided and conditional predictions are closest) run the
    /// conditional row alone, at half the UNet batch. 1 = every step (SVD's sampler). The step count is rounded, and at
    /// least one step keeps guidance.
    /// </summary>
    public float GuidanceStepFraction { get; init; } = 1f;

    /// <summary>
    /// Guidance reuse: among the guided steps (<see cref="GuidanceStepFraction"/>), the unconditional row runs every this
    /// many steps (from the first); the guided steps between run the conditional row alone, at half the UNet batch,
    /// and apply guidance with the difference between the conditional and unconditional predictions of the last step
    /// that ran both. 1 = both rows at every guided step (SVD's sampler).
    /// </summary>
    public int GuidanceInterval { get; init; } = 1;

    /// <summary>Whether step <paramref name="step"/> (from 0) runs the unconditional row as well as the conditional one.</summary>
    public bool RunsUnconditionalRow(int step) => step < GuidedSteps && step % GuidanceInterval == 0;

    /// <summary>The steps that apply guidance (see <see cref="GuidanceStepFraction"/>); 0 without guidance.</summary>
    public int GuidedSteps => !GuidanceEnabled ? 0 : Math.Clamp((int)Math.Round(GuidanceStepFraction * (double)Steps), 1, Steps);

    /// <summary>The most denoising steps a video may take (SVD uses 25; the scheduler keeps one sigma per step).</summary>
    public const int MaxSteps = 10_000;

    /// <summary>Whether classifier-free guidance runs (the UNet then sees 2 rows per video).</summary>
    public bool GuidanceEnabled => MaxGuidanceScale > 1f;

    /// <summary>UNet batch rows per video: 2 with guidance (unconditional, conditional), else 1.</summary>
    public int GuidanceRows => GuidanceEnabled ? 2 : 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and what was expected.</summary>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException($"Invalid video options: {message}.");
            }
        }
        Require(Frames is null or >= 1, $"frames = {Frames} must be at least 1");
        Require(Steps >= 1, $"steps = {Steps} must be at least 1");
        Require(Steps <= MaxSteps, $"steps = {Steps} must be at most {MaxSteps}");
        Require(Height is null or > 0 && (Height ?? 8) % 8 == 0, $"height = {Height} must be a positive multiple of 8");
        Require(Width is null or > 0 && (Width ?? 8) % 8 == 0, $"width = {Width} must be a positive multiple of 8");
        Require(float.IsFinite(Fps) && Fps > 0, $"fps = {Fps} must be a positive number");
        Require(float.IsFinite(MotionBucketId) && MotionBucketId >= 0, $"motion bucket id = {MotionBucketId} must be a non-negative number");
        Require(float.IsFinite(NoiseAugStrength) && NoiseAugStrength >= 0, $"noise augmentation strength = {NoiseAugStrength} must be a non-negative number");
        Require(float.IsFinite(MinGuidanceScale), $"min guidance scale = {MinGuidanceScale} must be a finite number");
        Require(float.IsFinite(MaxGuidanceScale), $"max guidance scale = {MaxGuidanceScale} must be a finite number");
        Require(DecodeChunkSize is null or >= 1, $"decode chunk size = {DecodeChunkSize} must be at least 1");
        Require(InitialLatents is null || InitialLatents.All(float.IsFinite), "initial latents must be finite");
        Require(StepCacheInterval is >= 1 and <= MaxSteps, $"step cache interval = {StepCacheInterval} must be at least 1 (1 = no caching) and at most {MaxSteps}");
        Require(float.IsFinite(GuidanceStepFraction) && GuidanceStepFraction is > 0 and <= 1,
            $"guidance step fraction = {GuidanceStepFraction} must be in (0, 1] (1 = guidance at every step)");
        Require(GuidanceInterval is >= 1 and <= MaxSteps,
            $"guidance interval = {GuidanceInterval} must be at least 1 (1 = the unconditional row at every guided step) and at most {MaxSteps}");
    }
}
