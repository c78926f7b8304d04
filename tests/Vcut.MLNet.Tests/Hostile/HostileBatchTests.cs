using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Batch;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Video;

namespace Vcut.MLNet.Tests.Hostile;

/// <summary>
/// Datasets built to lose inputs or escape: names whose outputs clash, links out of the input or in loops, names that
/// are not UTF-8, bombs among good pictures, an output folder that cannot be written. Every input ends with its own
/// video or an error that names the problem.
/// </summary>
[TestClass]
public sealed class HostileBatchTests
{
    private static VideoGenerator _generator = null!;

    private static readonly VideoGenerationOptions Short = new() { Frames = 2, Steps = 1, Height = 32, Width = 32, MaxGuidanceScale = 1f, Seed = 5 };

    [ClassInitialize]
    public static void Open(TestContext _) => _generator = VideoGenerator.Open(TestModels.Tiny);

    [ClassCleanup]
    public static void Close() => _generator.Dispose();

    private static void Image(string path, int seed = 0)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        VideoGeneratorTests.TestImage(24 + 4 * seed, 20 + 2 * seed).SavePng(path);
    }

    private static BatchOptions Options(string input, string output, VideoFormat format = VideoFormat.Gif) =>
        new() { Input = input, OutputFolder = output, Video = Short, Format = format };

    private static Dictionary<string, string> Outputs(IEnumerable<BatchItem> items, string output) =>
        items.ToDictionary(i => i.Key, i => Path.GetRelativePath(output, i.OutputPath).Replace('\\', '/'));

    [TestMethod]
    public async Task InputsWhoseOutputsWouldClashEachGetTheirOwnVideo()
    {
        using var temp = new TempFolder();
        var (input, output) = (temp.File("in"), temp.File("out"));
        // cat.png and cat.jpg share a stem; keeping the extension gives cat.png.gif, which is also what cat.png.jpg's stem gives.
        foreach (var (name, seed) in new[] { ("cat.png", 0), ("cat.jpg", 1), ("cat.png.jpg", 2) })
        {
            Image(Path.Combine(input, name), seed);
        }
        var (items, _) = BatchRunner.Plan(Options(input, output));
        var outputs = Outputs(items, output);
        Assert.AreEqual("cat.png.gif", outputs["cat.png"]);
        Assert.AreEqual("cat.jpg.gif", outputs["cat.jpg"]);
        Assert.AreEqual("cat.png.jpg.gif", outputs["cat.png.jpg"]);
        Assert.IsTrue(items.All(i => i.Error is null));

        var summary = await BatchRunner.RunAsync(_generator, Options(input, output));
        Assert.AreEqual(3, summary.Generated, "three inputs, three videos");
        CollectionAssert.AreEqual(new[] { "cat.jpg.gif", "cat.png.gif", "cat.png.jpg.gif" }, HostileFiles.Tree(output));
    }

    [TestMethod]
    public void PngFrameFoldersNeverNestInsideAnotherInputsFolder()
    {
        using var temp = new TempFolder();
        var (input, output) = (temp.File("in"), temp.File("out"));
        Image(Path.Combine(input, "cat.png"));
        Image(Path.Combine(input, "cat", "x.png"));
        var (items, _) = BatchRunner.Plan(Options(input, output, VideoFormat.PngFrames));
        var outputs = Outputs(items, output);
        Assert.AreEqual("cat.png", outputs["cat.png"], "cat/ holds x's frames, so cat.png's frames keep the extension");
        Assert.AreEqual("cat/x", outputs["cat/x.png"]);
    }

    [TestMethod]
    public async Task APngFramesFolderNamedLikeAPictureIsWritten()
    {
        using var temp = new TempFolder();
        var (input, output) = (temp.File("in"), temp.File("out"));
        Image(Path.Combine(input, "cat.png"));
        Image(Path.Combine(input, "cat.jpg"), 1);
        var summary = await BatchRunner.RunAsync(_generator, Options(input, output, VideoFormat.PngFrames));
        Assert.AreEqual(2, summary.Generated, string.Join("; ", summary.Failures.Select(f => f.Error)));
        CollectionAssert.IsSubsetOf(new[] { "cat.jpg/frame_000.png", "cat.png/frame_001.png" }, HostileFiles.Tree(output));
    }

    [TestMethod]
    public void ALinkLoopListsEachPictureOnce()
    {
        if (!HostileFiles.IsUnix)
        {
            Assert.Inconclusive("Links need a Unix file system here.");
        }
        using var temp = new TempFolder();
        var input = temp.File("in");
        Image(Path.Combine(input, "a.png"));
        Directory.CreateSymbolicLink(Path.Combine(input, "loop"), ".");
        Directory.CreateSymbolicLink(Path.Combine(input, "self"), input);
        var sources = BatchInput.List(input);
        CollectionAssert.AreEqual(new[] { "a.png" }, sources.Select(s => s.Key).ToArray(), "the links lead back into the input, which is listed once");
    }

    [TestMethod]
    public void LinksOutOfTheInputAreNotFollowedAndEachGetsAnError()
    {
        if (!HostileFiles.IsUnix)
        {
            Assert.Inconclusive("Links need a Unix file system here.");
        }
        using var temp = new TempFolder();
        var input = temp.File("in");
        Image(Path.Combine(input, "a.png"));
        Image(temp.File("outside/b.png"), 1);
        Image(Path.Combine(input, "sub", "c.png"), 2);
        File.CreateSymbolicLink(Path.Combine(input, "b.png"), temp.File("outside/b.png"));
        Directory.CreateSymbolicLink(Path.Combine(input, "up"), temp.Path);
        File.CreateSymbolicLink(Path.Combine(input, "dangling.png"), temp.File("nowhere.png"));
        File.CreateSymbolicLink(Path.Combine(input, "alias.png"), Path.Combine(input, "sub", "c.png"));

        var sources = BatchInput.List(input).ToDictionary(s => s.Key);
        CollectionAssert.AreEquivalent(new[] { "a.png", "alias.png", "b.png", "dangling.png", "sub/c.png", "up" }, sources.Keys.ToArray());
        Assert.IsNull(sources["a.png"].Error);
        Assert.IsNull(sources["alias.png"].Error, "a link to a file inside the input is an input of its own");
        StringAssert.Contains(sources["b.png"].Error, "outside the input folder");
        StringAssert.Contains(sources["b.png"].Error, temp.File("outside/b.png"));
        StringAssert.Contains(sources["up"].Error, "links are not followed out of the input");
        StringAssert.Contains(sources["dangling.png"].Error, "which does not exist");
    }

    [TestMethod]
    public async Task NamesThatAreNotUtf8StayDistinctRowsWithAnError()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        Directory.CreateDirectory(input);
        Image(Path.Combine(input, "good.png"));
        // Two names that differ in one Latin-1 byte: both read as "caf\uFFFD.png" in .NET.
        if (!HostileFiles.IsUnix || HostileFiles.Shell($"cd '{input}' && cp good.png \"$(printf 'caf\\351.png')\" && cp good.png \"$(printf 'caf\\350.png')\"") != 0
            || Directory.GetFiles(input).Length != 3)
        {
            Assert.Inconclusive("This file system cannot hold names that are not UTF-8.");
        }
        var summary = await BatchRunner.RunAsync(_generator, Options(input, temp.File("out")));
        Assert.AreEqual(3, summary.ShardCount, "three files, three rows");
        Assert.AreEqual(1, summary.Generated);
        Assert.AreEqual(2, summary.Failed);
        CollectionAssert.AreEquivalent(new[] { "caf\uFFFD.png", "caf\uFFFD.png #2" }, summary.Failures.Select(f => f.Item.Key).ToArray());
        Assert.IsTrue(summary.Failures.All(f => f.Error!.Contains("not valid UTF-8", StringComparison.Ordinal)));
    }

    [TestMethod]
    public async Task ABombAmongGoodPicturesFailsAloneAndEveryGoodVideoIsMade()
    {
        using var temp = new TempFolder();
        var (input, output) = (temp.File("in"), temp.File("out"));
        Image(Path.Combine(input, "a.png"));
        Image(Path.Combine(input, "b.png"), 1);
        File.WriteAllBytes(Path.Combine(input, "bomb.png"), HostileFiles.PngBomb());
        File.WriteAllBytes(Path.Combine(input, "large.png"), HostileFiles.BlackPng(400, 300));
        Image(Path.Combine(input, "z.png"), 2);

        var options = Options(input, output) with { MaxImagePixels = 100_000 };
        var summary = await BatchRunner.RunAsync(_generator, options);
        Assert.AreEqual(3, summary.Generated);
        Assert.AreEqual(2, summary.Failed);
        var failures = summary.Failures.ToDictionary(f => f.Item.Key, f => f.Error!);
        StringAssert.Contains(failures["bomb.png"], "23000×23000 = 529 megapixels, more than the limit of 0.1 megapixels");
        StringAssert.Contains(failures["large.png"], "400×300 = 0.12 megapixels");
        CollectionAssert.AreEqual(new[] { "a.gif", "b.gif", "z.gif" }, HostileFiles.Tree(output));

        // A re-run finishes nothing new and still reports the two: they are never silently "complete".
        var again = await BatchRunner.RunAsync(_generator, options);
        Assert.AreEqual(3, again.AlreadyComplete);
        Assert.AreEqual(2, again.Failed);
    }

    [TestMethod]
    public async Task AnInputTooLargeForTheMemoryBudgetFailsAloneBeforeDecoding()
    {
        using var temp = new TempFolder();
        var (input, output) = (temp.File("in"), temp.File("out"));
        Image(Path.Combine(input, "a.png"));
        File.WriteAllBytes(Path.Combine(input, "wide.png"), HostileFiles.BlackPng(2000, 2000));
        var estimate = _generator.EstimateMemory(Short, 24 * 20);
        // A budget that fits the small picture's video but not the 4-megapixel one's decoding (64 MB more).
        using var tight = VideoGenerator.Open(TestModels.Tiny, execution: new Vcut.Runtime.Sessions.ExecutionOptions { MemoryBudgetBytes = estimate.TotalBytes + (16L << 20) });
        var summary = await BatchRunner.RunAsync(tight, Options(input, output));
        Assert.AreEqual(1, summary.Generated);
        var failure = summary.Failures.Single();
        Assert.AreEqual("wide.png", failure.Item.Key);
        StringAssert.Contains(failure.Error, "from a 4-megapixel picture");
        StringAssert.Contains(failure.Error, "input picture");
    }

    [TestMethod]
    public async Task AnOutputFolderThatCannotBeWrittenFailsBeforeTheFirstVideo()
    {
        using var temp = new TempFolder();
        var input = temp.File("in");
        Image(Path.Combine(input, "a.png"));
        File.WriteAllText(temp.File("file"), "in the way");
        var calls = 0;
        Task<GeneratedVideo> Count(RgbImage image, VideoGenerationOptions video, IProgress<GenerationProgress>? steps, CancellationToken token)
        {
            Interlocked.Increment(ref calls);
            return _generator.GenerateAsync(image, video, steps, token);
        }
        var e = await Assert.ThrowsExactlyAsync<IOException>(() => BatchRunner.RunAsync(Count, Options(input, temp.File("file/videos"))));
        StringAssert.Contains(e.Message, $"'{temp.File("file")}' is a file, where a folder is needed");
        Assert.AreEqual(0, calls, "no video was made");
        Assert.ThrowsExactly<IOException>(() => BatchRunner.EnsureCanWrite(Options(input, temp.File("file/videos"))));
    }

    [TestMethod]
    public void TheInputFolderAsOutputIsAUsageError()
    {
        using var temp = new TempFolder();
        Image(temp.File("in/a.png"));
        var e = Assert.ThrowsExactly<ArgumentException>(() => BatchRunner.Plan(Options(temp.File("in"), temp.File("in/"))));
        StringAssert.Contains(e.Message, "is the input folder");
    }

    [TestMethod]
    public void TwoCsvRowsWithOneKeyKeepTheInsideFileAndNameTheClash()
    {
        using var temp = new TempFolder();
        var data = temp.File("data");
        var elsewhere = temp.File("elsewhere");
        Image(Path.Combine(data, "x.png"));
        // Outside the CSV's folder a path's key is its full path without the root: make it equal an inside one.
        var outsideKey = Path.GetFullPath(elsewhere)[Path.GetPathRoot(Path.GetFullPath(elsewhere))!.Length..].Replace('\\', '/') + "/x.png";
        Image(Path.Combine(data, outsideKey), 1);
        Image(Path.Combine(elsewhere, "x.png"), 2);
        var csv = Path.Combine(data, "list.csv");
        File.WriteAllText(csv, $"image\n{Path.Combine(elsewhere, "x.png")}\n{outsideKey}\nx.png\n");

        var sources = BatchInput.List(csv);
        Assert.AreEqual(3, sources.Count, "three files, three rows");
        var inside = sources.Single(s => s.Key == outsideKey);
        Assert.IsNull(inside.Error, "the file inside the CSV's folder keeps its key");
        Assert.AreEqual(Path.GetFullPath(Path.Combine(data, outsideKey)), inside.ImagePath);
        var clash = sources.Single(s => s.Key == outsideKey + " #2");
        StringAssert.Contains(clash.Error, $"its key '{outsideKey}' is also the key of");
        Assert.AreEqual(Path.Combine(elsewhere, "x.png"), clash.ImagePath);
    }
}
