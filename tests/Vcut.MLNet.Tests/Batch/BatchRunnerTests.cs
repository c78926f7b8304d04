using Vcut.MLNet.Tests.Runtime;
using Vcut.MLNet.Tests.Video;
using Vcut.Runtime.Batch;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Video;

namespace Vcut.MLNet.Tests.Batch;

/// <summary>Batches on the embedded tiny model: bad inputs, resuming after a cancel, reproducible seeds, shards.</summary>
[TestClass]
public sealed class BatchRunnerTests
{
    private static VideoGenerator _generator = null!;

    // Short settings, guidance off: what is tested does not depend on the video's size.
    private static readonly VideoGenerationOptions Short = new() { Frames = 2, Steps = 1, Height = 64, Width = 64, MaxGuidanceScale = 1f, Seed = 3 };

    [ClassInitialize]
    public static void Open(TestContext _) => _generator = VideoGenerator.Open(TestModels.Tiny);

    [ClassCleanup]
    public static void Close() => _generator.Dispose();

    /// <summary>Generates with the tiny model and counts the calls.</summary>
    private sealed class CountingGenerator
    {
        private int _calls;

        public int Calls => _calls;

        public Task<GeneratedVideo> Generate(RgbImage image, VideoGenerationOptions options, IProgress<GenerationProgress>? progress, CancellationToken token)
        {
            Interlocked.Increment(ref _calls);
            return _generator.GenerateAsync(image, options, progress, token);
        }
    }

    /// <summary>Reports on the calling thread, in order (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class Inline<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    private static void WriteImages(string folder, params string[] names)
    {
        Directory.CreateDirectory(folder);
        for (var i = 0; i < names.Length; i++)
        {
            var path = Path.Combine(folder, names[i]);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            VideoGeneratorTests.TestImage(24 + 4 * i, 20 + 2 * i).SavePng(path);
        }
    }

    private static BatchOptions Options(string input, string output) => new() { Input = input, OutputFolder = output, Video = Short };

    private static string[] Files(string folder) =>
        Directory.Exists(folder)
            ? Directory.GetFileSystemEntries(folder, "*", SearchOption.AllDirectories).Select(e => Path.GetRelativePath(folder, e).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray()
            : [];

    [TestMethod]
    public async Task BadInputsAreReportedAndEveryGoodOneBecomesAVideo()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        WriteImages(input, "a.png", "b.png", "c.png");
        var good = await File.ReadAllBytesAsync(Path.Combine(input, "a.png"));
        await File.WriteAllBytesAsync(Path.Combine(input, "corrupt.png"), good[..(good.Length / 2)]);
        await File.WriteAllTextAsync(Path.Combine(input, "notes.txt"), "not an image");
        var output = temp.File("out");

        var summary = await BatchRunner.RunAsync(_generator, Options(input, output));

        Assert.AreEqual(5, summary.ShardCount);
        Assert.AreEqual(3, summary.Generated);
        Assert.AreEqual(2, summary.Failed);
        Assert.AreEqual(1, summary.ExitCode, "non-zero when any input failed");
        Assert.IsFalse(summary.Cancelled);
        CollectionAssert.AreEqual(new[] { "corrupt.png", "notes.txt" }, summary.Failures.Select(f => f.Item.Key).ToArray());
        foreach (var failure in summary.Failures)
        {
            StringAssert.Contains(failure.Error, failure.Item.Key, "the error names the file");
        }
        CollectionAssert.AreEqual(new[] { "a.gif", "b.gif", "c.gif" }, Files(output), "a video per good image, nothing else, no temporary");
        foreach (var name in new[] { "a.gif", "b.gif", "c.gif" })
        {
            var gif = VideoTestData.DecodeGif(Path.Combine(output, name));
            Assert.HasCount(2, gif.Rgb);
            Assert.AreEqual(64, gif.Width);
        }
    }

    [TestMethod]
    public async Task ACancelledRunIsFinishedByARerunWithoutRedoingVideos()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        WriteImages(input, "a.png", "b.png", "c.png", "d.png");
        var output = temp.File("out");
        using var cancel = new CancellationTokenSource();
        var first = new CountingGenerator();
        // Cancel inside the second video, while it is denoising: it must leave nothing behind.
        var progress = new Inline<BatchProgress>(p =>
        {
            if (p.Generated == 1 && p.Current is not null && p.Step is { Stage: GenerationStage.Denoising or GenerationStage.EncodingLatent })
            {
                cancel.Cancel();
            }
        });

        var stopped = await BatchRunner.RunAsync(first.Generate, Options(input, output), progress, cancel.Token);

        Assert.IsTrue(stopped.Cancelled);
        Assert.AreEqual(130, stopped.ExitCode);
        Assert.AreEqual(1, stopped.Generated);
        Assert.AreEqual(3, stopped.NotReached);
        Assert.AreEqual(2, first.Calls, "the second video was started, then cancelled");
        CollectionAssert.AreEqual(new[] { "a.gif" }, Files(output), "one complete video, no partial or temporary file");
        var finished = File.GetLastWriteTimeUtc(Path.Combine(output, "a.gif"));
        var finishedBytes = await File.ReadAllBytesAsync(Path.Combine(output, "a.gif"));

        var second = new CountingGenerator();
        var rerun = await BatchRunner.RunAsync(second.Generate, Options(input, output));

        Assert.AreEqual(3, second.Calls, "only the missing videos are generated");
        Assert.AreEqual(3, rerun.Generated);
        Assert.AreEqual(1, rerun.AlreadyComplete);
        Assert.AreEqual(0, rerun.ExitCode);
        CollectionAssert.AreEqual(new[] { "a.gif", "b.gif", "c.gif", "d.gif" }, Files(output));
        Assert.AreEqual(finished, File.GetLastWriteTimeUtc(Path.Combine(output, "a.gif")), "the finished video was not rewritten");
        CollectionAssert.AreEqual(finishedBytes, await File.ReadAllBytesAsync(Path.Combine(output, "a.gif")));
    }

    [TestMethod]
    public async Task TemporaryFilesOfAKilledRunAreRemovedAndOthersKept()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        WriteImages(input, "a.png", "b.png");
        var output = temp.File("out");
        Directory.CreateDirectory(output);
        // What a killed process leaves: a truncated video under a temporary name, and a staging folder of PNG frames.
        var truncated = Path.Combine(output, $".a.gif.tmp-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(truncated, "GIF89a"u8.ToArray());
        var someoneElses = Path.Combine(output, $".z.gif.tmp-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(someoneElses, "another shard's work in progress");

        var summary = await BatchRunner.RunAsync(_generator, Options(input, output));

        Assert.AreEqual(2, summary.Generated);
        Assert.IsFalse(File.Exists(truncated), "this shard's leftover is removed");
        Assert.IsTrue(File.Exists(someoneElses), "a temporary of an output outside this run is left alone");
        CollectionAssert.AreEqual(new[] { "a.gif", "b.gif" }, Files(output).Where(f => !f.StartsWith('.')).ToArray());
    }

    [TestMethod]
    public async Task ARerunReproducesTheSameVideosAndTheBaseSeedChangesThem()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        WriteImages(input, "a.png", "b.png");
        var first = await BatchRunner.RunAsync(_generator, Options(input, temp.File("one")));
        await BatchRunner.RunAsync(_generator, Options(input, temp.File("two")));
        await BatchRunner.RunAsync(_generator, Options(input, temp.File("three")) with { Video = Short with { Seed = 4 } });

        foreach (var name in new[] { "a.gif", "b.gif" })
        {
            var one = await File.ReadAllBytesAsync(Path.Combine(temp.File("one"), name));
            CollectionAssert.AreEqual(one, await File.ReadAllBytesAsync(Path.Combine(temp.File("two"), name)), $"{name}: same base seed, same bytes");
            CollectionAssert.AreNotEqual(one, await File.ReadAllBytesAsync(Path.Combine(temp.File("three"), name)), $"{name}: another base seed");
        }
        Assert.AreEqual(StableHash.SeedFor(3, "a.png"), first.Rows[0].Item.Seed);
        Assert.AreNotEqual(first.Rows[0].Item.Seed, first.Rows[1].Item.Seed, "each image has its own seed");
    }

    [TestMethod]
    public async Task TwoShardsTogetherMakeEveryVideoExactlyOnce()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        WriteImages(input, "a.png", "b.png", "c.png", "d.png", "e.png", "sub/f.png");
        var output = temp.File("out");
        var generator = new CountingGenerator();
        var shard0 = await BatchRunner.RunAsync(generator.Generate, Options(input, output) with { Shard = BatchShard.Parse("0/2") });
        var shard1 = await BatchRunner.RunAsync(generator.Generate, Options(input, output) with { Shard = BatchShard.Parse("1/2") });

        Assert.AreEqual(6, generator.Calls, "each input generated once");
        Assert.AreEqual(6, shard0.Generated + shard1.Generated);
        Assert.AreEqual(0, shard0.AlreadyComplete + shard1.AlreadyComplete);
        Assert.AreEqual(6, shard0.InputCount);
        var keys0 = shard0.Rows.Select(r => r.Item.Key).ToHashSet();
        var keys1 = shard1.Rows.Select(r => r.Item.Key).ToHashSet();
        Assert.IsFalse(keys0.Overlaps(keys1), "no input in both shards");
        CollectionAssert.AreEqual(new[] { "a.gif", "b.gif", "c.gif", "d.gif", "e.gif", "sub", "sub/f.gif" }, Files(output));
    }

    [TestMethod]
    public void ShardsPartitionAnyDataset()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        Directory.CreateDirectory(input);
        var names = Enumerable.Range(0, 40).Select(i => $"img_{i:D3}.jpg").ToArray();
        foreach (var name in names)
        {
            File.WriteAllBytes(Path.Combine(input, name), []); // listing and sharding do not read the files
        }
        foreach (var count in new[] { 1, 2, 3, 7 })
        {
            var shards = Enumerable.Range(0, count)
                .Select(i => BatchRunner.Plan(Options(input, temp.File("out")) with { Shard = new BatchShard(i, count) }).Items.Select(item => item.Key).ToList())
                .ToList();
            var all = shards.SelectMany(s => s).ToList();
            CollectionAssert.AreEquivalent(names, all, $"{count} shards cover every input exactly once");
            if (count <= 3)
            {
                Assert.IsTrue(shards.All(s => s.Count > 0), $"{count} shards of 40 inputs: none empty");
            }
        }
    }

    [TestMethod]
    public async Task Mp4WithoutFfmpegFailsBeforeAnyVideo()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        WriteImages(input, "a.png");
        var generator = new CountingGenerator();
        var options = Options(input, temp.File("out")) with
        {
            Format = VideoFormat.Mp4,
            Writing = new VideoWriteOptions { FfmpegPath = temp.File("no-ffmpeg") },
        };
        var e = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => BatchRunner.RunAsync(generator.Generate, options));
        StringAssert.Contains(e.Message, "ffmpeg");
        StringAssert.Contains(e.Message, "GIF");
        Assert.AreEqual(0, generator.Calls);
    }

    [TestMethod]
    public async Task PngFramesFoldersAreCompleteOutputsToo()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        WriteImages(input, "a.png");
        var output = temp.File("out");
        var options = Options(input, output) with { Format = VideoFormat.PngFrames };
        Assert.AreEqual(1, (await BatchRunner.RunAsync(_generator, options)).Generated);
        CollectionAssert.AreEqual(new[] { "a", "a/frame_000.png", "a/frame_001.png" }, Files(output));
        Assert.AreEqual(1, (await BatchRunner.RunAsync(_generator, options)).AlreadyComplete);
    }
}
