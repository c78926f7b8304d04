using System.Text.Json.Nodes;
using Vcut.Graph.Architecture;
using Vcut.Graph.Convert;
using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Io;

namespace Vcut.MLNet.Tests.Hostile;

/// <summary>
/// The <c>vcut</c> program against hostile input, run as a user runs it: one line naming the file, the field and what
/// was expected, never a stack trace; exit code 1 for bad data, 2 for bad usage; bounded memory; nothing written.
/// </summary>
[TestClass]
public sealed class HostileCliTests
{
    // What a container's memory limit does to .NET: the GC heap may not grow past it.
    private static readonly Dictionary<string, string> HeapLimit200MB = new() { ["DOTNET_GCHeapHardLimit"] = "0xC800000" };

    private static readonly string[] Short = ["--frames", "2", "--steps", "1", "--height", "32", "--width", "32", "--max-guidance", "1"];

    private static CliResult Run(TempFolder folder, params string[] args) => VcutCli.Run(folder.Path, args);

    private static void AssertRefused(CliResult result, int exitCode, params string[] expected)
    {
        Assert.AreEqual(exitCode, result.ExitCode, result.ToString());
        Assert.IsFalse(result.HasStackTrace, result.ToString());
        Assert.AreNotEqual("", result.Message, result.ToString());
        foreach (var text in expected)
        {
            StringAssert.Contains(result.Message, text, result.ToString());
        }
    }

    [TestMethod]
    public void ThePngBombIsRefusedWithUnder200MB()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("bomb.png"), HostileFiles.PngBomb());
        var result = VcutCli.Run(folder.Path, ["generate", "--image", "bomb.png", "--out", "bomb.gif", .. Short], environment: HeapLimit200MB);
        AssertRefused(result, 1, "bomb.png' is 23000×23000 = 529 megapixels", "limit of 100 megapixels", "--max-megapixels");
        Assert.IsLessThan(200L << 20, result.PeakWorkingSetBytes, result.ToString());
        CollectionAssert.AreEqual(new[] { "bomb.png" }, HostileFiles.Tree(folder.Path), "nothing written");
    }

    [TestMethod]
    public void ADeviceAsTheImageIsRefusedUnread()
    {
        if (!File.Exists("/dev/zero"))
        {
            Assert.Inconclusive("No /dev/zero here.");
        }
        using var folder = new TempFolder();
        var result = VcutCli.Run(folder.Path, ["generate", "--image", "/dev/zero", "--out", "zero.gif", .. Short], environment: HeapLimit200MB);
        AssertRefused(result, 1, "Image '/dev/zero' is not a regular file");
        Assert.IsEmpty(HostileFiles.Tree(folder.Path));
    }

    [TestMethod]
    public void TooManyThreadsIsAUsageErrorNamingTheLimit()
    {
        using var folder = new TempFolder();
        var result = Run(folder, ["generate", "--threads", "100000", "--out", "t.gif", .. Short]);
        AssertRefused(result, 2, "--threads 100000 is outside 0 to", $"× the {Environment.ProcessorCount} processor(s)");
        Assert.IsEmpty(HostileFiles.Tree(folder.Path));
    }

    [TestMethod]
    public void AnOptionWhereAValueShouldBeIsAUsageErrorAndWritesNothing()
    {
        using var folder = new TempFolder();
        var result = Run(folder, ["generate", "--out", "--seed", "3"]);
        AssertRefused(result, 2, "Option --out needs a value, but the next word is the option '--seed'");
        Assert.IsEmpty(HostileFiles.Tree(folder.Path), "no folder named --seed");
    }

    [TestMethod]
    public void AnUnwritableOutputIsRefusedBeforeTheVideoIsMade()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("file"), "in the way");
        var result = Run(folder, ["generate", "--out", "file/video.gif", .. Short]);
        AssertRefused(result, 1, "is a file, where a folder is needed");
        Assert.IsFalse(result.StandardError.Contains("Model ", StringComparison.Ordinal), "refused before the model was opened");
    }

    [TestMethod]
    public void InvalidVideoOptionsAreUsageErrorsInGenerateAndBatch()
    {
        using var folder = new TempFolder();
        Directory.CreateDirectory(folder.File("in"));
        AssertRefused(Run(folder, ["generate", "--steps", "0"]), 2, "steps = 0 must be at least 1");
        AssertRefused(Run(folder, ["batch", "--input", "in", "--out", "out", "--steps", "0"]), 2, "steps = 0 must be at least 1");
        AssertRefused(Run(folder, ["batch", "--input", "in", "--out", "in"]), 2, "is the input folder");
        AssertRefused(Run(folder, ["generate", "--max-megapixels", "0"]), 2, "--max-megapixels expects a number of megapixels above 0");
        Assert.IsFalse(Directory.Exists(folder.File("out")));
    }

    [TestMethod]
    public void AnNpyShapeThatOverflowsIsOneLine()
    {
        using var folder = new TempFolder();
        HostileFiles.Npy(folder.File("overflow.npy"), "(4294967296, 4294967296, 4)", 0);
        var result = Run(folder, ["generate", "--latents", "overflow.npy", .. Short]);
        AssertRefused(result, 1, "overflow.npy' has shape (4294967296, 4294967296, 4), more than the");
    }

    [TestMethod]
    public void LatentsOfTheRightCountButTheWrongLayoutAreRefused()
    {
        using var folder = new TempFolder();
        // 2 frames at 32×32 need (2, 4, 4, 4) on the tiny model: the same 128 values as (2, 4, 2, 8) are another layout.
        NpyFile.Write(folder.File("latents.npy"), new float[128], [2, 4, 2, 8]);
        var result = Run(folder, ["generate", "--model", TestModels.Tiny, "--latents", "latents.npy", "--out", "l.gif", .. Short]);
        AssertRefused(result, 1, "latents.npy' has shape (2, 4, 2, 8); expected (2, 4, 4, 4)", "(frames, latent channels, height/8, width/8)");
        Assert.IsFalse(File.Exists(folder.File("l.gif")));
    }

    [TestMethod]
    [DataRow("models", "models is missing")]
    [DataRow("architecture", "architecture is missing")]
    public void AManifestWithoutAFieldIsOneLineNamingIt(string field, string expected)
    {
        using var folder = new TempFolder();
        HostileFiles.ModelWithManifest(folder.File("model"), m => m.Remove(field), withGraphs: false);
        var result = Run(folder, ["generate", "--model", "model", "--out", "m.gif", .. Short]);
        AssertRefused(result, 1, "vcut-model.json': " + expected);
        Assert.IsFalse(File.Exists(folder.File("m.gif")));
    }

    [TestMethod]
    public void AConverterConfigWithAFractionalSampleSizeIsOneLine()
    {
        using var folder = new TempFolder();
        foreach (var part in Vcut.Graph.Convert.DiffusersSnapshotWriter.Parts)
        {
            var config = Tests.Convert.DiffusersSnapshotWriter.ConfigFor(part, ModelPreset.Tiny);
            if (part == "unet")
            {
                config["sample_size"] = JsonValue.Create(8.5);
            }
            Directory.CreateDirectory(folder.File($"snapshot/{part}"));
            File.WriteAllText(folder.File($"snapshot/{part}/config.json"), config.ToJsonString());
        }
        var result = Run(folder, ["convert", "--from", "snapshot", "--out", "converted"]);
        AssertRefused(result, 1, "unet/config.json': sample_size is 8.5, expected an integer from 1 to 4096");
        Assert.IsFalse(Directory.Exists(folder.File("converted")));
    }

    [TestMethod]
    public void ABatchWithABombAmongGoodPicturesUnderAHeapLimitMakesEveryGoodVideo()
    {
        using var folder = new TempFolder();
        foreach (var (name, i) in new[] { ("a.png", 0), ("b.png", 1), ("z.png", 2) })
        {
            Directory.CreateDirectory(folder.File("in"));
            VideoGeneratorTests.TestImage(24 + 4 * i, 20 + 2 * i).SavePng(folder.File("in/" + name));
        }
        File.WriteAllBytes(folder.File("in/bomb.png"), HostileFiles.PngBomb());
        var limit = new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = "0x40000000" }; // 1 GiB, as a small container
        var result = VcutCli.Run(folder.Path, ["batch", "--input", "in", "--out", "out", .. Short], environment: limit);
        Assert.AreEqual(1, result.ExitCode, result.ToString());
        Assert.IsFalse(result.HasStackTrace, result.ToString());
        StringAssert.Contains(result.StandardOutput, "4 inputs: 3 generated, 0 already complete, 1 failed");
        StringAssert.Contains(result.StandardOutput, "bomb.png: Image");
        StringAssert.Contains(result.StandardOutput, "529 megapixels");
        CollectionAssert.AreEqual(new[] { "a.gif", "b.gif", "z.gif" }, HostileFiles.Tree(folder.File("out")));
    }
}
