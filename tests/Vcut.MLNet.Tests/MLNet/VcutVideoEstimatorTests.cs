using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.Graph.Builders;
using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>The one-line pipeline: image column to video column, the same frames as the plain C# API.</summary>
[TestClass]
public sealed class VcutVideoEstimatorTests
{
    private static VideoGenerator _generator = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void Open(TestContext _) => _generator = VideoGenerator.Open(vcut: VcutMode.Exact);

    [ClassCleanup]
    public static void Close() => _generator.Dispose();

    [TestMethod]
    public void DefaultEstimatorGivesTheDefaultModelsVideoColumn()
    {
        var context = new MLContext();
        var data = Images(context, 1);
        var estimator = new VcutVideoEstimator();
        Assert.AreEqual(VcutMode.Exact, estimator.Options!.Vcut);
        Assert.IsNull(estimator.Options.ModelDirectory);
        var shape = estimator.GetOutputSchema(ShapeOf(data.Schema));
        Assert.IsTrue(shape.Any(c => c.Name == "Video" && c.Kind == SchemaShape.Column.VectorKind.Vector && c.ItemType == NumberDataViewType.Single));
        using var transformer = estimator.Fit(data);
        var type = (VectorDataViewType)transformer.GetOutputSchema(data.Schema)["Video"].Type;
        Assert.AreEqual(NumberDataViewType.Single, type.ItemType);
        CollectionAssert.AreEqual(new[] { _generator.Manifest.DefaultFrames, 3, _generator.Manifest.DefaultHeight, _generator.Manifest.DefaultWidth },
            type.Dimensions.ToArray());
        Assert.AreEqual(0, transformer.RowsComputed, "fitting computes no video");
    }

    [TestMethod]
    public void LoadImagesPipelineGivesTheColumnTypeAndTheFramesOfThePlainApi()
    {
        using var folder = new TempFolder();
        var (_, first) = Picture(1);
        var (_, second) = Picture(2, 48, 24);
        first.SavePng(folder.File("a.png"));
        second.SavePng(folder.File("b.png"));
        var context = new MLContext();
        var paths = context.Data.LoadFromEnumerable(new[] { new PathRow { Image = "a.png" }, new PathRow { Image = "b.png" } });

        var pipeline = context.Transforms.LoadImages("Image", folder.Path, "Image")
            .Append(new VcutVideoEstimator(options: Short));
        using var model = (IDisposable)pipeline.Fit(paths);
        var videos = ((ITransformer)model).Transform(paths);

        var type = (VectorDataViewType)videos.Schema["Video"].Type;
        Assert.AreEqual(NumberDataViewType.Single, type.ItemType);
        CollectionAssert.AreEqual(new[] { 2, 3, 32, 40 }, type.Dimensions.ToArray());
        var frames = Column(videos, "Video");
        Assert.HasCount(2, frames);
        var expected = new[] { "a.png", "b.png" }
            .Select(name => _generator.Generate(RgbImage.Load(folder.File(name)), Short.Generation).Frames).ToArray();
        CollectionAssert.AreEqual(expected[0], frames[0], "row 0: the plain API's frames, bit for bit");
        CollectionAssert.AreEqual(expected[1], frames[1], "row 1");
        CollectionAssert.AreNotEqual(frames[0], frames[1]);
    }

    [TestMethod]
    public void PathColumnAndInMemoryImagesGiveTheSameVideo()
    {
        using var folder = new TempFolder();
        var (image, rgb) = Picture(3);
        rgb.SavePng(folder.File("c.png"));
        var context = new MLContext();
        var fromPath = context.Transforms.GenerateVideo(options: Short)
            .Fit(context.Data.LoadFromEnumerable(new[] { new PathRow { Image = folder.File("c.png") } }));
        var inMemory = context.Data.LoadFromEnumerable(new[] { new ImageRow { Image = image } });
        var fromImage = context.Transforms.GenerateVideo(options: Short).Fit(inMemory);
        var a = Column(fromPath.Transform(context.Data.LoadFromEnumerable(new[] { new PathRow { Image = folder.File("c.png") } })), "Video")[0];
        var b = Column(fromImage.Transform(inMemory), "Video")[0];
        CollectionAssert.AreEqual(a, b);
        CollectionAssert.AreEqual(_generator.Generate(rgb, Short.Generation).Frames, b);
    }

    [TestMethod]
    public void MLImagesConvertToTheSamePixelsAsRgbImageLoad()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "models", "..", "..", "..", "..", "..", "..", "samples", "Vcut.Cli", "assets", "sample.png");
        Assert.IsTrue(File.Exists(path), path);
        using var image = MLImage.CreateFromFile(path);
        var converted = Vcut.MLNet.Mapping.ImageInputColumn.ToRgb(image, "Image");
        var loaded = RgbImage.Load(path);
        Assert.AreEqual(loaded.Width, converted.Width);
        CollectionAssert.AreEqual(loaded.Pixels, converted.Pixels, $"{image.PixelFormat} MLImage vs SkiaSharp decode");
    }

    [TestMethod]
    public void PredictionEngineGivesTheFramesOfThePlainApi()
    {
        var context = new MLContext();
        using var transformer = context.Transforms.GenerateVideo(options: Short).Fit(Images(context, 1));
        var engine = context.Model.CreatePredictionEngine<ImageRow, VideoPrediction>(transformer);
        for (var seed = 4; seed <= 5; seed++)
        {
            var (image, rgb) = Picture(seed);
            var prediction = engine.Predict(new ImageRow { Image = image });
            CollectionAssert.AreEqual(_generator.Generate(rgb, Short.Generation).Frames, prediction.Video, $"picture {seed}");
        }
        Assert.AreEqual(2, transformer.RowsComputed, "one video per prediction");
    }

    [TestMethod]
    public void CancelledTransformStopsTheRowWithOperationCanceled()
    {
        var context = new MLContext();
        using var transformer = context.Transforms.GenerateVideo(options: Short).Fit(Images(context, 1));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var videos = transformer.Transform(Images(context, 2), cancel.Token);
        Assert.ThrowsExactly<OperationCanceledException>(() => Column(videos, "Video"));
        Assert.AreEqual(0, transformer.RowsComputed);
    }
}
