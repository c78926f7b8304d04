using Vcut.Graph.Architecture;
using Vcut.Graph.Onnx;

namespace Vcut.Runtime.Pipeline;

/// <summary>
/// A rough upper estimate of one video's peak memory on the CPU provider, so a request that cannot fit is refused
/// before it starts instead of failing deep inside ONNX Runtime. The activation terms count the largest tensors
/// alive at once; the factors were calibrated against measured peaks (docs/pipeline.md).
/// </summary>
/// <param name="WeightBytes">Parameters as loaded by the sessions.</param>
/// <param name="UNetActivationBytes">Peak activations of one UNet call.</param>
/// <param name="DecoderActivationBytes">Peak activations of one VAE decoder call.</param>
public sealed record MemoryEstimate(long WeightBytes, long UNetActivationBytes, long DecoderActivationBytes)
{
    // Live tensors of the UNet's first level relative to one (N·F, C, h, w) activation: the GEGLU projection (8C),
    // its gated half and GELU temporaries, q/k/v, the skip stack and the residual stream. Calibrated on the small
    // preset (14 frames, 320×576, guidance, decode chunk 1: 1.80 GB measured peak, 1.88 GB estimated).
    private const double UNetLiveFactor = 48;
    // Live tensors of the decoder's full-resolution level relative to one (f, C, H, W) activation. Calibrated on the
    // small preset (14 frames decoded at once at 320×576: 5.38 GB measured peak, 5.5 GB estimated).
    private const double DecoderLiveFactor = 14;
    // Sessions keep the weights plus pre-packed copies of MatMul/Conv weights.
    private const double WeightFactor = 2;
    // The .NET runtime, ONNX Runtime's code and arenas, and the pipeline's own buffers.
    private const long RuntimeOverheadBytes = 256L << 20;

    /// <summary>
    /// Decoding the input picture: <see cref="Imaging.RgbImage.DecodeBytesPerPixel"/> bytes per pixel (its 8-bit samples
    /// and its planar floats, which stay alive while the video is made); 0 when the picture is not counted.
    /// </summary>
    public long InputImageBytes { get; init; }

    /// <summary>The estimated peak: runtime overhead, weights, the input picture and the larger of the two activation peaks.</summary>
    public long TotalBytes => RuntimeOverheadBytes + WeightBytes + InputImageBytes + Math.Max(UNetActivationBytes, DecoderActivationBytes);

    /// <summary>
    /// Estimates a video of <paramref name="frames"/> frames at <paramref name="height"/>×<paramref name="width"/>, made
    /// from a picture of <paramref name="inputPixels"/> pixels (0: the picture is not counted).
    /// </summary>
    public static MemoryEstimate For(SvdArchitecture architecture, AttentionForm attention, long parameterBytes,
        int frames, int height, int width, bool guidance, int decodeChunk, long inputPixels = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputPixels);
        ArgumentNullException.ThrowIfNull(architecture);
        var rows = guidance ? 2L : 1L;
        var factor = architecture.Vae.DownscaleFactor;
        long tokens = (long)(height / factor) * (width / factor);
        var firstWidth = architecture.UNet.BlockOutChannels[0];
        double unet = UNetLiveFactor * rows * frames * firstWidth * tokens * sizeof(float);
        if (attention == AttentionForm.Plain)
        {
            // The plain form materialises every head's (tokens × tokens) scores, twice (scores and softmax).
            unet += 2.0 * rows * frames * architecture.UNet.NumAttentionHeads[0] * tokens * tokens * sizeof(float);
        }
        double decoder = DecoderLiveFactor * Math.Min(decodeChunk, frames) * architecture.Vae.BlockOutChannels[0] * (double)height * width * sizeof(float);
        return new MemoryEstimate((long)(WeightFactor * parameterBytes), Saturate(unet), Saturate(decoder))
        {
            InputImageBytes = Saturate((double)inputPixels * Imaging.RgbImage.DecodeBytesPerPixel),
        };
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"≈{Gib(TotalBytes)} (weights {Gib(WeightBytes)}, UNet activations {Gib(UNetActivationBytes)}, decoder activations {Gib(DecoderActivationBytes)}" +
        (InputImageBytes > 0 ? $", input picture {Gib(InputImageBytes)})" : ")");

    // Sizes that would overflow a long (absurd frame counts or sizes) stay huge instead of wrapping to negative.
    private static long Saturate(double bytes) => bytes >= long.MaxValue / 4 ? long.MaxValue / 4 : (long)bytes;

    private static string Gib(long bytes) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB");
}
