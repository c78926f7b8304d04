using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Vcut;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;

namespace Vcut.MLNet.Tests.Runtime;

/// <summary>Whole videos with VCUT: the cache runs once, exact equals off, paper differs.</summary>
[TestClass]
public sealed class VcutPipelineTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly VideoGenerationOptions Short = new() { Frames = 4, Steps = 4, Height = 64, Width = 64, Seed = 3 };

    private static GeneratedVideo Generate(VcutMode? mode, string? directory = null)
    {
        using var generator = VideoGenerator.Open(directory ?? TestModels.Tiny, vcut: mode);
        return generator.Generate(VideoGeneratorTests.TestImage(), Short);
    }

    [TestMethod]
    public void ExactVideoEqualsOffAndPaperDiffers()
    {
        var off = Generate(VcutMode.Off).Frames;
        var exact = Generate(VcutMode.Exact).Frames;
        var paper = Generate(VcutMode.Paper).Frames;
        var exactDiff = off.Zip(exact, (a, b) => MathF.Abs(a - b)).Max();
        var paperDiff = off.Zip(paper, (a, b) => MathF.Abs(a - b)).Max();
        TestContext.WriteLine($"tiny video, max |frame diff| vs off: exact {exactDiff:E2}, paper {paperDiff:E2}");
        Assert.IsLessThanOrEqualTo(1e-3f, exactDiff, "exact vs off");
        Assert.IsGreaterThan(1e-3f, paperDiff, "paper vs off");
    }

    [TestMethod]
    public void CacheRunsOncePerVideoAndTheUNetNeverSeesTheEmbedding()
    {
        var video = Generate(VcutMode.Exact);
        Assert.AreEqual(1, video.Statistics.ModelCalls[ModelNames.ConditioningCache]);
        Assert.AreEqual(Short.Steps, video.Statistics.ModelCalls[ModelNames.UNet]);
        using var sessions = SvdSessions.Open(TestModels.Tiny, vcut: VcutMode.Exact);
        Assert.IsFalse(sessions[ModelNames.UNet].InputMetadata.ContainsKey("encoder_hidden_states"));
        Assert.HasCount(3 + 32, sessions[ModelNames.UNet].InputMetadata);
        Assert.IsFalse(Generate(VcutMode.Off).Statistics.ModelCalls.ContainsKey(ModelNames.ConditioningCache));
    }

    [TestMethod]
    public void RewrittenDirectoryGivesTheSameVideoAsTheInMemoryRewrite()
    {
        var root = Directory.CreateTempSubdirectory("vcut-rewrite-").FullName;
        try
        {
            var directory = Path.Combine(root, "exact");
            var report = ModelDirectoryRewriter.Rewrite(TestModels.Tiny, directory, VcutMode.Exact);
            Assert.HasCount(32, report.Found);
            Assert.AreEqual(VcutMode.Exact, ModelManifest.Load(directory).Vcut);
            CollectionAssert.AreEqual(Generate(VcutMode.Exact).Frames, Generate(null, directory).Frames);
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => VideoGenerator.Open(directory, vcut: VcutMode.Paper));
            StringAssert.Contains(e.Message, "rewritten for VCUT 'exact'");
            var again = Assert.ThrowsExactly<InvalidDataException>(() => ModelDirectoryRewriter.Rewrite(directory, Path.Combine(root, "twice"), VcutMode.Exact));
            StringAssert.Contains(again.Message, "already holds a VCUT");
            Assert.IsFalse(Directory.Exists(Path.Combine(root, "twice")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [TestMethod]
    public void TruncatedOrForeignUNetIsRefusedAndNothingIsWritten()
    {
        var root = Directory.CreateTempSubdirectory("vcut-rewrite-").FullName;
        try
        {
            var copy = Path.Combine(root, "copy");
            foreach (var file in Directory.EnumerateFiles(TestModels.Tiny, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(copy, Path.GetRelativePath(TestModels.Tiny, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
            var unet = Path.Combine(copy, "unet", "model.onnx");
            File.WriteAllText(unet, "this is not an ONNX model");
            var e = Assert.ThrowsExactly<InvalidDataException>(() => ModelDirectoryRewriter.Rewrite(copy, Path.Combine(root, "out"), VcutMode.Exact));
            StringAssert.Contains(e.Message, unet);
            File.Copy(Path.Combine(copy, "vae_encoder", "model.onnx"), unet, overwrite: true);
            e = Assert.ThrowsExactly<InvalidDataException>(() => ModelDirectoryRewriter.Rewrite(copy, Path.Combine(root, "out"), VcutMode.Exact));
            StringAssert.Contains(e.Message, "encoder_hidden_states");
            Assert.IsFalse(Directory.Exists(Path.Combine(root, "out")));
            CollectionAssert.AreEqual(new[] { "copy" }, Directory.GetFileSystemEntries(root).Select(Path.GetFileName).ToArray());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}

/// <summary>The memory estimate counts weights stored as ONNX external data.</summary>
[TestClass]
public sealed class ExternalDataSessionTests
{
    [TestMethod]
    public void ModelBytesIncludeExternalDataAndTheRewriteFindsIt()
    {
        var root = Directory.CreateTempSubdirectory("vcut-external-").FullName;
        try
        {
            var inline = Path.Combine(root, "inline");
            var external = Path.Combine(root, "external");
            var preset = Vcut.Graph.Architecture.ModelPreset.Tiny;
            SvdModelBuilder.BuildDirectory(inline, new SvdBuildOptions(preset, new Vcut.Graph.Weights.SeededWeightSource(42), Vcut.Graph.Onnx.AttentionForm.Fused));
            SvdModelBuilder.BuildDirectory(external, new SvdBuildOptions(preset, new Vcut.Graph.Weights.SeededWeightSource(42), Vcut.Graph.Onnx.AttentionForm.Fused)
            {
                ExternalData = ExternalDataPolicy.Always,
            });
            Assert.IsTrue(File.Exists(Path.Combine(external, "unet", "model.onnx.data")));
            using var inlineSessions = SvdSessions.Open(inline);
            using var externalSessions = SvdSessions.Open(external);
            Assert.IsGreaterThan(0.99 * inlineSessions.ModelBytes, (double)externalSessions.ModelBytes, "weights in .data files are counted");
            using var rewritten = SvdSessions.Open(external, vcut: VcutMode.Exact);
            Assert.IsGreaterThan(0.9 * inlineSessions.ModelBytes, (double)rewritten.ModelBytes, "the in-memory rewrite counts the UNet's data file");
            // The rewritten UNet and its cache read the same data file: counted once, not once for each graph.
            var unetData = new FileInfo(Path.Combine(external, "unet", "model.onnx.data")).Length;
            Assert.IsLessThan(externalSessions.ModelBytes + unetData / 2, rewritten.ModelBytes, "the UNet's data file is counted once");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
