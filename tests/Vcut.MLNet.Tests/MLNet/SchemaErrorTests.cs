using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Pipeline;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>Schema problems are found at GetOutputSchema and Fit, naming the column or path and what was expected.</summary>
[TestClass]
public sealed class SchemaErrorTests
{
    private sealed class NumberRow
    {
        public float Image { get; set; }
    }

    private sealed class VectorRow
    {
        [VectorType(7)]
        public float[] VideoLatents { get; set; } = new float[7];
    }

    [TestMethod]
    public void MissingImageColumnIsNamedAtFitAndAtGetOutputSchema()
    {
        var context = new MLContext();
        var data = context.Data.LoadFromEnumerable(new[] { new PathRow { Image = "x.png" } });
        var estimator = context.Transforms.GenerateVideo(Short with { InputColumnName = "Picture" });
        var atFit = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(data));
        StringAssert.Contains(atFit.Message, "input column 'Picture' not found");
        StringAssert.Contains(atFit.Message, "expected an image column (MLImage");
        StringAssert.Contains(atFit.Message, "'Image'", "the columns there are");
        var atShape = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(ShapeOf(data.Schema)));
        StringAssert.Contains(atShape.Message, "'Picture' not found");
        // In a chain, ML.NET's schema propagation runs before anything is fitted.
        var chained = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            context.Transforms.CopyColumns("Copy", "Image").Append(estimator).Fit(data));
        StringAssert.Contains(chained.Message, "'Picture' not found");
    }

    [TestMethod]
    public void WrongTypeIsNamedWithWhatWasExpected()
    {
        var context = new MLContext();
        var numbers = context.Data.LoadFromEnumerable(new[] { new NumberRow { Image = 1 } });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => context.Transforms.GenerateVideo(Short).Fit(numbers));
        StringAssert.Contains(e.Message, "input column 'Image' is Single");
        StringAssert.Contains(e.Message, "expected an image column");
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => context.Transforms.GenerateVideo(Short).GetOutputSchema(ShapeOf(numbers.Schema)));
        StringAssert.Contains(e.Message, "'Image' is Single");

        // A vector of the wrong size: video latents for another video shape.
        var vectors = context.Data.LoadFromEnumerable(new[] { new VectorRow() });
        e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            context.Transforms.DecodeVideo(new VaeDecodingOptions(Short) { OutputColumnName = "Video", InputColumnName = "VideoLatents" }).Fit(vectors));
        StringAssert.Contains(e.Message, "input column 'VideoLatents' is Vector<Single, 7>");
        StringAssert.Contains(e.Message, "expected a vector of 160 Single values (the video latents, 2×4×4×5)");
    }

    [TestMethod]
    public void FittedTransformerChecksTheDataItIsGiven()
    {
        var context = new MLContext();
        using var transformer = context.Transforms.GenerateVideo(Short).Fit(Images(context, 1));
        var numbers = context.Data.LoadFromEnumerable(new[] { new NumberRow { Image = 1 } });
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(numbers));
        StringAssert.Contains(e.Message, "'Image' is Single");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.GetOutputSchema(numbers.Schema));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => context.Model.CreatePredictionEngine<NumberRow, VideoPrediction>(transformer));
    }

    [TestMethod]
    public void StagesWithMismatchedGuidanceAreRefusedBeforeAnyModelRuns()
    {
        // The cache of a guided video has two rows; a denoiser without guidance expects one.
        var context = new MLContext();
        var data = Images(context, 1);
        var unguided = Short with { MaxGuidanceScale = 1 };
        var pipeline = context.Transforms.EncodeClipImage(new ClipImageEncodingOptions(Short) { OutputColumnName = "ImageEmbedding", InputColumnName = "Image" })
            .Append(context.Transforms.EncodeConditioningLatent(new ConditioningLatentOptions(Short) { OutputColumnName = "ConditioningLatent", InputColumnName = "Image" }))
            .Append(context.Transforms.ComputeConditioningCache(new ConditioningCacheOptions(Short) { OutputColumnName = "ConditioningCache", InputColumnName = "ImageEmbedding" }))
            .Append(context.Transforms.DenoiseVideo(new VideoDenoisingOptions(unguided)
            {
                OutputColumnName = "VideoLatents", ConditioningLatentColumnName = "ConditioningLatent", ConditioningCacheColumnName = "ConditioningCache",
            }));
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pipeline.Fit(data));
        StringAssert.Contains(e.Message, "input column 'ConditioningCache' is Vector<Single, 2048>");
        StringAssert.Contains(e.Message, "expected a vector of 1024 Single values (the conditioning cache for VCUT Exact with 1 guidance row(s))");
    }

    [TestMethod]
    public void UnknownModelFolderIsNamedWithWhatWasExpected()
    {
        var context = new MLContext();
        var data = Images(context, 1);
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-vcut-model-{Guid.NewGuid():N}");
        var estimator = context.Transforms.GenerateVideo(Short with { ModelDirectory = missing });
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => estimator.Fit(data));
        StringAssert.Contains(e.Message, missing);
        StringAssert.Contains(e.Message, "expected a Vcut model directory holding vcut-model.json");
        e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => estimator.GetOutputSchema(ShapeOf(data.Schema)));
        StringAssert.Contains(e.Message, missing);

        using var empty = new TempFolder();
        var notAModel = Assert.ThrowsExactly<InvalidDataException>(() =>
            context.Transforms.GenerateVideo(Short with { ModelDirectory = empty.Path }).Fit(data));
        StringAssert.Contains(notAModel.Message, empty.Path);
        StringAssert.Contains(notAModel.Message, "vcut-model.json");
    }

    [TestMethod]
    public void InvalidOptionsFailWhenTheEstimatorIsCreated()
    {
        var context = new MLContext();
        var e = Assert.ThrowsExactly<ArgumentException>(() => context.Transforms.GenerateVideo(Short with { Steps = 0 }));
        StringAssert.Contains(e.Message, "steps = 0 must be at least 1");
        e = Assert.ThrowsExactly<ArgumentException>(() => context.Transforms.GenerateVideo(Short with { ModelDirectory = " " }));
        StringAssert.Contains(e.Message, "ModelDirectory");
        var size = Assert.ThrowsExactly<ArgumentException>(() => context.Transforms.GenerateVideo(Short with { Height = 36 }));
        StringAssert.Contains(size.Message, "height = 36");
        e = Assert.ThrowsExactly<ArgumentException>(() => context.Transforms.GenerateVideo(Short with { SeedColumnName = " " }));
        StringAssert.Contains(e.Message, "VcutVideoOptions.SeedColumnName is blank");
        Assert.ThrowsExactly<ArgumentException>(() => context.Transforms.GenerateVideo(outputColumnName: ""));
        Assert.ThrowsExactly<ArgumentException>(() => context.Transforms.EncodeClipImage(outputColumnName: "pixel_values"));
    }

    [TestMethod]
    public void InnerColumnNamesOfTheClipStageAreRefusedInTheInput()
    {
        var context = new MLContext();
        var data = context.Data.LoadFromEnumerable(new[] { new ImageRow { Image = Picture(0).MLImage } });
        using var transformer = context.Transforms.EncodeClipImage(new ClipImageEncodingOptions(Short) { OutputColumnName = "ImageEmbedding", InputColumnName = "Image" }).Fit(data);
        var clash = context.Transforms.CopyColumns("pixel_values", "Image").Fit(data).Transform(data);
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(clash));
        StringAssert.Contains(e.Message, "'pixel_values'");
    }
}
