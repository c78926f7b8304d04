using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Vcut.Graph.Builders;
using Vcut.Graph.Vcut;
using Vcut.MLNet.Tests.Runtime;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>ML.NET's own Save and Load, then RestoreVcut: the same frames, in this process and in another.</summary>
[TestClass]
public sealed class PersistenceTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void PlainModelSaveThenLoadInAnotherProcessGivesBitIdenticalFrames()
    {
        using var folder = new TempFolder();
        Picture(1).Rgb.SavePng(folder.File("a.png"));
        Picture(2).Rgb.SavePng(folder.File("b.png"));
        string[] relative = ["a.png", "b.png"];
        int[] seeds = [3, 4];
        var context = new MLContext();
        var paths = context.Data.LoadFromEnumerable(relative.Select(p => new PathRow { Image = p }).ToArray());
        var images = context.Data.LoadFromEnumerable(seeds.Select(s => new ImageRow { Image = Picture(s).MLImage }).ToArray());
        var settings = Short with { Seed = 21, MotionBucketId = 60 };

        // Four pipelines: LoadImages then the one step (the input schema saved), the stages reading paths themselves
        // (imageFolder), and both on in-memory MLImages (saved with inputSchema: null, as ML.NET cannot save an MLImage schema).
        var models = new (string Name, ITransformer Model, IDataView Data, DataViewSchema? Schema)[]
        {
            ("loadimages-one-step.zip",
                context.Transforms.LoadImages("Image", folder.Path, "Image").Append(context.Transforms.GenerateVideo(settings)).Fit(paths), paths, paths.Schema),
            ("paths-stages.zip",
                context.Transforms.GenerateVideoByStages(Stages(settings) with { ImageFolder = folder.Path }).Fit(paths), paths, paths.Schema),
            ("images-one-step.zip", context.Transforms.GenerateVideo(settings).Fit(images), images, null),
            ("images-stages.zip", context.Transforms.GenerateVideoByStages(Stages(settings) with { DropStageColumns = true }).Fit(images), images, null),
        };
        var jobs = new List<ChildJob>();
        var expected = new List<List<float[]>>();
        foreach (var (name, model, data, schema) in models)
        {
            expected.Add(Column(model.Transform(data), "Video"));
            context.Model.Save(model, schema, folder.File(name));
            jobs.Add(new ChildJob(folder.File(name), data == paths ? relative : null, data == images ? seeds : null, "Video", folder.File(name + ".rows")));
        }
        foreach (var (_, model, _, _) in models)
        {
            DisposeAll(model); // after all ran: they share one generator
        }

        var (exitCode, output) = ChildProcess.Run(folder.Path, jobs, TimeSpan.FromMinutes(3));
        TestContext.WriteLine(output);
        Assert.AreEqual(0, exitCode, output);
        for (var i = 0; i < jobs.Count; i++)
        {
            var actual = ChildJob.ReadRows(jobs[i].OutputFile);
            Assert.HasCount(2, actual, jobs[i].ModelFile);
            for (var row = 0; row < 2; row++)
            {
                CollectionAssert.AreEqual(expected[i][row], actual[row], $"{Path.GetFileName(jobs[i].ModelFile)}, row {row}: bit for bit in another process");
            }
            TestContext.WriteLine($"{Path.GetFileName(jobs[i].ModelFile)}: {new FileInfo(jobs[i].ModelFile).Length} bytes, the same {actual[0].Length} values per row in another process");
        }
    }

    [TestMethod]
    public void PlainLoadWithoutRestoreFailsNamingTheCallThatRestoresIt()
    {
        using var folder = new TempFolder();
        var context = new MLContext();
        var data = Paths(context, folder, 1);
        var model = context.Transforms.GenerateVideo(Short).Append(context.Transforms.CopyColumns("Copy", "Video")).Fit(data);
        context.Model.Save(model, data.Schema, folder.File("m.zip"));
        DisposeAll(model);

        var loaded = new MLContext().Model.Load(folder.File("m.zip"), out var schema);
        Assert.AreEqual(data.Schema["Image"].Type, schema["Image"].Type, "ML.NET saved the input schema");
        var atTransform = Assert.Throws<Exception>(() => loaded.Transform(data));
        TestContext.WriteLine("plain Load, then Transform: " + Messages(atTransform));
        StringAssert.Contains(Messages(atTransform), "mlContext.Model.RestoreVcut(model)");
        StringAssert.Contains(Messages(Assert.Throws<Exception>(() => loaded.GetOutputSchema(data.Schema))), "RestoreVcut");
        StringAssert.Contains(Messages(Assert.Throws<Exception>(() => new MLContext().Model.CreatePredictionEngine<PathRow, VideoPrediction>(loaded, schema))),
            "RestoreVcut");

        var restored = new MLContext().Model.RestoreVcut(loaded);
        try
        {
            Assert.HasCount(1, Column(restored.Transform(data), "Copy"));
        }
        finally
        {
            DisposeAll(restored);
        }
    }

    [TestMethod]
    public void StagePipelineSavesToAStreamAndRestoresWithItsScopesAndOptions()
    {
        using var folder = new TempFolder();
        var context = new MLContext();
        var data = Paths(context, folder, 2); // the stages read image paths directly
        var settings = Short with { Vcut = VcutMode.Off, DecodeChunkSize = 1 };
        var model = context.Transforms.PreprocessClipImage("ClipPixels", "Image")
            .Append(context.Transforms.GenerateVideoByStages(Stages(settings) with { StageColumnPrefix = "s." }))
            .Append(context.Transforms.CopyColumns("VideoCopy", "Video"), TransformerScope.Scoring)
            .Fit(data);
        var expected = Column(model.Transform(data), "Video");
        var savedOptions = Flatten(model).OfType<VideoDenoisingTransformer>().Single().Options;
        using var stream = new MemoryStream();
        context.Model.Save(model, data.Schema, stream);
        DisposeAll(model);

        stream.Position = 0;
        var loadingContext = new MLContext();
        var loaded = (TransformerChain<ITransformer>)loadingContext.Model.RestoreVcut(loadingContext.Model.Load(stream, out _));
        try
        {
            var kinds = Flatten(loaded).Select(t => t.GetType().Name).ToArray();
            TestContext.WriteLine("restored: " + string.Join(", ", kinds));
            CollectionAssert.IsSubsetOf(new[]
            {
                nameof(ClipImagePreprocessingTransformer), nameof(ClipImageEncodingTransformer), nameof(ConditioningLatentTransformer),
                nameof(ConditioningCacheTransformer), nameof(VideoDenoisingTransformer), nameof(VaeDecodingTransformer),
            }, kinds);
            Assert.IsFalse(Flatten(loaded).Any(t => t is ExpressionTransformer), "no saved form left");
            Assert.AreEqual(savedOptions, Flatten(loaded).OfType<VideoDenoisingTransformer>().Single().Options, "every option, as saved");
            var output = loaded.Transform(data);
            CollectionAssert.AreEqual(expected[0], Column(output, "Video")[0]);
            CollectionAssert.AreEqual(expected[1], Column(output, "Video")[1]);
            Assert.IsNotNull(output.Schema.GetColumnOrNull("s.ConditioningCache"));
            Assert.IsNotNull(output.Schema.GetColumnOrNull("VideoCopy"), "scoring scope kept in the full model");
            Assert.IsNull(loaded.GetModelFor(TransformerScope.Training).Transform(data).Schema.GetColumnOrNull("VideoCopy"),
                "the copy is scoring-only after loading, as before saving");
        }
        finally
        {
            DisposeAll(loaded);
        }
    }

    [TestMethod]
    public void RestoredTransformersRunOnTheLoadingContextsDeviceAsApplyOnnxModelDoes()
    {
        using var folder = new TempFolder();
        var context = new MLContext();
        var data = Paths(context, folder, 1);
        var options = Short with { SeedColumnName = null, ImageFolder = folder.Path, IntraOpThreads = 1 };
        var model = context.Transforms.GenerateVideo(options).Fit(data);
        context.Model.Save(model, null, folder.File("m.zip"));
        DisposeAll(model);

        var gpuContext = new MLContext { GpuDeviceId = 0, FallbackToCpu = true };
        var restored = (VcutVideoTransformer)gpuContext.Model.RestoreVcut(gpuContext.Model.Load(folder.File("m.zip"), out var schema));
        try
        {
            Assert.IsNull(schema, "saved with inputSchema: null");
            Assert.AreEqual(options with { GpuDeviceId = 0, FallbackToCpu = true }, restored.Options, "the saved options, on the loading context's GPU");
            Assert.HasCount(1, Column(restored.Transform(data), "Video"), "it runs (on the CPU when CUDA cannot start: the fallback)");
        }
        finally
        {
            restored.Dispose();
        }
    }

    [TestMethod]
    public void ModelsWithoutVcutTransformersAreReturnedAsTheyAre()
    {
        using var folder = new TempFolder();
        var context = new MLContext();
        var data = Paths(context, folder, 1);
        var plain = context.Transforms.CopyColumns("Copy", "Image").Fit(data);
        context.Model.Save(plain, data.Schema, folder.File("plain.zip"));
        var loaded = context.Model.Load(folder.File("plain.zip"), out _);
        Assert.AreSame(loaded, context.Model.RestoreVcut(loaded));

        // A Vcut transformer alone (no chain), running no model.
        var clip = context.Transforms.PreprocessClipImage("ClipPixels", "Image").Fit(data);
        context.Model.Save(clip, data.Schema, folder.File("clip.zip"));
        var restored = new MLContext().Model.RestoreVcut(new MLContext().Model.Load(folder.File("clip.zip"), out _));
        Assert.IsInstanceOfType<ClipImagePreprocessingTransformer>(restored);
        CollectionAssert.AreEqual(Column(clip.Transform(data), "ClipPixels")[0], Column(restored.Transform(data), "ClipPixels")[0]);
        Assert.AreEqual(1, ((VcutRowTransformer)restored).RowsComputed, "one row read after restoring");
    }

    /// <summary>Rows of absolute image paths.</summary>
    private static IDataView Paths(MLContext context, TempFolder folder, int count) =>
        context.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i =>
        {
            var path = folder.File($"{i}.png");
            Picture(i).Rgb.SavePng(path);
            return new PathRow { Image = path };
        }).ToArray());
}
