using System.Numerics.Tensors;

namespace Vcut.Runtime.Imaging;

/// <summary>
/// Resizes like PIL's <c>Image.resize(size, Image.LANCZOS)</c>, which the SVD pipeline uses for the conditioning
/// image (docs/svd.md §7 step 3): a 3-lobe Lanczos kernel whose support widens by the scale factor when downscaling (so
/// it also anti-aliases), weights normalised per output pixel, horizontal pass then vertical pass, each result
/// clipped to the valid range. An axis whose size does not change is not resampled at all, as in PIL.
/// </summary>
/// <remarks>
/// PIL computes on 8-bit pixels with fixed-point weights and rounds after each pass; this works in float, so
/// results differ from PIL's by up to about one 8-bit step (1/255) but are otherwise the same computation.
/// </remarks>
public static class LanczosResizer
{
    private const double Lobes = 3.0;

    /// <summary>Returns <paramref name="image"/> resized to <paramref name="width"/> × <paramref name="height"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    public static RgbImage Resize(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var pixels = image.Pixels;
        if (width != image.Width)
        {
            pixels = ResampleRows(pixels, image.Width, image.Height, width);
        }
        if (height != image.Height)
        {
            pixels = ResampleColumns(pixels, width, image.Height, height);
        }
        // Both passes clip to [0, 1], so the new buffer meets the image's invariants and needs no second copy.
        return ReferenceEquals(pixels, image.Pixels) ? image : RgbImage.Own(pixels, width, height);
    }

    /// <summary>
    /// Per output sample of an axis resized from <paramref name="inputSize"/> to <paramref name="outputSize"/>: the first
    /// source index and the normalised weights of the consecutive source samples from there (PIL's coefficient layout).
    /// </summary>
    internal static (int Start, float[] Weights)[] Coefficients(int inputSize, int outputSize)
    {
        var scale = inputSize / (double)outputSize;
        // Downscaling stretches the kernel over more source pixels (a low-pass filter); upscaling keeps it at 1 pixel per lobe.
        var filterScale = Math.Max(scale, 1.0);
        var support = Lobes * filterScale;
        var result = new (int, float[])[outputSize];
        for (var i = 0; i < outputSize; i++)
        {
            var center = (i + 0.5) * scale;
            // Truncation toward zero, as PIL's (int) casts.
            var first = Math.Max((int)(center - support + 0.5), 0);
            var end = Math.Min((int)(center + support + 0.5), inputSize);
            var weights = new double[Math.Max(end - first, 0)];
            for (var k = 0; k < weights.Length; k++)
            {
                weights[k] = Lanczos((first + k - center + 0.5) / filterScale);
            }
            var sum = weights.Sum();
            result[i] = (first, weights.Select(w => (float)(sum != 0 ? w / sum : w)).ToArray());
        }
        return result;
    }

    /// <summary>The Lanczos-3 kernel: sinc(x)·sinc(x/3) on [−3, 3), zero elsewhere.</summary>
    internal static double Lanczos(double x) => x >= -Lobes && x < Lobes ? Sinc(x) * Sinc(x / Lobes) : 0.0;

    private static double Sinc(double x) => x == 0.0 ? 1.0 : Math.Sin(Math.PI * x) / (Math.PI * x);

    private static float[] ResampleRows(float[] source, int inWidth, int height, int outWidth)
    {
        var coefficients = Coefficients(inWidth, outWidth);
        var output = new float[3 * height * outWidth];
        for (var row = 0; row < 3 * height; row++)
        {
            var input = source.AsSpan(row * inWidth, inWidth);
            for (var x = 0; x < outWidth; x++)
            {
                var (start, weights) = coefficients[x];
                var sum = 0f;
                for (var k = 0; k < weights.Length; k++)
                {
                    sum += weights[k] * input[start + k];
                }
                output[row * outWidth + x] = sum;
            }
        }
        ClipToUnitRange(output);
        return output;
    }

    private static float[] ResampleColumns(float[] source, int width, int inHeight, int outHeight)
    {
        var coefficients = Coefficients(inHeight, outHeight);
        var output = new float[3 * outHeight * width];
        for (var c = 0; c < 3; c++)
        {
            var inPlane = source.AsSpan(c * inHeight * width, inHeight * width);
            for (var y = 0; y < outHeight; y++)
            {
                var (start, weights) = coefficients[y];
                var row = output.AsSpan((c * outHeight + y) * width, width);
                for (var k = 0; k < weights.Length; k++)
                {
                    TensorPrimitives.MultiplyAdd(inPlane.Slice((start + k) * width, width), weights[k], row, row);
                }
            }
        }
        ClipToUnitRange(output);
        return output;
    }

    // Lanczos lobes overshoot at edges; PIL clips each pass to the 8-bit range, this to [0, 1].
    private static void ClipToUnitRange(Span<float> values)
    {
        TensorPrimitives.Max(values, 0f, values);
        TensorPrimitives.Min(values, 1f, values);
    }
}
