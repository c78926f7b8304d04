using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.Graph.Builders;
using Vcut.Graph.Vcut;
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
        var options = Short with { Vcut = mode, MaxGuidanceScale = maxGuidance };
        var context = new MLContext();
        var data = Images(context, 3);
        using var oneShot = context.Transforms.GenerateVideo(options).Fit(data);
        using var stages = context.Transforms.GenerateVideoByStages(Stages(options)).Fit(data);
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
            CollectionAssert.AreEqual(new[] { 1, 32 }, ((VectorDataViewType)schema["Video.ImageEmbedding"].Type).Dimensions.ToArray());
            CollectionAssert.AreEqual(new[] { 4, 4, 5 }, ((VectorDataViewType)schema["Video.ConditioningLatent"].Type).Dimensions.ToArray());
            CollectionAssert.AreEqual(new[] { 2, 4, 4, 5 }, ((VectorDataViewType)schema["Video.VideoLatents"].Type).Dimensions.ToArray());
            var rows = maxGuidance > 1 ? 2 : 1;
            var cacheWidth = mode == VcutMode.Off ? 32 : 32 * 32;
            Assert.AreEqual(rows * cacheWidth, ((VectorDataViewType)schema["Video.ConditioningCache"].Type).Size);
        }
        finally
        {
            DisposeAll(stages);
        }
    }

    [TestMethod]
    public void StageColumnsTakeAPrefixOrAreDroppedSoTheyCannotClashWithInputColumns()
    {
        // The input already has a column named as a stage column used to be named: it must survive untouched.
        var context = new MLContext();
        var data = context.Transforms.CopyColumns("ImageEmbedding", "Image").Fit(Images(context, 1)).Transform(Images(context, 1));
        using var kept = context.Transforms.GenerateVideoByStages(Stages(Short) with { StageColumnPrefix = "svd_" }).Fit(data);
        var schema = kept.GetOutputSchema(data.Schema);
        Assert.IsInstanceOfType<Microsoft.ML.Transforms.Image.ImageDataViewType>(schema["ImageEmbedding"].Type, "the input's column is not replaced");
        foreach (var name in new[] { "svd_ImageEmbedding", "svd_ConditioningLatent", "svd_ConditioningCache", "svd_VideoLatents", "Video" })
        {
            Assert.IsNotNull(schema.GetColumnOrNull(name), name);
        }

        using var dropped = context.Transforms.GenerateVideoByStages(Stages(Short) with { DropStageColumns = true }).Fit(data);
        var output = dropped.Transform(data);
        CollectionAssert.AreEqual(new[] { "Image", "ImageEmbedding", "Video" }, output.Schema.Where(c => !c.IsHidden).Select(c => c.Name).ToArray(),
            "only the video is added");
        using var oneShot = context.Transforms.GenerateVideo(Short).Fit(data);
        CollectionAssert.AreEqual(Column(oneShot.Transform(data), "Video")[0], Column(output, "Video")[0], "and it is the one-step video");
    }

    [TestMethod]
    public void EachStageColumnIsTheRuntimeStage()
    {
        var context = new MLContext();
        var data = Images(context, 1);
        var (_, rgb) = Picture(0);
        using var generator = VideoGenerator.Open(TestModels.Tiny, vcut: VcutMode.Exact);
        using var stages = context.Transforms.PreprocessClipImage("ClipPixels", "Image").Append(context.Transforms.GenerateVideoByStages(Stages(Short))).Fit(data);
        var output = stages.Transform(data);

        CollectionAssert.AreEqual(ClipImagePreprocessor.Preprocess(rgb), Column(output, "ClipPixels")[0], "CLIP pre-processing");
        var embedding = generator.EncodeImage(rgb);
        var viaOnnxTransformer = Column(output, "Video.ImageEmbedding")[0];
        var difference = MaxDifference(embedding, viaOnnxTransformer);
        TestContext.WriteLine($"ML.NET ApplyOnnxModel vs the runtime's session, CLIP embedding: max |difference| {difference:E2}");
        CollectionAssert.AreEqual(embedding, viaOnnxTransformer, "ApplyOnnxModel gives the runtime's embedding, bit for bit");
        var latent = generator.EncodeConditioningLatent(rgb, Generation(Short));
        CollectionAssert.AreEqual(latent, Column(output, "Video.ConditioningLatent")[0]);
        var cache = generator.ComputeCache(embedding, Generation(Short));
        CollectionAssert.AreEqual(cache.Values, Column(output, "Video.ConditioningCache")[0]);
        var latents = generator.Denoise(cache, latent, Generation(Short));
        CollectionAssert.AreEqual(latents, Column(output, "Video.VideoLatents")[0]);
        CollectionAssert.AreEqual(generator.Decode(latents, Generation(Short)).Frames, Column(output, "Video")[0]);
    }

    [TestMethod]
    public void MLNetImageTransformsDoNotGiveTheSpecsClipInput()
    {
        // ML.NET's own route to a 224×224 CLIP input: ResizeImages (SkiaSharp, no anti-aliasing blur) and ExtractPixels
        // (8-bit samples). The SVD pipeline's input (docs/svd.md §7 step 1) is a Gaussian blur then bicubic with aligned corners, in float.
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
        TestContext.WriteLine($"ResizeImages + ExtractPixels vs the SVD pipeline's CLIP pre-processing (320×240 → 224×224): max |difference| {difference:F3} (normalised units)");
        Assert.IsGreaterThan(0.05f, difference, "ML.NET's resize is not the SVD pipeline's anti-aliased resize");
    }
}

public sealed class LargeImageRow
{
    [Microsoft.ML.Transforms.Image.ImageType(240, 320)]
    public MLImage Image { get; set; } = null!;
}
