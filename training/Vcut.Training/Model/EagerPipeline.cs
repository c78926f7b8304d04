using System.Diagnostics;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Scheduling;
using static TorchSharp.torch;

namespace Vcut.Training.Model;

/// <summary>What one eager video cost.</summary>
/// <param name="Frames">(F, 3, H, W) in [0, 1].</param>
/// <param name="UNetCalls">The duration of each UNet call.</param>
/// <param name="Total">The whole video, image in to frames out.</param>
public sealed record EagerVideo(Tensor Frames, IReadOnlyList<TimeSpan> UNetCalls, TimeSpan Total);

/// <summary>
/// SVD image-to-video in eager TorchSharp (LibTorch) on <see cref="SvdNetworks"/>: the PyTorch-eager peer of the
/// project's ONNX Runtime pipeline in the side-by-side benchmark. It follows the same steps with the same settings
/// (CLIP embedding, noise-augmented image latent, Euler–Karras v-prediction with the per-frame guidance ramp, the
/// temporal decoder); the schedule's numbers come from the runtime's scheduler, so both run identical arithmetic.
/// </summary>
public sealed class EagerPipeline(SvdNetworks networks)
{
    /// <summary>Generates one video.</summary>
    public EagerVideo Generate(RgbImage image, VideoGenerationOptions options, int frames, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(options);
        var architecture = networks.Parameters.Preset.Architecture;
        var clock = Stopwatch.StartNew();
        var calls = new List<TimeSpan>();
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var g = new Generator(options.Seed);

        var clipPixels = tensor(ClipImagePreprocessor.Preprocess(image), [1, 3, ClipImagePreprocessor.Size, ClipImagePreprocessor.Size]);
        var embedding = networks.ImageEncoder(clipPixels);                          // (1, cross)
        var resized = tensor(LanczosResizer.Resize(image, width, height).Pixels, [1, 3, height, width]) * 2 - 1;
        var conditioning = networks.VaeEncoder(resized + randn(resized.shape, generator: g) * options.NoiseAugStrength).Mean;

        var rows = options.GuidanceEnabled ? 2 : 1;
        var channels = architecture.Vae.LatentChannels;
        var factor = architecture.Vae.DownscaleFactor;
        var scheduler = new EulerKarrasScheduler(options.Steps);
        var latents = randn([1, frames, channels, height / factor, width / factor], generator: g) * scheduler.InitNoiseSigma;
        // Row 0 unconditional (zero image latent, zero CLIP context) when guidance is on, as the pipeline does.
        var context = rows == 2 ? cat([zeros_like(embedding), embedding], 0).unsqueeze(1) : embedding.unsqueeze(1);
        var imageLatents = (rows == 2 ? cat([zeros_like(conditioning), conditioning], 0) : conditioning)
            .unsqueeze(1).expand(-1, frames, -1, -1, -1);
        var timeIds = tensor(new[] { options.Fps - 1, options.MotionBucketId, options.NoiseAugStrength }).unsqueeze(0).expand(rows, -1);
        var guidance = tensor(new ClassifierFreeGuidance(options.MinGuidanceScale, options.MaxGuidanceScale).FrameScales(frames))
            .reshape(1, frames, 1, 1, 1);

        for (var step = 0; step < options.Steps; step++)
        {
            using var stepScope = NewDisposeScope();
            var sigma = scheduler.Sigmas[step];
            var scaled = (latents * scheduler.InputScale(step)).expand(rows, -1, -1, -1, -1);
            var sample = cat([scaled, imageLatents], 2);
            var callClock = Stopwatch.StartNew();
            var velocity = networks.UNet(sample, tensor(new[] { scheduler.Timesteps[step] }), context, timeIds);
            calls.Add(callClock.Elapsed);
            var v = rows == 2 ? velocity[0..1] + guidance * (velocity[1..2] - velocity[0..1]) : velocity;
            var denoised = v * (-sigma / MathF.Sqrt(sigma * sigma + 1)) + latents / (sigma * sigma + 1);
            var derivative = (latents - denoised) / sigma;
            latents.add_(derivative * (scheduler.Sigmas[step + 1] - sigma));
        }
        var decoded = networks.VaeDecoder(latents.squeeze(0) / architecture.Vae.ScalingFactor, frames);
        var video = ((decoded + 1) / 2).clamp(0, 1).MoveToOuterDisposeScope();
        return new EagerVideo(video, calls, clock.Elapsed);
    }
}
