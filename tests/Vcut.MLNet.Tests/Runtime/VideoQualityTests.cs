using Vcut.Graph.Names;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Quality;

namespace Vcut.MLNet.Tests.Runtime;

/// <summary>The quality figures, against values computed another way: closed forms, naive loops, videos made with known moves.</summary>
[TestClass]
public sealed class VideoQualityTests
{
    private static readonly GenerationStatistics NoStatistics = new(new Dictionary<string, IReadOnlyList<TimeSpan>>(), TimeSpan.Zero, TimeSpan.Zero, 1);

    /// <summary>A smooth, non-periodic texture in (0, 1) defined everywhere, so a moved frame is computed exactly, not resampled.</summary>
    private static float Texture(int channel, double x, double y)
    {
        var value = 0.5
            + 0.12 * Math.Sin(0.31 * x + 0.17 * y + channel)
            + 0.10 * Math.Sin(-0.13 * x + 0.37 * y + 2.1 * channel)
            + 0.08 * Math.Cos(0.0011 * ((x - 40) * (x - 40) + (y - 70) * (y - 70)) + channel)
            + 0.07 * Math.Sin(0.071 * x - 0.053 * y + 0.5 * channel);
        return (float)value;
    }

    /// <summary>The texture seen through <paramref name="move"/>: pixel (x, y) holds the texture at the move's source point.</summary>
    private static float[] Moved(int width, int height, CameraMove move)
    {
        var cx = (width - 1) / 2.0;
        var cy = (height - 1) / 2.0;
        var pixels = new float[3 * width * height];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    var u = (x - cx) / move.Zoom + cx - move.ShiftX;
                    var v = (y - cy) / move.Zoom + cy - move.ShiftY;
                    pixels[(c * height + y) * width + x] = Texture(c, u, v);
                }
            }
        }
        return pixels;
    }

    private static GeneratedVideo Video(int width, int height, IReadOnlyList<float[]> frames) =>
        new(frames.SelectMany(f => f).ToArray(), frames.Count, height, width, NoStatistics);

    private static GeneratedVideo MovingVideo(int width, int height, IReadOnlyList<CameraMove> moves) =>
        Video(width, height, moves.Select(m => Moved(width, height, m)).ToList());

    private static CameraMove[] Pan(int frames, double perFrameX, double perFrameY, double zoomPerFrame = 0) =>
        Enumerable.Range(0, frames).Select(k => new CameraMove(1 + zoomPerFrame * k, perFrameX * k, perFrameY * k)).ToArray();

    private static float[] Noise(int count, ulong seed)
    {
        var random = new Vcut.Graph.Weights.SplitMix64(seed);
        return Enumerable.Range(0, count).Select(_ => 0.5f + 0.5f * random.NextSymmetricSingle()).ToArray();
    }

    [TestMethod]
    public void PsnrOfKnownNoiseMatchesItsMeanSquare()
    {
        var clean = Moved(64, 48, CameraMove.Identity);
        var noise = TestData.Uniform(clean.Length, 5, 0.05f); // uniform in [−0.05, 0.05]: variance 0.05²/3
        var noisy = clean.Zip(noise, (c, n) => c + n).ToArray();
        var mse = noise.Average(n => (double)n * n);
        Assert.AreEqual(10 * Math.Log10(1 / mse), VideoQuality.Psnr(clean, noisy), 1e-3, "against the sample's mean square");
        Assert.AreEqual(10 * Math.Log10(3 / (0.05 * 0.05)), VideoQuality.Psnr(clean, noisy), 0.1, "against the distribution's variance");
        Assert.AreEqual(VideoQuality.MaxPsnr, VideoQuality.Psnr(clean, clean), "identical signals are capped, not infinite");
        Assert.AreEqual(0, VideoQuality.Psnr(new float[10], Enumerable.Repeat(1f, 10).ToArray()), 1e-5, "MSE 1 at peak 1 is 0 dB");
    }

    [TestMethod]
    public void MaskedPsnrCountsOnlyTheSelectedPixels()
    {
        const int plane = 100;
        var a = new float[3 * plane];
        var b = new float[3 * plane];
        var mask = new float[plane];
        for (var i = 0; i < plane; i++)
        {
            mask[i] = i % 4 == 0 ? 1 : 0;
            for (var c = 0; c < 3; c++)
            {
                b[c * plane + i] = mask[i] == 1 ? 0.1f : 0.9f; // a large error outside the mask, 0.1 inside
            }
        }
        Assert.AreEqual(20, VideoQuality.Psnr(a, b, mask), 1e-4, "MSE 0.01 over the masked pixels");
        Assert.AreEqual(20, VideoQuality.Psnr(a, b, [.. mask, .. mask, .. mask]), 1e-4, "a mask per value");
        Assert.ThrowsExactly<ArgumentException>(() => VideoQuality.Psnr(a, b, new float[7]));
        Assert.ThrowsExactly<ArgumentException>(() => VideoQuality.Psnr(a, b, new float[plane]));
        var different = Assert.ThrowsExactly<ArgumentException>(() => VideoQuality.Psnr(a, new float[5]));
        StringAssert.Contains(different.Message, "expected 300");
    }

    [TestMethod]
    public void SsimIsOneForIdenticalAndBelowOneForShiftedPictures()
    {
        const int width = 48, height = 40;
        var picture = Moved(width, height, CameraMove.Identity);
        Assert.AreEqual(1, VideoQuality.Ssim(picture, picture, width, height), 1e-12);
        var shifted = Moved(width, height, new CameraMove(1, 2, 0));
        var ssim = VideoQuality.Ssim(picture, shifted, width, height);
        Assert.IsLessThan(0.99, ssim, "a 2-pixel shift");
        Assert.IsGreaterThan(0.0, ssim);
        Assert.IsLessThan(ssim, VideoQuality.Ssim(picture, Moved(width, height, new CameraMove(1, 6, 0)), width, height), "a larger shift is less similar");
        Assert.AreEqual(NaiveSsim(picture, shifted, width, height), ssim, 1e-6, "against direct window sums");
        var noise = Noise(picture.Length, 3);
        Assert.AreEqual(NaiveSsim(picture, noise, width, height), VideoQuality.Ssim(picture, noise, width, height), 1e-6, "noise, against direct window sums");
    }

    /// <summary>SSIM by its definition: at each 11×11 window, Gaussian-weighted means, variances and covariance of the luma.</summary>
    private static double NaiveSsim(float[] a, float[] b, int width, int height)
    {
        static double[] Luma(float[] p, int plane) =>
            Enumerable.Range(0, plane).Select(i => (double)(0.299f * p[i] + 0.587f * p[plane + i] + 0.114f * p[2 * plane + i])).ToArray();
        var plane = width * height;
        var x = Luma(a, plane);
        var y = Luma(b, plane);
        var weights = new double[11, 11];
        var total = 0.0;
        for (var i = 0; i < 11; i++)
        {
            for (var j = 0; j < 11; j++)
            {
                weights[i, j] = Math.Exp(-((i - 5) * (i - 5) + (j - 5) * (j - 5)) / (2 * 1.5 * 1.5));
                total += weights[i, j];
            }
        }
        var sum = 0.0;
        var count = 0;
        for (var top = 0; top + 11 <= height; top++)
        {
            for (var left = 0; left + 11 <= width; left++)
            {
                double mx = 0, my = 0;
                for (var i = 0; i < 11; i++)
                {
                    for (var j = 0; j < 11; j++)
                    {
                        var w = weights[i, j] / total;
                        mx += w * x[(top + i) * width + left + j];
                        my += w * y[(top + i) * width + left + j];
                    }
                }
                double vx = 0, vy = 0, cxy = 0;
                for (var i = 0; i < 11; i++)
                {
                    for (var j = 0; j < 11; j++)
                    {
                        var w = weights[i, j] / total;
                        var dx = x[(top + i) * width + left + j] - mx;
                        var dy = y[(top + i) * width + left + j] - my;
                        vx += w * dx * dx;
                        vy += w * dy * dy;
                        cxy += w * dx * dy;
                    }
                }
                sum += (2 * mx * my + 1e-4) * (2 * cxy + 9e-4) / ((mx * mx + my * my + 1e-4) * (vx + vy + 9e-4));
                count++;
            }
        }
        return sum / count;
    }

    [TestMethod]
    [DataRow(128, 128)]
    [DataRow(96, 64)]
    public void KnownZoomAndShiftAreFitted(int width, int height)
    {
        // Zoom in 3 % per frame while panning right and up; frame 0 is the picture itself.
        var moves = Pan(8, 0.9, -0.6, 0.03);
        var video = MovingVideo(width, height, moves);
        var input = RgbImage.FromPixels(Moved(width, height, CameraMove.Identity), width, height);
        var report = VideoQuality.Evaluate(video, input);

        Assert.AreEqual(VideoQuality.MaxPsnr, report.FirstFramePsnr, "frame 0 is the input");
        Assert.HasCount(7, report.MotionFit.Frames);
        Assert.IsGreaterThan(35.0, report.MotionFitPsnr, "a camera move explains every frame");
        foreach (var fit in report.MotionFit.Frames)
        {
            var truth = moves[fit.Frame];
            Assert.AreEqual(truth.Zoom, fit.Move.Zoom, 0.003, $"frame {fit.Frame}: zoom");
            Assert.AreEqual(truth.ShiftX, fit.Move.ShiftX, 0.15, $"frame {fit.Frame}: dx");
            Assert.AreEqual(truth.ShiftY, fit.Move.ShiftY, 0.15, $"frame {fit.Frame}: dy");
            Assert.IsGreaterThan(35.0, fit.Psnr, $"frame {fit.Frame}: PSNR");
            Assert.AreEqual(1.0, fit.ValidFraction, 1e-12, "zooming in keeps every source point inside");
        }
        var last = moves[^1];
        var expected = Math.Sqrt(last.ShiftX * last.ShiftX + last.ShiftY * last.ShiftY)
            + (last.Zoom - 1) * 0.5 * Math.Sqrt(width * width + height * height);
        Assert.AreEqual(expected, report.Motion.CameraDisplacement, 0.6, "displacement of the last frame");
    }

    [TestMethod]
    [DataRow(1.45, -18.0, 12.0)]
    [DataRow(1.57, 26.0, -9.5)]
    [DataRow(0.85, 14.3, 20.7)]
    [DataRow(1.13, -29.0, -27.0)]
    public void LargeMovesAnywhereInTheRangeAreFound(double zoom, double dx, double dy)
    {
        const int size = 128;
        var truth = new CameraMove(zoom, dx, dy);
        var video = MovingVideo(size, size, [CameraMove.Identity, truth]);
        var input = RgbImage.FromPixels(Moved(size, size, CameraMove.Identity), size, size);
        var fit = VideoQuality.MotionFitPsnr(video, input).Frames.Single();
        Assert.AreEqual(zoom, fit.Move.Zoom, 0.003, "zoom");
        Assert.AreEqual(dx, fit.Move.ShiftX, 0.2, "dx");
        Assert.AreEqual(dy, fit.Move.ShiftY, 0.2, "dy");
        Assert.IsGreaterThan(35.0, fit.Psnr);
    }

    [TestMethod]
    public void ZoomOutIsComparedOnlyWhereTheSourceIsInside()
    {
        const int size = 96;
        var moves = new[] { CameraMove.Identity, new CameraMove(0.9, 3, 2) };
        var video = MovingVideo(size, size, moves);
        var input = RgbImage.FromPixels(Moved(size, size, CameraMove.Identity), size, size);
        var fit = VideoQuality.MotionFitPsnr(video, input).Frames.Single();
        Assert.AreEqual(0.9, fit.Move.Zoom, 0.003);
        Assert.AreEqual(3, fit.Move.ShiftX, 0.15);
        Assert.AreEqual(2, fit.Move.ShiftY, 0.15);
        Assert.IsGreaterThan(35.0, fit.Psnr, "the border outside the input is not penalised");
        // The valid region: x such that (x − c)/0.9 + c − 3 lies in [0, size − 1], the same for y with 2.
        var c = (size - 1) / 2.0;
        int Inside(double shift) => Enumerable.Range(0, size).Count(x => (x - c) / 0.9 + c - shift is >= 0 and <= size - 1);
        Assert.AreEqual(Inside(3) * Inside(2) / (double)(size * size), fit.ValidFraction, 0.03);
    }

    [TestMethod]
    public void RandomNoiseFitsBadly()
    {
        const int size = 64;
        var input = RgbImage.FromPixels(Moved(size, size, CameraMove.Identity), size, size);
        var frames = Enumerable.Range(0, 6).Select(k => Noise(3 * size * size, (ulong)k + 100)).ToList();
        var report = VideoQuality.Evaluate(Video(size, size, frames), input);
        Assert.IsLessThan(15.0, report.MotionFitPsnr);
        Assert.IsLessThan(15.0, report.FirstFramePsnr);
    }

    [TestMethod]
    public void StaticVideoHasNoMotionAndFasterMovesHaveMore()
    {
        const int size = 80;
        var input = RgbImage.FromPixels(Moved(size, size, CameraMove.Identity), size, size);
        var still = VideoQuality.Evaluate(MovingVideo(size, size, Pan(6, 0, 0)), input);
        Assert.AreEqual(0, still.Motion.MeanFrameDifference);
        Assert.AreEqual(0, still.Motion.CameraDisplacement, 1e-9);
        Assert.AreEqual(VideoQuality.MaxPsnr, still.MotionFitPsnr);

        var slowVideo = MovingVideo(size, size, Pan(6, 0.5, 0.25));
        var slow = VideoQuality.Evaluate(slowVideo, input);
        var fast = VideoQuality.Evaluate(MovingVideo(size, size, Pan(6, 2, 1)), input);
        Assert.IsGreaterThan(slow.Motion.MeanFrameDifference, fast.Motion.MeanFrameDifference);
        Assert.IsGreaterThan(slow.Motion.CameraDisplacement, fast.Motion.CameraDisplacement);
        Assert.AreEqual(Math.Sqrt(2 * 2 + 1) * 5, fast.Motion.CameraDisplacement, 0.3, "the last frame's shift is 5 × (2, 1)");

        // The frame difference, computed directly.
        var plane = 3 * size * size;
        var direct = Enumerable.Range(1, 5).Average(k =>
            Enumerable.Range(0, plane).Average(i => Math.Abs((double)slowVideo.Frames[k * plane + i] - slowVideo.Frames[(k - 1) * plane + i])));
        Assert.AreEqual(direct, slow.Motion.MeanFrameDifference, 1e-6);
    }

    [TestMethod]
    public void CompareGivesMeanPsnrAndSsimOverFrames()
    {
        const int size = 32;
        var a = MovingVideo(size, size, Pan(3, 1, 0));
        var noisy = a.Frames.Zip(TestData.Uniform(a.Frames.Length, 9, 0.02f), (v, n) => v + n).ToArray();
        var b = a with { Frames = noisy };
        var same = VideoQuality.Compare(a, a);
        Assert.AreEqual(VideoQuality.MaxPsnr, same.MeanPsnr);
        Assert.AreEqual(1, same.MeanSsim, 1e-12);

        var comparison = VideoQuality.Compare(a, b);
        var plane = 3 * size * size;
        var expectedPsnr = Enumerable.Range(0, 3).Average(k =>
            VideoQuality.Psnr(a.Frames.AsSpan(k * plane, plane), noisy.AsSpan(k * plane, plane)));
        Assert.AreEqual(expectedPsnr, comparison.MeanPsnr, 1e-9);
        Assert.AreEqual(comparison.FrameSsim.Average(), comparison.MeanSsim, 1e-12);
        Assert.AreEqual(NaiveSsim(a.Frames[plane..(2 * plane)], noisy[plane..(2 * plane)], size, size), comparison.FrameSsim[1], 1e-6);
        Assert.IsLessThan(1.0, comparison.MeanSsim);

        var other = MovingVideo(size, 24, Pan(3, 1, 0));
        var error = Assert.ThrowsExactly<ArgumentException>(() => VideoQuality.Compare(a, other));
        StringAssert.Contains(error.Message, "expected 3 frames of 32×32");
    }

    [TestMethod]
    public void InputsOfTheWrongSizeAreRejected()
    {
        var video = MovingVideo(32, 24, Pan(2, 1, 0));
        var input = RgbImage.FromPixels(Moved(24, 32, CameraMove.Identity), 24, 32);
        var error = Assert.ThrowsExactly<ArgumentException>(() => VideoQuality.Evaluate(video, input));
        StringAssert.Contains(error.Message, "24×32, expected the video's size 32×24");
        var truncated = video with { Frames = video.Frames[..^1] };
        Assert.ThrowsExactly<ArgumentException>(() => VideoQuality.MeanFrameDifference(truncated));
        Assert.ThrowsExactly<ArgumentException>(() => VideoQuality.Ssim(new float[10], new float[10], 2, 2));
    }

    [TestMethod]
    public void EvaluatorGeneratesEachBucketOnceAndTheMainOne()
    {
        const int size = 64;
        var picture = RgbImage.FromPixels(Moved(size, size, CameraMove.Identity), size, size);
        var generated = new List<float>();
        // A stand-in generator: the pan speed grows with the motion bucket.
        GeneratedVideo Generate(VideoGenerationOptions options, CancellationToken _)
        {
            generated.Add(options.MotionBucketId);
            return MovingVideo(size, size, Pan(options.Frames ?? 4, options.MotionBucketId / 100.0, 0));
        }
        var reports = new List<EvaluationProgress>();
        var evaluation = VideoEvaluator.Evaluate(Generate, picture, new VideoGenerationOptions { Frames = 4, MotionBucketId = 100 },
            [250, 10, 250], new SynchronousProgress<EvaluationProgress>(reports.Add), CancellationToken.None);

        CollectionAssert.AreEqual(new[] { 10f, 250f, 100f }, generated, "each bucket once, then the main one");
        CollectionAssert.AreEqual(new[] { 10f, 250f }, evaluation.Buckets.Select(b => b.MotionBucketId).ToArray());
        Assert.AreEqual(100f, evaluation.Main.MotionBucketId);
        Assert.AreEqual((4, size, size), (evaluation.FrameCount, evaluation.Height, evaluation.Width));
        Assert.HasCount(3, reports);
        Assert.AreEqual(0.1 * 3, evaluation.Buckets[0].Quality.Motion.CameraDisplacement, 0.1);
        Assert.AreEqual(2.5 * 3, evaluation.Buckets[1].Quality.Motion.CameraDisplacement, 0.1);
        Assert.IsGreaterThan(35.0, evaluation.Main.Quality.MotionFitPsnr);

        generated.Clear();
        var included = VideoEvaluator.Evaluate(Generate, picture, new VideoGenerationOptions { Frames = 3, MotionBucketId = 10 }, [10, 50], null, CancellationToken.None);
        CollectionAssert.AreEqual(new[] { 10f, 50f }, generated, "the main bucket is in the list: not generated twice");
        Assert.AreSame(included.Buckets[0], included.Main);
        Assert.ThrowsExactly<ArgumentException>(() => VideoEvaluator.Evaluate(Generate, picture, new VideoGenerationOptions(), [-1], null, CancellationToken.None));
    }

    [TestMethod]
    public void EvaluatorRunsOnTheTestModel()
    {
        using var generator = VideoGenerator.Open(TestModels.Tiny);
        var options = new VideoGenerationOptions { Frames = 3, Steps = 1, Height = 64, Width = 64, Seed = 4 };
        var evaluation = VideoEvaluator.Evaluate(generator, VideoGeneratorTests.TestImage(), options, [10, 250]);
        Assert.HasCount(2, evaluation.Buckets);
        Assert.AreEqual(127f, evaluation.Main.MotionBucketId);
        foreach (var bucket in evaluation.Buckets.Append(evaluation.Main))
        {
            Assert.IsTrue(double.IsFinite(bucket.Quality.FirstFramePsnr) && double.IsFinite(bucket.Quality.MotionFitPsnr), "finite figures");
            Assert.HasCount(2, bucket.Quality.MotionFit.Frames);
            Assert.AreEqual(1, bucket.Statistics.ModelCalls[Vcut.Graph.Names.ModelNames.UNet]);
        }
    }

    /// <summary>Reports on the calling thread (<see cref="Progress{T}"/> posts to the thread pool).</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
