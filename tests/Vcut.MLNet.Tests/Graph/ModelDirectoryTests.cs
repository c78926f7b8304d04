using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>Model directories: determinism, the committed default, atomic writes and clear errors.</summary>
[TestClass]
public sealed class ModelDirectoryTests
{
    private string _root = "";

    [TestInitialize]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("vcut-test-").FullName;

    [TestCleanup]
    public void DeleteRoot() => Directory.Delete(_root, recursive: true);

    private static SvdBuildOptions Tiny(ulong seed, AttentionForm form = AttentionForm.Plain) =>
        new(ModelPreset.Tiny, new SeededWeightSource(seed), form);

    private static Dictionary<string, byte[]> ReadAll(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f).Replace('\\', '/'), File.ReadAllBytes);

    private static void AssertSameFiles(Dictionary<string, byte[]> expected, Dictionary<string, byte[]> actual, string what)
    {
        CollectionAssert.AreEquivalent(expected.Keys.ToList(), actual.Keys.ToList(), $"{what}: file list");
        foreach (var (name, bytes) in expected)
        {
            Assert.IsTrue(bytes.AsSpan().SequenceEqual(actual[name]), $"{what}: {name} differs");
        }
    }

    [TestMethod]
    public void SameSeedGivesByteIdenticalFilesAndAnotherSeedOtherWeights()
    {
        SvdModelBuilder.BuildDirectory(Path.Combine(_root, "a"), Tiny(7));
        SvdModelBuilder.BuildDirectory(Path.Combine(_root, "b"), Tiny(7));
        SvdModelBuilder.BuildDirectory(Path.Combine(_root, "c"), Tiny(8));
        var a = ReadAll(Path.Combine(_root, "a"));
        AssertSameFiles(a, ReadAll(Path.Combine(_root, "b")), "same seed");
        var c = ReadAll(Path.Combine(_root, "c"));
        foreach (var model in ModelNames.All.Select(ModelNames.RelativePath))
        {
            Assert.IsFalse(a[model].AsSpan().SequenceEqual(c[model]), $"seed 8 must change {model}");
            Assert.HasCount(a[model].Length, c[model], $"seed 8 changes values, not structure, of {model}");
        }
    }

    [TestMethod]
    public void SeededWeightsAreTheDocumentedDistribution()
    {
        var source = new SeededWeightSource(3);
        var weight = source.Get(new ParameterSpec("w", [256, 64], ParameterRole.Weight, FanIn: 64));
        var bound = MathF.Sqrt(3f / 64);
        Assert.IsTrue(weight.All(v => MathF.Abs(v) <= bound), "weights within ±√(3/fan-in)");
        var variance = weight.Select(v => (double)v * v).Average();
        Assert.AreEqual(1.0 / 64, variance, 0.1 / 64, "variance 1/fan-in");
        var scale = source.Get(new ParameterSpec("n.weight", [64], ParameterRole.NormScale));
        Assert.IsTrue(scale.All(v => v is > 0.7f and < 1.3f), "norm scales near one");
        CollectionAssert.AreEqual(weight, source.Get(new ParameterSpec("w", [256, 64], ParameterRole.Weight, FanIn: 64)));
        CollectionAssert.AreNotEqual(weight, source.Get(new ParameterSpec("w2", [256, 64], ParameterRole.Weight, FanIn: 64)));
    }

    [TestMethod]
    public void EmbeddedDefaultEqualsAFreshBuild()
    {
        var committed = Path.Combine(AppContext.BaseDirectory, "models", "tiny");
        var manifest = ModelManifest.Load(committed);
        Assert.AreEqual("tiny", manifest.Preset);
        var seed = ulong.Parse(manifest.Weights["seeded:".Length..], System.Globalization.CultureInfo.InvariantCulture);
        var fresh = Path.Combine(_root, "fresh");
        SvdModelBuilder.BuildDirectory(fresh, new SvdBuildOptions(ModelPreset.Tiny, new SeededWeightSource(seed), manifest.Attention));
        AssertSameFiles(ReadAll(fresh), ReadAll(committed), "models/tiny vs a fresh build (rebuild it with the README's build-model command)");
    }

    [TestMethod]
    public void ManifestRoundTripsAndNamesTheModels()
    {
        var directory = Path.Combine(_root, "m");
        var written = SvdModelBuilder.BuildDirectory(directory, Tiny(1, AttentionForm.Fused));
        var read = ModelManifest.Load(directory);
        Assert.AreEqual(written.ToJson(), read.ToJson());
        Assert.AreEqual(AttentionForm.Fused, read.Attention);
        Assert.AreEqual(Vcut.Graph.Vcut.VcutMode.Off, read.Vcut);
        Assert.AreEqual("seeded:1", read.Weights);
        foreach (var name in ModelNames.All)
        {
            Assert.IsTrue(File.Exists(Path.Combine(directory, read.Models[name])), name);
        }
    }

    [TestMethod]
    public void RebuildingReplacesAnExistingModelDirectory()
    {
        var directory = Path.Combine(_root, "m");
        SvdModelBuilder.BuildDirectory(directory, Tiny(1));
        SvdModelBuilder.BuildDirectory(directory, Tiny(2));
        Assert.AreEqual("seeded:2", ModelManifest.Load(directory).Weights);
        CollectionAssert.AreEqual(new[] { "m" }, Directory.GetFileSystemEntries(_root).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void UnknownPresetIsRefusedWithTheKnownNames()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => ModelPreset.Get("huge"));
        StringAssert.Contains(e.Message, "'huge'");
        StringAssert.Contains(e.Message, "tiny, micro, small, svd, svd-xt");
    }

    [TestMethod]
    public void WidthsNotDivisibleBy32AreRefused()
    {
        var unet = ModelPreset.Tiny.Architecture.UNet with { BlockOutChannels = [32, 48, 64, 64] };
        var e = Assert.ThrowsExactly<ArgumentException>(() => unet.Validate());
        StringAssert.Contains(e.Message, "block_out_channels[1] = 48");
        var vae = ModelPreset.Tiny.Architecture.Vae with { BlockOutChannels = [32, 40] };
        e = Assert.ThrowsExactly<ArgumentException>(() => vae.Validate());
        StringAssert.Contains(e.Message, "VAE block_out_channels[1] = 40");
    }

    [TestMethod]
    public void HeadsThatDoNotDivideWidthsAreRefused()
    {
        var unet = ModelPreset.Tiny.Architecture.UNet with { NumAttentionHeads = [2, 3, 4, 4] };
        var e = Assert.ThrowsExactly<ArgumentException>(() => unet.Validate());
        StringAssert.Contains(e.Message, "num_attention_heads[1] = 3 must divide block_out_channels[1] = 32");
        var clip = ModelPreset.Tiny.Architecture.ImageEncoder with { NumAttentionHeads = 5 };
        e = Assert.ThrowsExactly<ArgumentException>(() => clip.Validate());
        StringAssert.Contains(e.Message, "CLIP num_attention_heads = 5");
        var mismatch = ModelPreset.Tiny.Architecture with { ImageEncoder = ModelPreset.Tiny.Architecture.ImageEncoder with { ProjectionDim = 48 } };
        e = Assert.ThrowsExactly<ArgumentException>(() => mismatch.Validate());
        StringAssert.Contains(e.Message, "projection_dim (48)");
    }

    [TestMethod]
    public void UnwritableOutputFolderLeavesNothingBehind()
    {
        var blocker = Path.Combine(_root, "a-file");
        File.WriteAllText(blocker, "not a folder");
        var e = Assert.ThrowsExactly<IOException>(() => SvdModelBuilder.BuildDirectory(Path.Combine(blocker, "model"), Tiny(1)));
        StringAssert.Contains(e.Message, blocker);
        CollectionAssert.AreEqual(new[] { "a-file" }, Directory.GetFileSystemEntries(_root).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void NonModelFolderIsNotOverwritten()
    {
        var directory = Directory.CreateDirectory(Path.Combine(_root, "photos")).FullName;
        File.WriteAllText(Path.Combine(directory, "keep.txt"), "mine");
        var e = Assert.ThrowsExactly<IOException>(() => SvdModelBuilder.BuildDirectory(directory, Tiny(1)));
        StringAssert.Contains(e.Message, "not a Vcut model directory");
        CollectionAssert.AreEqual(new[] { "keep.txt" }, Directory.GetFileSystemEntries(directory).Select(Path.GetFileName).ToArray());
        CollectionAssert.AreEqual(new[] { "photos" }, Directory.GetFileSystemEntries(_root).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void CancelledBuildLeavesNothingBehind()
    {
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() =>
            SvdModelBuilder.BuildDirectory(Path.Combine(_root, "m"), Tiny(1), cancellationToken: cancellation.Token));
        Assert.IsEmpty(Directory.GetFileSystemEntries(_root));
    }

    [TestMethod]
    public void MissingOrForeignManifestIsReportedWithThePath()
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ModelManifest.Load(_root));
        StringAssert.Contains(e.Message, _root);
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => ModelManifest.Load(Path.Combine(_root, "nowhere")));
        File.WriteAllText(Path.Combine(_root, ModelManifest.FileName), "{ not json");
        e = Assert.ThrowsExactly<InvalidDataException>(() => ModelManifest.Load(_root));
        StringAssert.Contains(e.Message, ModelManifest.FileName);
    }

    [TestMethod]
    public void TruncatedOnnxFileIsReportedWithThePath()
    {
        var directory = Path.Combine(_root, "m");
        SvdModelBuilder.BuildDirectory(directory, Tiny(1));
        var unet = Path.Combine(directory, ModelNames.RelativePath(ModelNames.UNet));
        var bytes = File.ReadAllBytes(unet);
        File.WriteAllBytes(unet, bytes[..(bytes.Length / 2)]);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => OnnxModelFile.Read(unet));
        StringAssert.Contains(e.Message, unet);
    }
}
