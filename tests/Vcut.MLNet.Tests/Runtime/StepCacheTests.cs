using Vcut.Graph.Builders;
using Vcut.Graph.Vcut;
using Vcut.Graph.Names;
using Vcut.Graph.StepCache;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Tests.Runtime;

/// <summary>Whole videos with step-level caching and guidance economy on the embedded model.</summary>
[TestClass]
public sealed class StepCacheTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly VideoGenerationOptions Short = new() { Frames = 3, Steps = 6, Height = 64, Width = 64, Seed = 5 };

    private static GeneratedVideo Generate(VideoGenerationOptions options, VcutMode? mode = null, int? branch = null)
    {
        using var generator = VideoGenerator.Open(TestModels.Tiny, vcut: mode, stepCacheBranch: branch);
        return generator.Generate(VideoGeneratorTests.TestImage(), options);
    }

    private static float MaxDifference(float[] a, float[] b) => a.Zip(b, (x, y) => MathF.Abs(x - y)).Max();

    [TestMethod]
    public void IntervalOneOnASplitUNetEqualsTheUncachedVideo()
    {
        var plain = Generate(Short);
        var split = Generate(Short with { StepCacheInterval = 1 }, branch: 1);
        CollectionAssert.AreEqual(plain.Frames, split.Frames, "interval 1 runs the full UNet at every step");
        Assert.IsFalse(split.Statistics.ModelCalls.ContainsKey(StepCacheSplitter.ShallowModelName));
    }

    [TestMethod]
    [DataRow(2, 3, 3)]
    [DataRow(3, 2, 4)]
    [DataRow(4, 2, 4)]
    public void CachedStepsCallTheShallowGraph(int interval, int full, int shallow)
    {
        var video = Generate(Short with { StepCacheInterval = interval }, branch: 1);
        Assert.AreEqual(full, video.Statistics.ModelCalls[ModelNames.UNet], "full steps: 0, interval, 2·interval, …");
        Assert.AreEqual(shallow, video.Statistics.ModelCalls[StepCacheSplitter.ShallowModelName], "every other step is cached");
        Assert.IsTrue(video.Frames.All(float.IsFinite));
    }

    [TestMethod]
    public void CachedVideoIsCloseToButNotTheUncachedOne()
    {
        var plain = Generate(Short).Frames;
        var cached = Generate(Short with { StepCacheInterval = 2 }, branch: 1).Frames;
        var psnr = Vcut.Runtime.Quality.VideoQuality.Psnr(plain, cached);
        TestContext.WriteLine($"tiny, interval 2, branch 1: PSNR against the uncached video {psnr:F2} dB");
        Assert.IsGreaterThan(0f, MaxDifference(plain, cached), "cached steps reuse stale deep features");
    }

    [TestMethod]
    [DataRow(VcutMode.Exact)]
    [DataRow(VcutMode.Paper)]
    public void ComposesWithEveryVcutMode(VcutMode mode)
    {
        var options = Short with { StepCacheInterval = 2 };
        var off = Generate(options, VcutMode.Off, branch: 2).Frames;
        var withMode = Generate(options, mode, branch: 2).Frames;
        var difference = MaxDifference(off, withMode);
        TestContext.WriteLine($"interval 2, branch 2: {mode} vs off, max |frame diff| {difference:E2}");
        if (mode == VcutMode.Exact)
        {
            Assert.IsLessThanOrEqualTo(1e-3f, difference, "exact stays the zero-error floor under step caching");
        }
        else
        {
            Assert.IsGreaterThan(1e-3f, difference, "paper drops the temporal cross-attention");
        }
    }

    [TestMethod]
    public void GuidanceFractionOneIsSvdsSamplerAndLessDropsTheUnconditionalRow()
    {
        var plain = Generate(Short).Frames;
        Assert.AreEqual(Short.Steps, Short.GuidedSteps);
        CollectionAssert.AreEqual(plain, Generate(Short with { GuidanceStepFraction = 1f }).Frames);
        var economy = Short with { GuidanceStepFraction = 0.5f };
        Assert.AreEqual(3, economy.GuidedSteps);
        var economical = Generate(economy).Frames;
        Assert.IsGreaterThan(0f, MaxDifference(plain, economical), "the last three steps skip guidance");
        var cachedEconomical = Generate(economy with { StepCacheInterval = 2 }, branch: 1);
        Assert.IsTrue(cachedEconomical.Frames.All(float.IsFinite), "guidance economy composes with step caching");
        Assert.AreEqual(1, (Short with { GuidanceStepFraction = 0.01f }).GuidedSteps, "at least one step keeps guidance");
        Assert.AreEqual(0, (Short with { MaxGuidanceScale = 1f }).GuidedSteps, "no guidance, no guided steps");
    }

    [TestMethod]
    public void GuidanceIntervalOneIsSvdsSamplerAndMoreReusesTheGuidanceDifference()
    {
        var plain = Generate(Short).Frames;
        CollectionAssert.AreEqual(plain, Generate(Short with { GuidanceInterval = 1 }).Frames);
        Assert.IsTrue(Short.RunsUnconditionalRow(5) && !(Short with { GuidanceInterval = 2 }).RunsUnconditionalRow(5));
        Assert.IsFalse((Short with { GuidanceStepFraction = 0.5f }).RunsUnconditionalRow(4), "after guidance ends, no unconditional row");

        // Steps 1, 3 and 5 run the conditional row alone, as guidance economy at half the steps does for 3, 4 and 5;
        // reusing the guidance difference keeps the video closer to SVD's than dropping guidance.
        var reused = Generate(Short with { GuidanceInterval = 2 }).Frames;
        var dropped = Generate(Short with { GuidanceStepFraction = 0.5f }).Frames;
        var reusedPsnr = Vcut.Runtime.Quality.VideoQuality.Psnr(plain, reused);
        var droppedPsnr = Vcut.Runtime.Quality.VideoQuality.Psnr(plain, dropped);
        TestContext.WriteLine($"tiny, 6 steps: guidance reuse every 2 {reusedPsnr:F2} dB, guidance dropped after 3 {droppedPsnr:F2} dB against SVD's sampler");
        Assert.IsGreaterThan(0f, MaxDifference(plain, reused), "reused steps do not run the unconditional row");
        Assert.IsGreaterThan(droppedPsnr, reusedPsnr);
    }

    [TestMethod]
    public void GuidanceReuseComposesWithStepCachingAndVcut()
    {
        var options = Short with { StepCacheInterval = 2, GuidanceInterval = 3 };
        var off = Generate(options, VcutMode.Off, branch: 1);
        var exact = Generate(options, VcutMode.Exact, branch: 1);
        Assert.AreEqual(3, off.Statistics.ModelCalls[ModelNames.UNet], "full steps 0, 2, 4");
        Assert.AreEqual(3, off.Statistics.ModelCalls[StepCacheSplitter.ShallowModelName]);
        Assert.IsTrue(off.Frames.All(float.IsFinite));
        Assert.IsLessThanOrEqualTo(1e-3f, MaxDifference(off.Frames, exact.Frames), "exact stays the zero-error floor under guidance reuse");
    }

    [TestMethod]
    public void EvaluationAgainstTheReferenceScoresTheSpeedUp()
    {
        using var reference = VideoGenerator.Open(TestModels.Tiny);
        using var cached = VideoGenerator.Open(stepCacheBranch: 1);
        var image = VideoGeneratorTests.TestImage();
        var same = Vcut.Runtime.Quality.VideoEvaluator.Evaluate(reference, image, Short, [127], reference, progress: null).Main;
        Assert.AreEqual(1.0, same.Against!.MeanSsim, 1e-12, "a video against itself");
        Assert.IsGreaterThanOrEqualTo(99.0, same.Against.MeanPsnr);
        var sped = Vcut.Runtime.Quality.VideoEvaluator.Evaluate(cached, image, Short with { StepCacheInterval = 3, GuidanceStepFraction = 0.5f },
            [127], reference, progress: null).Main;
        TestContext.WriteLine($"interval 3, guidance on half the steps: {sped.Against!.MeanPsnr:F2} dB, SSIM {sped.Against.MeanSsim:F4} against the reference");
        Assert.IsLessThan(same.Against.MeanPsnr, sped.Against.MeanPsnr);
        Assert.AreEqual(Short.Steps, sped.ReferenceStatistics!.ModelCalls[ModelNames.UNet], "the reference runs the full UNet at every step");
        Assert.AreEqual(2, sped.Statistics.ModelCalls[ModelNames.UNet], "the evaluated video runs it at steps 0 and 3");
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(-2)]
    public void IntervalBelowOneIsRefused(int interval)
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => (Short with { StepCacheInterval = interval }).Validate());
        StringAssert.Contains(error.Message, "step cache interval");
    }

    [TestMethod]
    [DataRow(0f)]
    [DataRow(1.5f)]
    [DataRow(float.NaN)]
    public void GuidanceFractionOutsideZeroToOneIsRefused(float fraction)
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => (Short with { GuidanceStepFraction = fraction }).Validate());
        StringAssert.Contains(error.Message, "guidance step fraction");
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(-1)]
    public void GuidanceIntervalBelowOneIsRefused(int interval)
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => (Short with { GuidanceInterval = interval }).Validate());
        StringAssert.Contains(error.Message, "guidance interval");
    }

    [TestMethod]
    public void IntervalWithoutASplitUNetIsRefused()
    {
        using var generator = VideoGenerator.Open(TestModels.Tiny);
        var error = Assert.ThrowsExactly<ArgumentException>(() => generator.Generate(VideoGeneratorTests.TestImage(), Short with { StepCacheInterval = 2 }));
        StringAssert.Contains(error.Message, "step-cache branch");
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(4)]
    public void BranchTheUNetDoesNotHaveIsRefusedAtOpen(int branch)
    {
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => VideoGenerator.Open(stepCacheBranch: branch));
        StringAssert.Contains(error.Message, "1..3");
    }
}
