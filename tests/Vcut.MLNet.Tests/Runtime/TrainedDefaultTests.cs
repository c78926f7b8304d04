using Vcut.Graph.Vcut;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Quality;

namespace Vcut.MLNet.Tests.Runtime;

/// <summary>
/// The embedded default is a trained model: on pictures it never saw, at its default settings, its first frame
/// reproduces the picture and its later frames are explained by a camera move of it. The same floors fail on the
/// seeded tiny model, so the test can fail. Floors sit 2.6–4.9 dB below the figures measured for the committed
/// default on these two pictures (docs/model-card.md: first frame 29.9 and 30.5 dB, motion fit 22.6 and 24.9 dB).
/// </summary>
[TestClass]
public sealed class TrainedDefaultTests
{
    private const double FirstFrameFloor = 27.0;
    private const double MotionFitFloor = 20.0;

    private static string HeldOut(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "HeldOut", name);

    private static string TinyModel => TestModels.Tiny;

    private static (double FirstFrame, double MotionFit) Figures(VideoGenerator generator, string picture)
    {
        // The default settings (8 frames of 128×128, 25 steps, bucket 127), one video.
        var evaluation = VideoEvaluator.Evaluate(generator, RgbImage.Load(picture), new VideoGenerationOptions { Seed = 1 }, []);
        return (evaluation.Main.Quality.FirstFramePsnr, evaluation.Main.Quality.MotionFitPsnr);
    }

    [TestMethod]
    [DataRow("scene-01.png")]
    [DataRow("sunset.png")]
    public void DefaultModelAnimatesAPictureItNeverSaw(string picture)
    {
        using var generator = VideoGenerator.Open();
        Assert.AreNotEqual("tiny", generator.Manifest.Preset, "the embedded default is the trained model");
        var (firstFrame, motionFit) = Figures(generator, HeldOut(picture));
        Assert.IsGreaterThanOrEqualTo(FirstFrameFloor, firstFrame, $"{picture}: first-frame PSNR {firstFrame:F2} dB");
        Assert.IsGreaterThanOrEqualTo(MotionFitFloor, motionFit, $"{picture}: motion-fit PSNR {motionFit:F2} dB");
    }

    [TestMethod]
    public void TheSeededTinyModelFailsTheSameFloors()
    {
        using var generator = VideoGenerator.Open(TinyModel);
        var (firstFrame, motionFit) = Figures(generator, HeldOut("scene-01.png"));
        Assert.IsLessThan(FirstFrameFloor, firstFrame, $"tiny's first-frame PSNR {firstFrame:F2} dB");
        Assert.IsLessThan(MotionFitFloor, motionFit, $"tiny's motion-fit PSNR {motionFit:F2} dB");
    }

    [TestMethod]
    public void ExactEqualsOffOnTheTrainedDefault()
    {
        var picture = RgbImage.Load(HeldOut("sunset.png"));
        var options = new VideoGenerationOptions { Steps = 6, Seed = 3 };
        using var off = VideoGenerator.Open(vcut: VcutMode.Off);
        using var exact = VideoGenerator.Open(vcut: VcutMode.Exact);
        var comparison = VideoQuality.Compare(off.Generate(picture, options), exact.Generate(picture, options));
        Assert.IsGreaterThan(60.0, comparison.MeanPsnr, $"exact vs off: {comparison.MeanPsnr:F1} dB");
    }
}
