using System.Buffers;
using System.Numerics.Tensors;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;

namespace Vcut.Runtime.Quality;

/// <summary>
/// Quality figures of a generated video against its input picture (resized to the video's size): how close the first
/// frame is to the input (<see cref="FirstFramePsnr"/>), how well global camera moves of the input explain the later
/// frames (<see cref="MotionFitPsnr"/>), how much the video moves (<see cref="Motion(GeneratedVideo, MotionFit)"/>), and
/// the PSNR / SSIM helpers they are built from. Values are planar RGB floats in [0, 1]; the formulas are in docs/quality.md.
/// </summary>
public static class VideoQuality
{
    /// <summary>The PSNR reported for identical signals (an MSE of 1e−10 or less), so that every figure stays finite.</summary>
    public const double MaxPsnr = 100;

    /// <summary>SSIM's C1 = (0.01 · L)² for a dynamic range L of 1.</summary>
    public const double SsimC1 = 0.01 * 0.01;

    /// <summary>SSIM's C2 = (0.03 · L)² for a dynamic range L of 1.</summary>
    public const double SsimC2 = 0.03 * 0.03;

    /// <summary>The SSIM window: a Gaussian of this many taps per side (fewer for pictures smaller than it) …</summary>
    public const int SsimWindow = 11;

    /// <summary>… and of this standard deviation, in pixels.</summary>
    public const double SsimSigma = 1.5;

    /// <summary>
    /// PSNR in dB with a peak of 1: 10 · log10(1 / MSE), MSE the mean of (a − b)² over all values; at most <see cref="MaxPsnr"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The spans are empty or of different lengths.</exception>
    public static double Psnr(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        RequireSameLength(a, b);
        var distance = (double)TensorPrimitives.Distance(a, b);
        return PsnrOfMse(distance * distance / a.Length);
    }

    /// <summary>
    /// PSNR in dB over the values <paramref name="mask"/> selects: MSE = Σ m·(a − b)² / Σ m. The mask has one weight
    /// (normally 0 or 1) per value, or one per value of a plane that repeats over the planes of <paramref name="a"/> (a
    /// per-pixel mask of planar RGB: length a.Length / 3).
    /// </summary>
    /// <exception cref="ArgumentException">The spans are empty or of different lengths, the mask's length does not divide theirs, or it selects nothing.</exception>
    public static double Psnr(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> mask)
    {
        RequireSameLength(a, b);
        if (mask.IsEmpty || a.Length % mask.Length != 0)
        {
            throw new ArgumentException(
                $"The mask has {mask.Length} values; expected {a.Length} (one per value) or a plane length that divides {a.Length}.", nameof(mask));
        }
        var planes = a.Length / mask.Length;
        var weight = (double)TensorPrimitives.Sum(mask) * planes;
        if (!(weight > 0))
        {
            throw new ArgumentException("The mask selects no value (its weights sum to 0).", nameof(mask));
        }
        var buffer = ArrayPool<float>.Shared.Rent(mask.Length);
        try
        {
            var squares = buffer.AsSpan(0, mask.Length);
            var sum = 0.0;
            for (var p = 0; p < planes; p++)
            {
                TensorPrimitives.Subtract(a.Slice(p * mask.Length, mask.Length), b.Slice(p * mask.Length, mask.Length), squares);
                TensorPrimitives.Multiply(squares, squares, squares);
                sum += TensorPrimitives.Dot(squares, mask);
            }
            return PsnrOfMse(sum / weight);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// SSIM (Wang et al. 2004, single scale) of the luma (0.299 R + 0.587 G + 0.114 B) of two planar RGB pictures of
    /// <paramref name="width"/> × <paramref name="height"/>: the mean over every position of a Gaussian window (11 × 11,
    /// σ = 1.5, wholly inside the picture; a smaller odd window for pictures under 11 pixels) of
    /// (2μaμb + C1)(2σab + C2) / ((μa² + μb² + C1)(σa² + σb² + C2)). 1 for identical pictures.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    /// <exception cref="ArgumentException">A picture does not hold 3 · height · width values.</exception>
    public static double Ssim(ReadOnlySpan<float> a, ReadOnlySpan<float> b, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        RequirePicture(a, width, height, nameof(a));
        RequirePicture(b, width, height, nameof(b));
        return SsimOfLuma(CameraMoveSearch.Luma(a, width, height), CameraMoveSearch.Luma(b, width, height), width, height);
    }

    /// <summary>PSNR in dB of frame 0 of <paramref name="video"/> against <paramref name="input"/> (the picture at the video's size).</summary>
    /// <exception cref="ArgumentException">The video is malformed or the input is not the video's size.</exception>
    public static double FirstFramePsnr(GeneratedVideo video, RgbImage input)
    {
        RequireMatch(video, input);
        return Psnr(video.Frame(0).Span, input.Pixels);
    }

    /// <summary>
    /// For each frame k ≥ 1, the camera move (zoom in [0.8, 1.6], shift within ±25 % of the size) of
    /// <paramref name="input"/> that best explains it, and the PSNR of the frame against the moved input over the valid
    /// pixels (those whose source lies inside the input). The search is coarse to fine on luma pyramids; see docs/quality.md.
    /// </summary>
    /// <exception cref="ArgumentException">The video is malformed or the input is not the video's size.</exception>
    public static MotionFit MotionFitPsnr(GeneratedVideo video, RgbImage input)
    {
        RequireMatch(video, input);
        var width = video.Width;
        var height = video.Height;
        var plane = width * height;
        var search = new CameraMoveSearch(input.Pixels, width, height);
        var warped = new float[3 * plane];
        var mask = new float[plane];
        var fits = new List<FrameFit>(video.FrameCount - 1);
        for (var k = 1; k < video.FrameCount; k++)
        {
            var frame = video.Frame(k).Span;
            var move = search.Fit(frame);
            var valid = CameraMoveSearch.Warp(input.Pixels, width, height, 3, move, warped, mask);
            var psnr = valid > 0 ? Psnr(frame, warped, mask) : 0;
            fits.Add(new FrameFit(k, move, psnr, valid / (double)plane));
        }
        return new MotionFit(fits.Count > 0 ? fits.Average(f => f.Psnr) : double.NaN, fits);
    }

    /// <summary>
    /// The amount of motion of <paramref name="video"/>: the mean absolute difference of consecutive frames, and the
    /// displacement in pixels of the last frame's fitted move (from <paramref name="fit"/>, as <see cref="MotionFitPsnr"/> gives it).
    /// </summary>
    /// <exception cref="ArgumentException">The video is malformed, or the fit is not one of its frames 1..F−1.</exception>
    public static MotionAmount Motion(GeneratedVideo video, MotionFit fit)
    {
        RequireVideo(video);
        ArgumentNullException.ThrowIfNull(fit);
        if (fit.Frames.Count != video.FrameCount - 1)
        {
            throw new ArgumentException($"The motion fit has {fit.Frames.Count} frames, expected {video.FrameCount - 1} (frames 1..F−1 of the video).", nameof(fit));
        }
        var displacement = fit.Frames.Count > 0 ? fit.Frames[^1].Move.Displacement(video.Width, video.Height) : 0;
        return new MotionAmount(MeanFrameDifference(video), displacement);
    }

    /// <summary>The amount of motion of <paramref name="video"/>, fitting the camera moves of <paramref name="input"/> first.</summary>
    /// <exception cref="ArgumentException">The video is malformed or the input is not the video's size.</exception>
    public static MotionAmount Motion(GeneratedVideo video, RgbImage input) => Motion(video, MotionFitPsnr(video, input));

    /// <summary>
    /// The mean over frames k ≥ 1 of the mean absolute difference between frame k and frame k − 1, in [0, 1] units
    /// (0 for a video of one frame).
    /// </summary>
    /// <exception cref="ArgumentException">The video is malformed.</exception>
    public static double MeanFrameDifference(GeneratedVideo video)
    {
        RequireVideo(video);
        if (video.FrameCount < 2)
        {
            return 0;
        }
        var size = 3 * video.Height * video.Width;
        var difference = new float[size];
        var sum = 0.0;
        for (var k = 1; k < video.FrameCount; k++)
        {
            TensorPrimitives.Subtract(video.Frame(k).Span, video.Frame(k - 1).Span, difference);
            sum += TensorPrimitives.SumOfMagnitudes(difference) / (double)size;
        }
        return sum / (video.FrameCount - 1);
    }

    /// <summary>All the figures of <paramref name="video"/> against <paramref name="input"/> (the picture at the video's size), with one motion fit.</summary>
    /// <exception cref="ArgumentException">The video is malformed or the input is not the video's size.</exception>
    public static VideoQualityReport Evaluate(GeneratedVideo video, RgbImage input)
    {
        var first = FirstFramePsnr(video, input);
        var fit = MotionFitPsnr(video, input);
        return new VideoQualityReport(first, fit, Motion(video, fit));
    }

    /// <summary>
    /// Compares two videos of the same frame count and size frame by frame: PSNR over all 3 channels and SSIM of the
    /// luma (as <see cref="Ssim"/>), and their means.
    /// </summary>
    /// <exception cref="ArgumentException">A video is malformed, or they differ in frame count or size.</exception>
    public static VideoComparison Compare(GeneratedVideo videoA, GeneratedVideo videoB)
    {
        RequireVideo(videoA, nameof(videoA));
        RequireVideo(videoB, nameof(videoB));
        if (videoA.FrameCount != videoB.FrameCount || videoA.Width != videoB.Width || videoA.Height != videoB.Height)
        {
            throw new ArgumentException(
                $"The videos differ: {videoB.FrameCount} frames of {videoB.Width}×{videoB.Height}, expected {videoA.FrameCount} frames of " +
                $"{videoA.Width}×{videoA.Height} as the first video.", nameof(videoB));
        }
        var psnr = new double[videoA.FrameCount];
        var ssim = new double[videoA.FrameCount];
        for (var k = 0; k < videoA.FrameCount; k++)
        {
            var a = videoA.Frame(k).Span;
            var b = videoB.Frame(k).Span;
            psnr[k] = Psnr(a, b);
            ssim[k] = Ssim(a, b, videoA.Width, videoA.Height);
        }
        return new VideoComparison(psnr.Average(), ssim.Average(), psnr, ssim);
    }

    private static double PsnrOfMse(double mse) => Math.Min(MaxPsnr, 10 * Math.Log10(1 / Math.Max(mse, 1e-10)));

    private static void RequireSameLength(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.IsEmpty)
        {
            throw new ArgumentException("Expected at least one value to compare, got none.", nameof(a));
        }
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"The second signal has {b.Length} values, expected {a.Length} as the first.", nameof(b));
        }
    }

    private static void RequirePicture(ReadOnlySpan<float> picture, int width, int height, string name)
    {
        if (picture.Length != 3L * width * height)
        {
            throw new ArgumentException($"The picture has {picture.Length} values, expected 3·{height}·{width} = {3L * width * height} (planar RGB).", name);
        }
    }

    private static void RequireVideo(GeneratedVideo video, string name = "video")
    {
        ArgumentNullException.ThrowIfNull(video, name);
        if (video.FrameCount < 1 || video.Width < 1 || video.Height < 1)
        {
            throw new ArgumentException($"Expected a video of at least one frame of at least 1×1 pixels, got {video.FrameCount} frames of {video.Width}×{video.Height}.", name);
        }
        if (video.Frames.LongLength != 3L * video.FrameCount * video.Height * video.Width)
        {
            throw new ArgumentException(
                $"The video holds {video.Frames.LongLength} values, expected {video.FrameCount}·3·{video.Height}·{video.Width} = {3L * video.FrameCount * video.Height * video.Width}.", name);
        }
    }

    private static void RequireMatch(GeneratedVideo video, RgbImage input)
    {
        RequireVideo(video);
        ArgumentNullException.ThrowIfNull(input);
        if (input.Width != video.Width || input.Height != video.Height)
        {
            throw new ArgumentException(
                $"The input picture is {input.Width}×{input.Height}, expected the video's size {video.Width}×{video.Height} " +
                "(resize it first, e.g. with LanczosResizer.Resize).", nameof(input));
        }
    }

    /// <summary>SSIM of two luma planes (see <see cref="Ssim"/>), in double precision.</summary>
    internal static double SsimOfLuma(float[] a, float[] b, int width, int height)
    {
        var size = Math.Min(SsimWindow, Math.Min(width, height));
        if (size % 2 == 0)
        {
            size--;
        }
        var kernel = new double[size];
        for (var i = 0; i < size; i++)
        {
            var t = i - (size - 1) / 2.0;
            kernel[i] = Math.Exp(-t * t / (2 * SsimSigma * SsimSigma));
        }
        var total = kernel.Sum();
        for (var i = 0; i < size; i++)
        {
            kernel[i] /= total;
        }
        var n = width * height;
        var x = new double[n];
        var y = new double[n];
        var xx = new double[n];
        var yy = new double[n];
        var xy = new double[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = a[i];
            y[i] = b[i];
            xx[i] = x[i] * x[i];
            yy[i] = y[i] * y[i];
            xy[i] = x[i] * y[i];
        }
        var outWidth = width - size + 1;
        var outHeight = height - size + 1;
        var muX = Filter(x, width, height, kernel);
        var muY = Filter(y, width, height, kernel);
        var meanXX = Filter(xx, width, height, kernel);
        var meanYY = Filter(yy, width, height, kernel);
        var meanXY = Filter(xy, width, height, kernel);
        var sum = 0.0;
        for (var i = 0; i < outWidth * outHeight; i++)
        {
            var varianceX = meanXX[i] - muX[i] * muX[i];
            var varianceY = meanYY[i] - muY[i] * muY[i];
            var covariance = meanXY[i] - muX[i] * muY[i];
            sum += (2 * muX[i] * muY[i] + SsimC1) * (2 * covariance + SsimC2)
                / ((muX[i] * muX[i] + muY[i] * muY[i] + SsimC1) * (varianceX + varianceY + SsimC2));
        }
        return sum / (outWidth * outHeight);
    }

    /// <summary>Separable filtering with <paramref name="kernel"/> at every position where it lies wholly inside the plane ("valid").</summary>
    private static double[] Filter(double[] plane, int width, int height, double[] kernel)
    {
        var size = kernel.Length;
        var outWidth = width - size + 1;
        var outHeight = height - size + 1;
        var rows = new double[outWidth * height];
        for (var yy = 0; yy < height; yy++)
        {
            for (var xx = 0; xx < outWidth; xx++)
            {
                var sum = 0.0;
                for (var k = 0; k < size; k++)
                {
                    sum += kernel[k] * plane[yy * width + xx + k];
                }
                rows[yy * outWidth + xx] = sum;
            }
        }
        var result = new double[outWidth * outHeight];
        for (var yy = 0; yy < outHeight; yy++)
        {
            for (var xx = 0; xx < outWidth; xx++)
            {
                var sum = 0.0;
                for (var k = 0; k < size; k++)
                {
                    sum += kernel[k] * rows[(yy + k) * outWidth + xx];
                }
                result[yy * outWidth + xx] = sum;
            }
        }
        return result;
    }
}
