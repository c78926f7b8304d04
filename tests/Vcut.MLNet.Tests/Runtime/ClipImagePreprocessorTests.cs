using Vcut.Runtime.Imaging;

namespace Vcut.MLNet.Tests.Runtime;

[TestClass]
public sealed class ClipImagePreprocessorTests
{
    private static readonly double[] Mean = [0.48145466, 0.4578275, 0.40821073];
    private static readonly double[] Std = [0.26862954, 0.26130258, 0.27577711];

    /// <summary>A gradient plus a sine pattern plus a checker, different per channel, within [0, 1].</summary>
    internal static RgbImage TestPicture(int width, int height)
    {
        var pixels = new float[3 * width * height];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var gradient = 0.5 * x / width + 0.25 * y / height;
                    var wave = 0.1 * Math.Sin(0.37 * x * (c + 1) + 0.21 * y);
                    var checker = ((x / 5 + y / 3 + c) % 2) * 0.1;
                    pixels[(c * height + y) * width + x] = (float)Math.Clamp(0.05 + gradient + wave + checker, 0, 1);
                }
            }
        }
        return RgbImage.FromPixels(pixels, width, height);
    }

    /// <summary>
    /// docs/svd.md §7 step 1 written the direct way, in double: one 2-D convolution with the outer product of the two
    /// Gaussians over an explicitly mirrored image, then per output pixel a 4×4 bicubic sum.
    /// </summary>
    private static double[] Reference(RgbImage image)
    {
        int w = image.Width, h = image.Height;
        const int size = 224;
        var gx = Gaussian(w);
        var gy = Gaussian(h);
        int rx = gx.Length / 2, ry = gy.Length / 2;
        var result = new double[3 * size * size];
        for (var c = 0; c < 3; c++)
        {
            double Pixel(int y, int x) => 2.0 * image.Pixels[(c * h + y) * w + x] - 1.0;
            // torch reflect: index −i ↦ i, index n−1+i ↦ n−1−i.
            static int Mirror(int i, int n) => i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
            var blurred = new double[h, w];
            for (var y = 0; y < h; y++)
            {
                for (var x = 0; x < w; x++)
                {
                    double sum = 0;
                    for (var i = 0; i < gy.Length; i++)
                    {
                        for (var j = 0; j < gx.Length; j++)
                        {
                            sum += gy[i] * gx[j] * Pixel(Mirror(y + i - ry, h), Mirror(x + j - rx, w));
                        }
                    }
                    blurred[y, x] = sum;
                }
            }
            for (var oy = 0; oy < size; oy++)
            {
                for (var ox = 0; ox < size; ox++)
                {
                    var sy = oy * (h - 1) / (double)(size - 1);
                    var sx = ox * (w - 1) / (double)(size - 1);
                    int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx);
                    double sum = 0;
                    for (var i = -1; i <= 2; i++)
                    {
                        for (var j = -1; j <= 2; j++)
                        {
                            var weight = Keys(sy - (y0 + i)) * Keys(sx - (x0 + j));
                            sum += weight * blurred[Math.Clamp(y0 + i, 0, h - 1), Math.Clamp(x0 + j, 0, w - 1)];
                        }
                    }
                    result[(c * size + oy) * size + ox] = ((sum + 1) / 2 - Mean[c]) / Std[c];
                }
            }
        }
        return result;
    }

    private static double[] Gaussian(int length)
    {
        var sigma = Math.Max((length / 224.0 - 1) / 2, 0.001);
        var k = (int)Math.Max(4 * sigma, 3);
        if (k % 2 == 0)
        {
            k++;
        }
        var g = Enumerable.Range(0, k).Select(i => Math.Exp(-Math.Pow(i - k / 2, 2) / (2 * sigma * sigma))).ToArray();
        var total = g.Sum();
        return g.Select(v => v / total).ToArray();
    }

    // Keys' cubic convolution with a = −0.75 as a function of the signed distance.
    private static double Keys(double d)
    {
        const double a = -0.75;
        d = Math.Abs(d);
        return d <= 1 ? (a + 2) * d * d * d - (a + 3) * d * d + 1
            : d < 2 ? a * d * d * d - 5 * a * d * d + 8 * a * d - 4 * a
            : 0;
    }

    [TestMethod]
    [DataRow(300, 170)]
    [DataRow(700, 500)]
    [DataRow(1024, 576)]
    [DataRow(50, 31)]
    public void MatchesADirectComputationOfTheSpec(int width, int height)
    {
        var image = TestPicture(width, height);
        var expected = Reference(image).Select(v => (float)v).ToArray();
        var actual = ClipImagePreprocessor.Preprocess(image);
        TestData.AssertClose(expected, actual, 1e-5f, $"CLIP input of {width}×{height}");
    }

    [TestMethod]
    public void BlurParametersFollowTheSpec()
    {
        // 1024 wide: σ = (1024/224 − 1)/2 = 1.7857, int(7.14) = 7 taps; 576 high: σ = 0.7857, int(3.14) = 3.
        Assert.AreEqual(1.785714, ClipImagePreprocessor.BlurSigma(1024), 1e-6);
        Assert.AreEqual(7, ClipImagePreprocessor.BlurKernelSize(ClipImagePreprocessor.BlurSigma(1024)));
        Assert.AreEqual(0.785714, ClipImagePreprocessor.BlurSigma(576), 1e-6);
        Assert.AreEqual(3, ClipImagePreprocessor.BlurKernelSize(ClipImagePreprocessor.BlurSigma(576)));
        // 700: σ = 1.0625, int(4.25) = 4, even, so 5.
        Assert.AreEqual(5, ClipImagePreprocessor.BlurKernelSize(ClipImagePreprocessor.BlurSigma(700)));
        // Smaller than 224: the floor σ = 0.001 and the minimum of 3 taps.
        Assert.AreEqual(0.001, ClipImagePreprocessor.BlurSigma(100), 1e-12);
        Assert.AreEqual(3, ClipImagePreprocessor.BlurKernelSize(0.001));
        var kernel = ClipImagePreprocessor.GaussianKernel(1.0625);
        Assert.AreEqual(1f, kernel.Sum(), 1e-6f);
        Assert.AreEqual(kernel[0], kernel[4]);
        Assert.AreEqual(Math.Exp(-1 / (2 * 1.0625 * 1.0625)), kernel[1] / kernel[2], 1e-6);
    }

    [TestMethod]
    public void ReflectMirrorsWithoutRepeatingTheEdge()
    {
        int[] indices = [-3, -2, -1, 0, 4, 5, 6, 7];
        int[] expected = [3, 2, 1, 0, 4, 3, 2, 1];
        CollectionAssert.AreEqual(expected, indices.Select(i => ClipImagePreprocessor.Reflect(i, 5)).ToArray());
        Assert.AreEqual(0, ClipImagePreprocessor.Reflect(-1, 1));
    }

    [TestMethod]
    [DataRow(300, 170)]
    [DataRow(1000, 1000)]
    [DataRow(1, 1)]
    public void ConstantImageStaysConstant(int width, int height)
    {
        var image = RgbImage.FromPixels(Enumerable.Repeat(0.3f, 3 * width * height).ToArray(), width, height);
        var output = ClipImagePreprocessor.Preprocess(image);
        for (var c = 0; c < 3; c++)
        {
            var expected = new float[224 * 224];
            Array.Fill(expected, (float)((0.3 - Mean[c]) / Std[c]));
            TestData.AssertClose(expected, output.AsSpan(c * 224 * 224, 224 * 224).ToArray(), 1e-5f, $"channel {c}");
        }
    }

    [TestMethod]
    public void An224SquareImageIsOnlyNormalised()
    {
        // σ = 0.001 makes the blur the identity and align_corners at equal sizes samples the pixels themselves.
        var image = TestPicture(224, 224);
        var expected = new float[image.Pixels.Length];
        for (var i = 0; i < expected.Length; i++)
        {
            var c = i / (224 * 224);
            expected[i] = (float)((image.Pixels[i] - Mean[c]) / Std[c]);
        }
        TestData.AssertClose(expected, ClipImagePreprocessor.Preprocess(image), 1e-5f, "224×224");
    }

    [TestMethod]
    public void DestinationMustHoldOneImage()
    {
        var image = TestPicture(10, 10);
        Assert.ThrowsExactly<ArgumentException>(() => ClipImagePreprocessor.Preprocess(image, new float[100]));
        Assert.ThrowsExactly<ArgumentNullException>(() => ClipImagePreprocessor.Preprocess(null!));
    }
}
