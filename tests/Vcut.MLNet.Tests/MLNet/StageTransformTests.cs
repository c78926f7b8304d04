using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.Graph.Builders;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>The stages one by one: each column is what the runtime's stage gives, and chained they equal the one-shot estimator.</summary>
[TestClass]
public sealed class StageTransformTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(VcutMode.Exact, 3f)]
    [DataRow(VcutMode.Off, 3f)]
    [DataRow(VcutMode.Exact, 1f)]
    public void StageByStageEqualsOneShot(VcutMode mode, float maxGuidance)
    {
        var options = Short with { Vcut = mode, Generation = Short.Generation with { MaxGuidanceScale = maxGuidance } };
        var context = new MLContext();
        var data = Images(context, 3);
        using var oneShot = context.Transforms.GenerateVideo("Video", "Image", options).Fit(data);
        var stages = context.Transforms.GenerateVideoByStages("Video", "Image", options).Fit(data);
        try
        {
            var expected = Column(oneShot.Transform(data), "Video");
            var staged = stages.Transform(data);
            var actual = Column(staged, "Video");
            Assert.HasCount(3, actual);
            for (var row = 0; row < 3; row++)
            {
                CollectionAssert.AreEqual(expected[row], actual[row], $"row {row}: stages vs one-shot, bit for bit");
            }
            // Every intermediate column is there, typed.
            var schema = staged.Schema;
            CollectionAssert.AreEqual(new[] { 1, 32 }, ((VectorDataViewType)schema["ImageEmbedding"].Type).Dimensions.ToArray());
            CollectionAssert.AreEqual(new[] { 4, 4, 5 }, ((VectorDataViewType)schema["ConditioningLatent"].Type).Dimensions.ToArray());
            CollectionAssert.AreEqual(new[] { 2, 4, 4, 5 }, ((VectorDataViewType)schema["VideoLatents"].Type).Dimensions.ToArray());
            var rows = maxGuidance > 1 ? 2 : 1;
            var cacheWidth = mode == VcutMode.Off ? 32 : 32 * 32;
            Assert.AreEqual(rows * cacheWidth, ((VectorDataViewType)schema["ConditioningCache"].Type).Size);
        }
        finally
        {
            foreach (var transformer in stages.OfType<IDisposable>())
            {
                transformer.Dispose();
            }
        }
    }

    [TestMethod]
    public void EachStageColumnIsTheRuntimeStage()
    {
        var context = new MLContext();
        var data = Images(context, 1);
        var (_, rgb) = Picture(0);
        using var generator = VideoGenerator.Open(vcut: VcutMode.Exact);
        var stages = context.Transforms.PreprocessClipImage().Append(context.Transforms.GenerateVideoByStages(options: Short)).Fit(data);
        var output = stages.Transform(data);

        CollectionAssert.AreEqual(ClipImagePreprocessor.Preprocess(rgb), Column(output, "ClipPixels")[0], "CLIP pre-processing");
        var embedding = generator.EncodeImage(rgb);
        var viaOnnxTransformer = Column(output, "ImageEmbedding")[0];
        var difference = MaxDifference(embedding, viaOnnxTransformer);
        TestContext.WriteLine($"ML.NET ApplyOnnxModel vs the runtime's session, CLIP embedding: max |difference| {difference:E2}");
        CollectionAssert.AreEqual(embedding, viaOnnxTransformer, "ApplyOnnxModel gives the runtime's embedding, bit for bit");
        var latent = generator.EncodeConditioningLatent(rgb, Short.Generation);
        CollectionAssert.AreEqual(latent, Column(output, "ConditioningLatent")[0]);
        var cache = generator.ComputeCache(embedding, Short.Generation);
        CollectionAssert.AreEqual(cache.Values, Column(output, "ConditioningCache")[0]);
        var latents = generator.Denoise(cache, latent, Short.Generation);
        CollectionAssert.AreEqual(latents, Column(output, "VideoLatents")[0]);
        CollectionAssert.AreEqual(generator.Decode(latents, Short.Generation).Frames, Column(output, "Video")[0]);
        foreach (var transformer in stages.OfType<IDisposable>())
        {
            transformer.Dispose();
        }
    }

    [TestMethod]
    public void MLNetImageTransformsDoNotGiveTheSpecsClipInput()
    {
        // ML.NET's own route to a 224×224 CLIP input: ResizeImages (SkiaSharp, no anti-aliasing blur) and ExtractPixels
        // (8-bit samples). The spec's input is a Gaussian blur then bicubic with aligned corners, in float.
        var context = new MLContext();
        var (image, rgb) = Picture(0, 320, 240);
        var data = context.Data.LoadFromEnumerable(new[] { new LargeImageRow { Image = image } });
        var mean = ClipImagePreprocessor.Mean.ToArray();
        var std = ClipImagePreprocessor.StandardDeviation.ToArray();
        var pixels = context.Transforms.ResizeImages("Resized", 224, 224, "Image", Microsoft.ML.Transforms.Image.ImageResizingEstimator.ResizingKind.Fill)
            .Append(context.Transforms.ExtractPixels("Pixels", "Resized", interleavePixelColors: false, scaleImage: 1f / 255))
            .Fit(data).Transform(data);
        var mlnet = Column(pixels, "Pixels")[0];
        for (var i = 0; i < mlnet.Length; i++)
        {
            var c = i / (224 * 224);
            mlnet[i] = (mlnet[i] - mean[c]) / std[c];
        }
        var spec = ClipImagePreprocessor.Preprocess(rgb);
        var difference = MaxDifference(spec, mlnet);
        TestContext.WriteLine($"ResizeImages + ExtractPixels vs the spec's CLIP pre-processing (320×240 → 224×224): max |difference| {difference:F3} (normalised units)");
        Assert.IsGreaterThan(0.05f, difference, "ML.NET's resize is not the spec's anti-aliased resize");
    }
}

public sealed class LargeImageRow
{
    [Microsoft.ML.Transforms.Image.ImageType(240, 320)]
    public MLImage Image { get; set; } = null!;
}
