using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Tests.Runtime;

/// <summary>The public stages of <see cref="VideoGenerator"/>, chained, give <see cref="VideoGenerator.Generate"/>'s video.</summary>
[TestClass]
public sealed class GeneratorStagesTests
{
    private static readonly VideoGenerationOptions Short = new() { Frames = 3, Steps = 2, Height = 64, Width = 48, Seed = 5 };

    public static IEnumerable<object[]> Cases =>
    [
        [VcutMode.Exact, 3f],
        [VcutMode.Exact, 1f],
        [VcutMode.Off, 3f],
        [VcutMode.Paper, 3f],
    ];

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void StagesChainedEqualGenerate(VcutMode mode, float maxGuidance)
    {
        using var generator = VideoGenerator.Open(TestModels.Tiny, vcut: mode);
        var options = Short with { MaxGuidanceScale = maxGuidance };
        var image = VideoGeneratorTests.TestImage();
        var expected = generator.Generate(image, options);

        var embedding = generator.EncodeImage(image);
        var latent = generator.EncodeConditioningLatent(image, options);
        var cache = generator.ComputeCache(embedding, options);
        var latents = generator.Denoise(cache, latent, options);
        var copy = (float[])latents.Clone();
        var video = generator.Decode(latents, options);

        CollectionAssert.AreEqual(expected.Frames, video.Frames);
        CollectionAssert.AreEqual(copy, latents, "Decode leaves its input alone");
        Assert.AreEqual(mode, cache.Mode);
        Assert.AreEqual(maxGuidance > 1 ? 2 : 1, cache.Rows);
        Assert.AreEqual(cache.Rows * cache.Entries.Sum(e => e.Width), cache.Values.Length);
        Assert.HasCount(mode switch { VcutMode.Off => 1, VcutMode.Paper => 16, _ => 32 }, cache.Entries);
        CollectionAssert.AreEqual(generator.CacheEntries.ToArray(), cache.Entries.ToArray());
        Assert.AreEqual(1, video.Statistics.ModelCalls[ModelNames.VaeDecoder]);
    }

    [TestMethod]
    public void MismatchedInputsAreRefusedWithWhatWasExpected()
    {
        using var generator = VideoGenerator.Open(TestModels.Tiny, vcut: VcutMode.Exact);
        var image = VideoGeneratorTests.TestImage();
        var e = Assert.ThrowsExactly<ArgumentException>(() => generator.ComputeCache(new float[3], Short));
        StringAssert.Contains(e.Message, "expected");
        var cache = generator.ComputeCache(generator.EncodeImage(image), Short with { MaxGuidanceScale = 1 });
        var latent = generator.EncodeConditioningLatent(image, Short);
        e = Assert.ThrowsExactly<ArgumentException>(() => generator.Denoise(cache, latent, Short));
        StringAssert.Contains(e.Message, "row");
        e = Assert.ThrowsExactly<ArgumentException>(() => generator.Denoise(cache, new float[7], Short));
        StringAssert.Contains(e.Message, "conditioning latent");
        e = Assert.ThrowsExactly<ArgumentException>(() => generator.Decode(new float[7], Short));
        StringAssert.Contains(e.Message, "video latents");
    }
}
