using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.Graph.Builders;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Pipeline;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>Rows are computed when read, once per row per cursor; cursors may run at once on several threads.</summary>
[TestClass]
public sealed class LazinessAndThreadingTests
{
    // Tiny: 20 rows must stay quick.
    private static readonly VcutVideoOptions Tiny = new() { OutputColumnName = "Video", InputColumnName = "Image", Frames = 2, Steps = 1, Height = 16, Width = 16, Seed = 9 };

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void TwentyRowsAreComputedOnlyWhenReadAndOncePerRowPerCursor()
    {
        var context = new MLContext();
        var data = Images(context, 20);
        using var transformer = context.Transforms.GenerateVideo(Tiny).Fit(data);
        var videos = transformer.Transform(data);
        Assert.AreEqual(0, transformer.RowsComputed, "Transform computes nothing");
        Assert.AreEqual(20L, videos.GetRowCount());

        // A cursor that does not ask for the video computes nothing, whatever it reads.
        using (var cursor = videos.GetRowCursor(videos.Schema.Where(c => c.Name == "Image")))
        {
            while (cursor.MoveNext())
            {
            }
        }
        Assert.AreEqual(0, transformer.RowsComputed, "rows passed without reading the video");

        var video = videos.Schema["Video"];
        using (var cursor = videos.GetRowCursor([video]))
        {
            var first = cursor.GetGetter<VBuffer<float>>(video);
            var second = cursor.GetGetter<VBuffer<float>>(video);
            VBuffer<float> a = default, b = default;
            for (var row = 0; row < 5; row++)
            {
                Assert.IsTrue(cursor.MoveNext());
                Assert.AreEqual(row, transformer.RowsComputed, $"row {row} not computed before it is read");
                first(ref a);
                first(ref a);
                second(ref b);
                Assert.AreEqual(row + 1, transformer.RowsComputed, $"row {row}: two getters, three reads, one computation");
                CollectionAssert.AreEqual(a.DenseValues().ToArray(), b.DenseValues().ToArray());
            }
            // Moving past rows without reading them computes nothing.
            for (var row = 5; row < 10; row++)
            {
                Assert.IsTrue(cursor.MoveNext());
            }
            Assert.AreEqual(5, transformer.RowsComputed, "rows skipped are not computed");
            while (cursor.MoveNext())
            {
                first(ref a);
            }
        }
        Assert.AreEqual(15, transformer.RowsComputed, "the first cursor computed the 15 rows it read");
        Assert.HasCount(20, Column(videos, "Video"));
        Assert.AreEqual(35, transformer.RowsComputed, "a second cursor computes its own rows: once per row per cursor");
        TestContext.WriteLine($"20-row IDataView: 0 rows computed by Transform and by a cursor not reading Video, 15 by a cursor reading 15, 20 more by a full pass: {transformer.RowsComputed} in all");
    }

    [TestMethod]
    public void ChainedStagesComputeEachRowOnceEvenWhenEveryColumnIsRead()
    {
        var context = new MLContext();
        var data = Images(context, 4);
        var stages = context.Transforms.GenerateVideoByStages(Stages(Tiny)).Fit(data);
        try
        {
            var output = stages.Transform(data);
            string[] names = ["Video.ImageEmbedding", "Video.ConditioningLatent", "Video.ConditioningCache", "Video.VideoLatents", "Video"];
            var columns = names.Select(name => output.Schema[name]).ToArray();
            using (var cursor = output.GetRowCursor(columns))
            {
                var getters = columns.Select(c => cursor.GetGetter<VBuffer<float>>(c)).ToArray();
                VBuffer<float> buffer = default;
                while (cursor.MoveNext())
                {
                    // Downstream first: the video pulls every stage; the stage columns read after must not recompute.
                    foreach (var getter in getters.Reverse().Concat(getters))
                    {
                        getter(ref buffer);
                    }
                }
            }
            var transformers = stages.ToArray();
            var counts = transformers.Select(t => t switch
            {
                VcutRowTransformer row => row.RowsComputed,
                ClipImageEncodingTransformer clip => clip.RowsComputed,
                _ => -1,
            }).ToArray();
            TestContext.WriteLine($"rows computed per stage, 4 rows, every column read twice: {string.Join(", ", counts)}");
            CollectionAssert.AreEqual(new long[] { 4, 4, 4, 4, 4 }, counts);
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
    public void TwoCursorsAtOnceOnTwoThreadsGiveTheSequentialResult()
    {
        var context = new MLContext();
        var data = Images(context, 6);
        using var transformer = context.Transforms.GenerateVideo(Tiny).Fit(data);
        var videos = transformer.Transform(data);
        var sequential = Column(videos, "Video");

        using var start = new Barrier(2);
        List<float[]> ReadOnOwnThread()
        {
            start.SignalAndWait();
            return Column(videos, "Video");
        }
        var first = Task.Factory.StartNew(ReadOnOwnThread, TaskCreationOptions.LongRunning);
        var second = Task.Factory.StartNew(ReadOnOwnThread, TaskCreationOptions.LongRunning);
        Task.WaitAll(first, second);
        foreach (var result in new[] { first.Result, second.Result })
        {
            Assert.HasCount(6, result);
            for (var row = 0; row < 6; row++)
            {
                CollectionAssert.AreEqual(sequential[row], result[row], $"row {row}");
            }
        }
        Assert.AreEqual(18, transformer.RowsComputed);
    }

    [TestMethod]
    public void CursorSetPartsReadInParallelCoverEveryRowOnce()
    {
        var context = new MLContext();
        using var folder = new Vcut.MLNet.Tests.Runtime.TempFolder();
        var paths = Enumerable.Range(0, 8).Select(i =>
        {
            var path = folder.File($"{i}.png");
            Picture(i).Rgb.SavePng(path);
            return new PathRow { Image = path };
        }).ToArray();
        var data = context.Data.Cache(context.Data.LoadFromEnumerable(paths)); // ML.NET's cache splits a cursor set into parts
        using var transformer = context.Transforms.GenerateVideo(Tiny).Fit(data);
        var videos = transformer.Transform(data);
        var sequential = Column(videos, "Video");
        var video = videos.Schema["Video"];
        var parts = videos.GetRowCursorSet([video], 2);
        var found = new System.Collections.Concurrent.ConcurrentDictionary<long, float[]>();
        Parallel.ForEach(parts, new ParallelOptions { MaxDegreeOfParallelism = 2 }, cursor =>
        {
            using (cursor)
            {
                var getter = cursor.GetGetter<VBuffer<float>>(video);
                var id = cursor.GetIdGetter();
                VBuffer<float> buffer = default;
                DataViewRowId rowId = default;
                while (cursor.MoveNext())
                {
                    getter(ref buffer);
                    id(ref rowId);
                    Assert.IsTrue(found.TryAdd((long)rowId.Low, buffer.DenseValues().ToArray()));
                }
            }
        });
        TestContext.WriteLine($"cursor set of {parts.Length} part(s)");
        Assert.HasCount(2, parts, "the input splits, and so does the output");
        Assert.HasCount(8, found);
        for (var row = 0; row < 8; row++)
        {
            CollectionAssert.AreEqual(sequential[row], found[row], $"row {row}");
        }
    }

    [TestMethod]
    public void StagesOfOneModelShareOneGenerator()
    {
        var options = Tiny with { Vcut = VcutMode.Paper }; // a key no other test class opens
        var context = new MLContext();
        var data = Images(context, 1);
        var latent = context.Transforms.EncodeConditioningLatent(new ConditioningLatentOptions(options) { OutputColumnName = "ConditioningLatent", InputColumnName = "Image" }).Fit(data);
        var video = context.Transforms.GenerateVideo(options).Fit(data);
        Assert.AreEqual(2, Vcut.MLNet.Models.GeneratorPool.Leases(options), "two transformers, one generator");
        latent.Dispose();
        Assert.AreEqual(1, Vcut.MLNet.Models.GeneratorPool.Leases(options), "still leased by the other");
        Assert.HasCount(1, Column(video.Transform(data), "Video"));
        video.Dispose();
        Assert.AreEqual(0, Vcut.MLNet.Models.GeneratorPool.Leases(options), "released with the last lease");
        Assert.ThrowsExactly<ObjectDisposedException>(() => Column(latent.Transform(data), "ConditioningLatent"));

        // A fitted chain is ML.NET's TransformerChain: disposing it (a `using`) releases its Vcut transformers.
        var chain = context.Transforms.GenerateVideoByStages(Stages(options)).Fit(data);
        Assert.AreEqual(4, Vcut.MLNet.Models.GeneratorPool.Leases(options), "the four stages after CLIP share one generator");
        chain.Dispose();
        Assert.AreEqual(0, Vcut.MLNet.Models.GeneratorPool.Leases(options), "released with the chain");
    }
}
