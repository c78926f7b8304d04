using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.Graph.Builders;
using Vcut.Graph.Names;
using Vcut.Graph.Vcut;
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
    public static void Open(TestContext _) => _generator = VideoGenerator.Open(TestModels.Tiny, vcut: VcutMode.Exact);

    [ClassCleanup]
    public static void Close() => _generator.Dispose();

    [TestMethod]
    public void DefaultEstimatorGivesTheDefaultModelsVideoColumn()
    {
        var context = new MLContext();
        var data = Images(context, 1);
        var estimator = context.Transforms.GenerateVideo("Video", "Image");
        Assert.AreEqual(VcutMode.Exact, estimator.Options.Vcut);
        Assert.IsNull(estimator.Options.GpuDeviceId, "the CPU, as the MLContext has no GPU");
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
            .Append(context.Transforms.GenerateVideo(Short));
        using var model = (IDisposable)pipeline.Fit(paths);
        var videos = ((ITransformer)model).Transform(paths);

        var type = (VectorDataViewType)videos.Schema["Video"].Type;
        Assert.AreEqual(NumberDataViewType.Single, type.ItemType);
        CollectionAssert.AreEqual(new[] { 2, 3, 32, 40 }, type.Dimensions.ToArray());
        var frames = Column(videos, "Video");
        Assert.HasCount(2, frames);
        var expected = new[] { "a.png", "b.png" }
            .Select(name => _generator.Generate(RgbImage.Load(folder.File(name)), Generation(Short)).Frames).ToArray();
        CollectionAssert.AreEqual(expected[0], frames[0], "row 0: the plain API's frames, bit for bit");
        CollectionAssert.AreEqual(expected[1], frames[1], "row 1");
        CollectionAssert.AreNotEqual(frames[0], frames[1]);
    }

    [TestMethod]
    public void StepCachingAndGuidanceEconomyOptionsReachTheGenerator()
    {
        var context = new MLContext();
        var data = Images(context, 1);
        var settings = Short with { Steps = 4, StepCacheInterval = 2, GuidanceStepFraction = 0.5f, GuidanceInterval = 2 };
        using var transformer = context.Transforms.GenerateVideo(settings).Fit(data);
        var video = Column(transformer.Transform(data), "Video")[0];
        using var split = VideoGenerator.Open(TestModels.Tiny, vcut: VcutMode.Exact, stepCacheBranch: 1);
        var expected = split.Generate(Picture(0).Rgb, Generation(settings));
        CollectionAssert.AreEqual(expected.Frames, video, "the plain API with the same step cache and guidance settings");
        Assert.AreEqual(2, expected.Statistics.ModelCalls[ModelNames.UNet], "steps 0 and 2 full, 1 and 3 shallow");
        CollectionAssert.AreNotEqual(_generator.Generate(Picture(0).Rgb, Generation(Short with { Steps = 4 })).Frames, video);
    }

    [TestMethod]
    public void StepCacheBranchBelowOneIsRefused()
    {
        var error = Assert.ThrowsExactly<ArgumentException>(() => (Short with { StepCacheInterval = 2, StepCacheBranch = 0 }).Validate());
        StringAssert.Contains(error.Message, "StepCacheBranch");
    }

    [TestMethod]
    public void PathColumnAndInMemoryImagesGiveTheSameVideo()
    {
        using var folder = new TempFolder();
        var (image, rgb) = Picture(3);
        rgb.SavePng(folder.File("c.png"));
        var context = new MLContext();
        var fromPath = context.Transforms.GenerateVideo(Short)
            .Fit(context.Data.LoadFromEnumerable(new[] { new PathRow { Image = folder.File("c.png") } }));
        var inMemory = context.Data.LoadFromEnumerable(new[] { new ImageRow { Image = image } });
        var fromImage = context.Transforms.GenerateVideo(Short).Fit(inMemory);
        var a = Column(fromPath.Transform(context.Data.LoadFromEnumerable(new[] { new PathRow { Image = folder.File("c.png") } })), "Video")[0];
        var b = Column(fromImage.Transform(inMemory), "Video")[0];
        CollectionAssert.AreEqual(a, b);
        CollectionAssert.AreEqual(_generator.Generate(rgb, Generation(Short)).Frames, b);
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
        using var transformer = context.Transforms.GenerateVideo(Short).Fit(Images(context, 1));
        var engine = context.Model.CreatePredictionEngine<ImageRow, VideoPrediction>(transformer);
        for (var seed = 4; seed <= 5; seed++)
        {
            var (image, rgb) = Picture(seed);
            var prediction = engine.Predict(new ImageRow { Image = image });
            CollectionAssert.AreEqual(_generator.Generate(rgb, Generation(Short)).Frames, prediction.Video, $"picture {seed}");
        }
        Assert.AreEqual(2, transformer.RowsComputed, "one video per prediction");
    }

    [TestMethod]
    public void CancelledTransformStopsTheRowWithOperationCanceled()
    {
        var context = new MLContext();
        using var transformer = context.Transforms.GenerateVideo(Short).Fit(Images(context, 1));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var videos = transformer.Transform(Images(context, 2), cancel.Token);
        Assert.ThrowsExactly<OperationCanceledException>(() => Column(videos, "Video"));
        Assert.AreEqual(0, transformer.RowsComputed);
    }

    [TestMethod]
    public void CancellationAndProgressReachThePipelineThroughItsOptions()
    {
        var context = new MLContext();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        using (var cancelled = context.Transforms.GenerateVideo(Short with { CancellationToken = cancel.Token }).Fit(Images(context, 1)))
        {
            Assert.ThrowsExactly<OperationCanceledException>(() => Column(cancelled.Transform(Images(context, 2)), "Video"));
            Assert.AreEqual(0, cancelled.RowsComputed);
        }

        var reports = new List<VcutProgress>();
        var progress = new Recorder(reports);
        using var transformer = context.Transforms.GenerateVideo(Short with { Progress = progress }).Fit(Images(context, 2));
        Assert.HasCount(2, Column(transformer.Transform(Images(context, 2)), "Video"));
        TestContext.WriteLine($"{reports.Count} reports: " + string.Join(", ", reports.Take(8).Select(r => $"row {r.Row} {r.Stage} {r.Step}/{r.TotalSteps}")));
        CollectionAssert.AreEquivalent(new long[] { 0, 1 }, reports.Select(r => r.Row).Distinct().ToArray(), "every row reports");
        Assert.IsTrue(reports.All(r => r.ColumnName == "Video"));
        Assert.IsTrue(reports.Any(r => r.Row == 1 && r.Stage == GenerationStage.Denoising && r.Step == Short.Steps && r.TotalSteps == Short.Steps),
            "the last denoising step of row 1");
        Assert.AreEqual(GenerationStage.Done, reports[^1].Stage);
    }

    [TestMethod]
    public void RelativePathsAreReadFromTheImageFolderAsLoadImagesReadsThem()
    {
        using var folder = new TempFolder();
        var (_, rgb) = Picture(6);
        rgb.SavePng(folder.File("d.png"));
        var context = new MLContext();
        var paths = context.Data.LoadFromEnumerable(new[] { new PathRow { Image = "d.png" } });
        using var transformer = context.Transforms.GenerateVideo(Short with { ImageFolder = folder.Path }).Fit(paths);
        CollectionAssert.AreEqual(_generator.Generate(rgb, Generation(Short)).Frames, Column(transformer.Transform(paths), "Video")[0]);

        // The simple overload takes the folder too, after the settings, as LoadImages takes it.
        using var simple = context.Transforms.GenerateVideo("Video", "Image", frames: 2, steps: 2, seed: 7, imageFolder: folder.Path).Fit(paths);
        Assert.AreEqual(folder.Path, simple.Options.ImageFolder);
    }

    [TestMethod]
    public void InputColumnNameNullReplacesTheImageColumnByItsVideoAsInMLNet()
    {
        var context = new MLContext();
        var data = Images(context, 1);
        using var transformer = context.Transforms.GenerateVideo(Short with { OutputColumnName = "Image", InputColumnName = null }).Fit(data);
        var output = transformer.Transform(data);
        Assert.IsInstanceOfType<VectorDataViewType>(output.Schema["Image"].Type, "the visible 'Image' is the video");
        Assert.AreEqual(1, output.Schema.Count(c => c.Name == "Image" && !c.IsHidden));
        CollectionAssert.AreEqual(_generator.Generate(Picture(0).Rgb, Generation(Short)).Frames, Column(output, "Image")[0]);
    }

    private sealed class Recorder(List<VcutProgress> reports) : IProgress<VcutProgress>
    {
        public void Report(VcutProgress value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
