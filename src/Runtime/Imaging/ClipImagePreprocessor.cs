using System.Numerics.Tensors;

namespace Vcut.Runtime.Imaging;

/// <summary>
/// Turns an image into the CLIP image encoder's input exactly as the SVD pipeline does (docs/svd.md §7 step 1):
/// [0,1] → [−1,1] → anti-aliased resize to 224×224 (Gaussian blur, then bicubic with align_corners) → [0,1] →
/// normalised with CLIP's mean and standard deviation. The aspect ratio is squashed; nothing is cropped.
/// </summary>
public static class ClipImagePreprocessor
{
    /// <summary>The encoder's input width and height.</summary>
    public const int Size = 224;

    /// <summary>The length of one preprocessed image: 3 · 224 · 224.</summary>
    public const int OutputLength = 3 * Size * Size;

    // torch's bicubic kernel parameter (Keys' cubic convolution with a = −0.75, not PIL's −0.5).
    private const double CubicA = -0.75;

    /// <summary>CLIP's per-channel normalisation mean (R, G, B).</summary>
    public static ReadOnlySpan<float> Mean => [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>CLIP's per-channel normalisation standard deviation (R, G, B).</summary>
    public static ReadOnlySpan<float> StandardDeviation => [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>Preprocesses <paramref name="image"/> into a new planar (3, 224, 224) array.</summary>
    public static float[] Preprocess(RgbImage image)
    {
        var output = new float[OutputLength];
        Preprocess(image, output);
        return output;
    }

    /// <summary>Preprocesses <paramref name="image"/> into <paramref name="destination"/>, planar (3, 224, 224).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is not <see cref="OutputLength"/> long.</exception>
    public static void Preprocess(RgbImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (destination.Length != OutputLength)
        {
            throw new ArgumentException($"Destination must hold {OutputLength} values, it holds {destination.Length}.", nameof(destination));
        }
        int width = image.Width, height = image.Height, plane = width * height;
        // Per axis: "height" and "width" each get their own blur and their own resampling weights.
        var kernelX = GaussianKernel(BlurSigma(width));
        var kernelY = GaussianKernel(BlurSigma(height));
        var cubicX = CubicWeights.For(width, Size);
        var cubicY = CubicWeights.For(height, Size);

        var a = new float[plane];
        var b = new float[plane];
        var padded = new float[width + kernelX.Length - 1];
        var resampledRows = new float[height * Size];
        for (var c = 0; c < 3; c++)
        {
            // [0,1] → [−1,1] before blurring, as the pipeline does (it matters only through float rounding).
            TensorPrimitives.Multiply(image.Pixels.AsSpan(c * plane, plane), 2f, a);
            TensorPrimitives.Subtract(a, 1f, a);
            BlurRows(a, b, width, height, kernelX, padded);
            BlurColumns(b, a, width, height, kernelY);
            var output = destination.Slice(c * Size * Size, Size * Size);
            ResampleRows(a, resampledRows, width, height, cubicX);
            ResampleColumns(resampledRows, output, cubicY);
            // [−1,1] → [0,1] → CLIP normalisation, in the pipeline's order.
            TensorPrimitives.Add(output, 1f, output);
            TensorPrimitives.Multiply(output, 0.5f, output);
            TensorPrimitives.Subtract(output, Mean[c], output);
            TensorPrimitives.Divide(output, StandardDeviation[c], output);
        }
    }

    /// <summary>The blur's σ for an axis of <paramref name="size"/> pixels: max((size/224 − 1)/2, 0.001).</summary>
    internal static double BlurSigma(int size) => Math.Max((size / (double)Size - 1.0) / 2.0, 0.001);

    /// <summary>The blur's kernel size for <paramref name="sigma"/>: int(max(4σ, 3)), made odd by adding one.</summary>
    internal static int BlurKernelSize(double sigma)
    {
        var size = (int)Math.Max(4.0 * sigma, 3.0);
        return size % 2 == 0 ? size + 1 : size;
    }

    /// <summary>The normalised Gaussian of <see cref="BlurKernelSize"/> taps centred at index k/2.</summary>
    internal static float[] GaussianKernel(double sigma)
    {
        var size = BlurKernelSize(sigma);
        var weights = new double[size];
        for (var i = 0; i < size; i++)
        {
            double x = i - size / 2;
            weights[i] = Math.Exp(-x * x / (2.0 * sigma * sigma));
        }
        var sum = weights.Sum();
        return weights.Select(w => (float)(w / sum)).ToArray();
    }

    /// <summary>
    /// torch's "reflect" padding index: mirrors at the edge without repeating the edge sample (−1 → 1, n → n − 2).
    /// Reflects repeatedly for offsets beyond one image length, where torch would refuse; a 1-pixel axis maps to 0.
    /// </summary>
    internal static int Reflect(int index, int length)
    {
        if (length == 1)
        {
            return 0;
        }
        var period = 2 * (length - 1);
        var m = Math.Abs(index) % period;
        return m < length ? m : period - m;
    }

    private static void BlurRows(float[] source, float[] destination, int width, int height, float[] kernel, float[] padded)
    {
        var radius = kernel.Length / 2;
        for (var y = 0; y < height; y++)
        {
            var row = source.AsSpan(y * width, width);
            for (var i = 0; i < padded.Length; i++)
            {
                padded[i] = row[Reflect(i - radius, width)];
            }
            // Tap by tap over the whole row: each tap is one vectorised multiply-add.
            var output = destination.AsSpan(y * width, width);
            TensorPrimitives.Multiply(padded.AsSpan(0, width), kernel[0], output);
            for (var k = 1; k < kernel.Length; k++)
            {
                TensorPrimitives.MultiplyAdd(padded.AsSpan(k, width), kernel[k], output, output);
            }
        }
    }

    private static void BlurColumns(float[] source, float[] destination, int width, int height, float[] kernel)
    {
        var radius = kernel.Length / 2;
        for (var y = 0; y < height; y++)
        {
            var output = destination.AsSpan(y * width, width);
            TensorPrimitives.Multiply(source.AsSpan(Reflect(y - radius, height) * width, width), kernel[0], output);
            for (var k = 1; k < kernel.Length; k++)
            {
                TensorPrimitives.MultiplyAdd(source.AsSpan(Reflect(y + k - radius, height) * width, width), kernel[k], output, output);
            }
        }
    }

    private static void ResampleRows(float[] source, float[] destination, int width, int height, CubicWeights weights)
    {
        for (var y = 0; y < height; y++)
        {
            var row = source.AsSpan(y * width, width);
            var output = destination.AsSpan(y * Size, Size);
            for (var x = 0; x < Size; x++)
            {
                var sum = 0f;
                for (var j = 0; j < 4; j++)
                {
                    sum += weights.Weights[4 * x + j] * row[weights.Indices[4 * x + j]];
                }
                output[x] = sum;
            }
        }
    }

    private static void ResampleColumns(float[] source, Span<float> destination, CubicWeights weights)
    {
        for (var y = 0; y < Size; y++)
        {
            var output = destination.Slice(y * Size, Size);
            TensorPrimitives.Multiply(source.AsSpan(weights.Indices[4 * y] * Size, Size), weights.Weights[4 * y], output);
            for (var j = 1; j < 4; j++)
            {
                TensorPrimitives.MultiplyAdd(source.AsSpan(weights.Indices[4 * y + j] * Size, Size), weights.Weights[4 * y + j], output, output);
            }
        }
    }

    /// <summary>Per output sample: four source indices (clamped at the borders) and their cubic-convolution weights.</summary>
    private sealed record CubicWeights(int[] Indices, float[] Weights)
    {
        public static CubicWeights For(int inputSize, int outputSize)
        {
            var indices = new int[4 * outputSize];
            var weights = new float[4 * outputSize];
            // align_corners = true: the first and last samples of both grids coincide.
            var scale = outputSize > 1 ? (inputSize - 1) / (double)(outputSize - 1) : 0.0;
            for (var i = 0; i < outputSize; i++)
            {
                var source = scale * i;
                var floor = (int)Math.Floor(source);
                var t = source - floor;
                for (var j = 0; j < 4; j++)
                {
                    indices[4 * i + j] = Math.Clamp(floor + j - 1, 0, inputSize - 1);
                    weights[4 * i + j] = (float)Cubic(t + 1 - j);
                }
            }
            return new CubicWeights(indices, weights);
        }

        // Keys' cubic convolution kernel at distance x.
        private static double Cubic(double x)
        {
            x = Math.Abs(x);
            if (x <= 1)
            {
                return ((CubicA + 2) * x - (CubicA + 3)) * x * x + 1;
            }
            if (x < 2)
            {
                return ((CubicA * x - 5 * CubicA) * x + 8 * CubicA) * x - 4 * CubicA;
            }
            return 0;
        }
    }
}
