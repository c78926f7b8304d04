using Vcut.Runtime.Imaging;

namespace Vcut.MLNet.Tests.Runtime;

[TestClass]
public sealed class LanczosResizerTests
{
    /// <summary>A smooth pattern within [0.2, 0.8], so Lanczos overshoot never reaches the clipping.</summary>
    private static RgbImage Pattern(int width, int height)
    {
        var pixels = new float[3 * width * height];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var value = 0.5 + 0.15 * Math.Sin(0.9 * x + 0.3 * c) * Math.Cos(0.5 * y) + 0.1 * (x + y) / (width + height) - 0.05;
                    pixels[(c * height + y) * width + x] = (float)value;
                }
            }
        }
        return RgbImage.FromPixels(pixels, width, height);
    }

    /// <summary>
    /// The resize written directly as a 2-D sum over every source pixel: weight L((s + ½ − center)/stretch) per axis with
    /// center = (d + ½)·in/out and stretch = max(in/out, 1), each axis normalised to sum 1.
    /// </summary>
    private static float[] Reference(RgbImage image, int width, int height)
    {
        double[] AxisWeights(int inSize, int outSize, int d)
        {
            var scale = inSize / (double)outSize;
            var stretch = Math.Max(scale, 1);
            var center = (d + 0.5) * scale;
            var weights = Enumerable.Range(0, inSize).Select(s => Lanczos3((s + 0.5 - center) / stretch)).ToArray();
            var total = weights.Sum();
            return weights.Select(v => v / total).ToArray();
        }
        var result = new float[3 * width * height];
        for (var oy = 0; oy < height; oy++)
        {
            var wy = AxisWeights(image.Height, height, oy);
            for (var ox = 0; ox < width; ox++)
            {
                var wx = AxisWeights(image.Width, width, ox);
                for (var c = 0; c < 3; c++)
                {
                    double sum = 0;
                    for (var y = 0; y < image.Height; y++)
                    {
                        for (var x = 0; x < image.Width; x++)
                        {
                            sum += wy[y] * wx[x] * image.Pixels[(c * image.Height + y) * image.Width + x];
                        }
                    }
                    result[(c * height + oy) * width + ox] = (float)sum;
                }
            }
        }
        return result;
    }

    private static double Lanczos3(double x)
    {
        if (Math.Abs(x) >= 3)
        {
            return 0;
        }
        return x == 0 ? 1 : 3 * Math.Sin(Math.PI * x) * Math.Sin(Math.PI * x / 3) / (Math.PI * Math.PI * x * x);
    }

    [TestMethod]
    public void SameSizeKeepsThePixels()
    {
        var image = Pattern(17, 11);
        var resized = LanczosResizer.Resize(image, 17, 11);
        TestData.AssertClose(image.Pixels, resized.Pixels, 1e-6f, "identity");
    }

    [TestMethod]
    [DataRow(40, 30, 13, 7)]
    [DataRow(13, 7, 40, 30)]
    [DataRow(20, 20, 20, 5)]
    public void ConstantImageStaysConstant(int inWidth, int inHeight, int outWidth, int outHeight)
    {
        var image = RgbImage.FromPixels(Enumerable.Repeat(0.7f, 3 * inWidth * inHeight).ToArray(), inWidth, inHeight);
        var resized = LanczosResizer.Resize(image, outWidth, outHeight);
        Assert.AreEqual(outWidth, resized.Width);
        Assert.AreEqual(outHeight, resized.Height);
        TestData.AssertClose(Enumerable.Repeat(0.7f, 3 * outWidth * outHeight).ToArray(), resized.Pixels, 1e-6f, "constant");
    }

    [TestMethod]
    [DataRow(97, 61, 40, 25)]
    [DataRow(13, 9, 30, 20)]
    [DataRow(50, 12, 21, 31)]
    [DataRow(64, 48, 64, 20)]
    public void MatchesADirectTwoDimensionalSum(int inWidth, int inHeight, int outWidth, int outHeight)
    {
        var image = Pattern(inWidth, inHeight);
        var expected = Reference(image, outWidth, outHeight);
        var actual = LanczosResizer.Resize(image, outWidth, outHeight);
        TestData.AssertClose(expected, actual.Pixels, 1e-5f, $"{inWidth}×{inHeight} → {outWidth}×{outHeight}");
    }

    [TestMethod]
    public void OvershootIsClippedToTheUnitRange()
    {
        const int size = 32;
        var checker = new float[3 * size * size];
        for (var i = 0; i < checker.Length; i++)
        {
            checker[i] = (i % size / 4 + i / size / 4) % 2;
        }
        var resized = LanczosResizer.Resize(RgbImage.FromPixels(checker, size, size), 45, 23);
        Assert.IsTrue(resized.Pixels.All(v => v is >= 0f and <= 1f));
        Assert.IsTrue(resized.Pixels.Any(v => v == 0f) && resized.Pixels.Any(v => v == 1f), "the overshoot reached the clip");
    }

    [TestMethod]
    public void DownscalingWidensTheKernelByTheScale()
    {
        // Halving: the support is 3·2 = 6 source pixels each side of the centre; output 5 of 20 → 10 is centred at 11.
        var coefficients = LanczosResizer.Coefficients(20, 10)[5];
        Assert.AreEqual(5, coefficients.Start);
        Assert.HasCount(12, coefficients.Weights);
        Assert.AreEqual(1f, coefficients.Weights.Sum(), 1e-6f);
        Assert.AreEqual(LanczosResizer.Lanczos(0.25) / LanczosResizer.Lanczos(0.75), coefficients.Weights[5] / coefficients.Weights[4], 1e-5);
    }

    [TestMethod]
    public void SizesMustBePositive()
    {
        var image = Pattern(4, 4);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LanczosResizer.Resize(image, 0, 4));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => LanczosResizer.Resize(image, 4, -1));
    }
}
