using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.Graph.Builders;
using Vcut.MLNet.Tests.Runtime;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>Save → load → the same frames, through SaveWithVcut / LoadWithVcut.</summary>
[TestClass]
public sealed class PersistenceTests
{
    public TestContext TestContext { get; set; } = null!;

    private static void DisposeAll(ITransformer model)
    {
        if (model is IEnumerable<ITransformer> chain)
        {
            foreach (var part in chain)
            {
                DisposeAll(part);
            }
        }
        (model as IDisposable)?.Dispose();
    }

    [TestMethod]
    public void LoadImagesAndVideoPipelineSavesAndLoadsToTheSameFrames()
    {
        using var folder = new TempFolder();
        Picture(1).Rgb.SavePng(folder.File("a.png"));
        Picture(2).Rgb.SavePng(folder.File("b.png"));
        var context = new MLContext();
        var paths = context.Data.LoadFromEnumerable(new[] { new PathRow { Image = "a.png" }, new PathRow { Image = "b.png" } });
        var options = Short with { Generation = Short.Generation with { Seed = 21, MotionBucketId = 60 } };
        var model = context.Transforms.LoadImages("Image", folder.Path, "Image")
            .Append(context.Transforms.GenerateVideo("Clip", "Image", options))
            .Fit(paths);
        var expected = Column(model.Transform(paths), "Clip");
        var file = folder.File("model.zip");
        context.Model.SaveWithVcut(model, paths.Schema, file);
        DisposeAll(model);

        using (var zip = ZipFile.OpenRead(file))
        {
            Assert.IsNotNull(zip.GetEntry(VcutModelOperations.EntryName), "the Vcut entry");
            Assert.IsTrue(zip.Entries.Any(e => e.FullName.StartsWith("TransformerChain/", StringComparison.Ordinal)), "ML.NET's own entries");
        }
        var loadedContext = new MLContext();
        var loaded = loadedContext.Model.LoadWithVcut(file, out var schema);
        try
        {
            Assert.AreEqual(paths.Schema["Image"].Type, schema["Image"].Type);
            var video = ((IEnumerable<ITransformer>)loaded).OfType<VcutVideoTransformer>().Single();
            Assert.AreEqual(options, video.Options, "the options, as saved");
            Assert.AreEqual("Clip", video.OutputColumnName);
            var actual = Column(loaded.Transform(paths), "Clip");
            Assert.HasCount(2, actual);
            CollectionAssert.AreEqual(expected[0], actual[0], "row 0, bit for bit");
            CollectionAssert.AreEqual(expected[1], actual[1], "row 1, bit for bit");
            TestContext.WriteLine($"saved {new FileInfo(file).Length} bytes; loaded pipeline gives the same {actual[0].Length} values per row");
        }
        finally
        {
            DisposeAll(loaded);
        }
    }

    [TestMethod]
    public void StagePipelineSavesToAStreamAndLoadsWithItsScopes()
    {
        using var folder = new TempFolder();
        var context = new MLContext();
        var data = Paths(context, folder, 2); // the stages read image paths directly
        var options = Short with { Vcut = VcutMode.Off };
        var model = context.Transforms.PreprocessClipImage()
            .Append(context.Transforms.GenerateVideoByStages(options: options))
            .Append(context.Transforms.CopyColumns("VideoCopy", "Video"), TransformerScope.Scoring)
            .Fit(data);
        var expected = Column(model.Transform(data), "Video");
        using var stream = new MemoryStream();
        context.Model.SaveWithVcut(model, data.Schema, stream);
        DisposeAll(model);

        stream.Position = 0;
        var loaded = (TransformerChain<ITransformer>)new MLContext().Model.LoadWithVcut(stream, out _);
        try
        {
            var kinds = Flatten(loaded).Select(t => t.GetType().Name).ToArray();
            TestContext.WriteLine("loaded: " + string.Join(", ", kinds));
            CollectionAssert.IsSubsetOf(new[]
            {
                nameof(ClipImagePreprocessingTransformer), nameof(ClipImageEncodingTransformer), nameof(ConditioningLatentTransformer),
                nameof(ConditioningCacheTransformer), nameof(VideoDenoisingTransformer), nameof(VaeDecodingTransformer),
            }, kinds);
            Assert.IsFalse(kinds.Any(k => k.StartsWith("CustomMapping", StringComparison.Ordinal)), "no placeholder left");
            var output = loaded.Transform(data);
            CollectionAssert.AreEqual(expected[0], Column(output, "Video")[0]);
            CollectionAssert.AreEqual(expected[1], Column(output, "Video")[1]);
            Assert.IsNotNull(output.Schema.GetColumnOrNull("VideoCopy"), "scoring scope kept in the full model");
            Assert.IsNull(loaded.GetModelFor(TransformerScope.Training).Transform(data).Schema.GetColumnOrNull("VideoCopy"),
                "the copy is scoring-only after loading, as before saving");
        }
        finally
        {
            DisposeAll(loaded);
        }
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    [TestMethod]
    public void MLNetsOwnSaveRefusesAndItsOwnLoadSaysHowToLoad()
    {
        using var folder = new TempFolder();
        var context = new MLContext();
        var data = Paths(context, folder, 1);
        var model = context.Transforms.GenerateVideo(options: Short).Append(context.Transforms.CopyColumns("Copy", "Video")).Fit(data);
        try
        {
            var refused = Assert.Throws<Exception>(() => context.Model.Save(model, data.Schema, folder.File("plain.zip")));
            StringAssert.Contains(Flatten(refused), "SaveWithVcut");

            context.Model.SaveWithVcut(model, data.Schema, folder.File("vcut.zip"));
            var plain = new MLContext().Model.Load(folder.File("vcut.zip"), out _);
            var e = Assert.Throws<Exception>(() => plain.Transform(data));
            TestContext.WriteLine("ML.NET's own Load, then Transform: " + Flatten(e));
            StringAssert.Contains(Flatten(e), "LoadWithVcut");
        }
        finally
        {
            DisposeAll(model);
        }
    }

    [TestMethod]
    public void ModelWithoutVcutTransformersLoadsAsIs()
    {
        using var folder = new TempFolder();
        var context = new MLContext();
        var data = Paths(context, folder, 1);
        var model = context.Transforms.PreprocessClipImage().Fit(data);
        context.Model.SaveWithVcut(model, data.Schema, folder.File("m.zip"));
        var loaded = new MLContext().Model.LoadWithVcut(folder.File("m.zip"), out _);
        Assert.IsInstanceOfType<ClipImagePreprocessingTransformer>(loaded);
        CollectionAssert.AreEqual(Column(model.Transform(data), "ClipPixels")[0], Column(loaded.Transform(data), "ClipPixels")[0]);
        Assert.AreEqual(0, ((VcutRowTransformer)loaded).RowsComputed - 1, "one row read after loading");
    }

    /// <summary>
    /// Rows of image paths. (ML.NET saves a model's input schema with its binary data saver, which cannot save an
    /// MLImage column: a model whose input is only in-memory images cannot be saved by ML.NET at all.)
    /// </summary>
    private static IDataView Paths(MLContext context, TempFolder folder, int count) =>
        context.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i =>
        {
            var path = folder.File($"{i}.png");
            Picture(i).Rgb.SavePng(path);
            return new PathRow { Image = path };
        }).ToArray());

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " ← " + Flatten(e.InnerException);
}
