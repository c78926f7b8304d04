using Vcut.Runtime.Scheduling;

namespace Vcut.MLNet.Tests.Runtime;

[TestClass]
public sealed class ClassifierFreeGuidanceTests
{
    [TestMethod]
    public void FrameScalesAreALinspace()
    {
        var guidance = new ClassifierFreeGuidance(1f, 3f);
        var scales = guidance.FrameScales(14);
        Assert.HasCount(14, scales);
        for (var f = 0; f < 14; f++)
        {
            Assert.AreEqual(1 + 2.0 * f / 13, scales[f], 1e-6, $"g[{f}]");
        }
        Assert.AreEqual(1f, scales[0]);
        Assert.AreEqual(3f, scales[13]);
        CollectionAssert.AreEqual(new[] { 1f, 2f, 3f }, guidance.FrameScales(3));
        CollectionAssert.AreEqual(new[] { 1f }, guidance.FrameScales(1));
        CollectionAssert.AreEqual(new[] { 2.5f, 2f, 1.5f }, new ClassifierFreeGuidance(2.5f, 1.5f).FrameScales(3));
    }

    [TestMethod]
    public void EnabledOnlyWhenTheMaximumExceedsOne()
    {
        Assert.IsTrue(new ClassifierFreeGuidance().IsEnabled);
        Assert.IsFalse(new ClassifierFreeGuidance(1f, 1f).IsEnabled);
        Assert.IsFalse(new ClassifierFreeGuidance(0.5f, 0.9f).IsEnabled);
    }

    [TestMethod]
    public void AppliesEachFramesScale()
    {
        // Three frames of two values; scales 1, 2, 3.
        float[] u = [1f, 2f, 0f, -1f, 4f, 0.5f];
        float[] c = [3f, 1f, 1f, 1f, 4f, 1.5f];
        var result = new float[6];
        new ClassifierFreeGuidance(1f, 3f).Apply(u, c, result, frames: 3, perFrameElements: 2);
        // u + g·(c − u): frame 0 → c; frame 1: 0 + 2·1, −1 + 2·2; frame 2: 4 + 3·0, 0.5 + 3·1.
        CollectionAssert.AreEqual(new[] { 3f, 1f, 2f, 3f, 4f, 3.5f }, result);
    }

    [TestMethod]
    public void ResultMayReplaceTheConditionalPrediction()
    {
        float[] u = [1f, 2f, 0f, -1f];
        float[] c = [3f, 1f, 1f, 1f];
        new ClassifierFreeGuidance(0.5f, 1.5f).Apply(u, c, c, frames: 2, perFrameElements: 2);
        CollectionAssert.AreEqual(new[] { 2f, 1.5f, 1.5f, 2f }, c);
    }

    [TestMethod]
    public void BatchTakesTheUnconditionalHalfFirst()
    {
        const int videos = 2, frames = 3, perFrame = 4;
        const int perVideo = frames * perFrame;
        var output = TestData.Uniform(2 * videos * perVideo, 21);
        var result = new float[videos * perVideo];
        var guidance = new ClassifierFreeGuidance(1f, 3f);
        guidance.ApplyBatch(output, result, videos, frames, perFrame);
        float[] scales = [1f, 2f, 3f];
        for (var b = 0; b < videos; b++)
        {
            for (var f = 0; f < frames; f++)
            {
                for (var e = 0; e < perFrame; e++)
                {
                    var offset = f * perFrame + e;
                    var u = output[b * perVideo + offset];
                    var c = output[(videos + b) * perVideo + offset];
                    Assert.AreEqual(u + scales[f] * (c - u), result[b * perVideo + offset], 1e-6f, $"video {b} frame {f} element {e}");
                }
            }
        }
    }

    [TestMethod]
    public void ArgumentsAreValidated()
    {
        var guidance = new ClassifierFreeGuidance();
        var six = new float[6];
        Assert.ThrowsExactly<ArgumentException>(() => guidance.Apply(six, six, new float[5], 3, 2));
        Assert.ThrowsExactly<ArgumentException>(() => guidance.Apply(new float[4], six, new float[6], 3, 2));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => guidance.Apply(six, six, six, 0, 2));
        var u = new float[6];
        Assert.ThrowsExactly<ArgumentException>(() => guidance.Apply(u, new float[6], u, 3, 2));
        Assert.ThrowsExactly<ArgumentException>(() => guidance.ApplyBatch(new float[12], new float[12], 1, 3, 2));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => guidance.FrameScales(0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ClassifierFreeGuidance(float.NaN, 3f));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ClassifierFreeGuidance(1f, float.PositiveInfinity));
    }
}
