using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;

namespace Vcut.MLNet.Tests.Runtime;

/// <summary>The whole pipeline on the embedded tiny model.</summary>
[TestClass]
public sealed class VideoGeneratorTests
{
    private static VideoGenerator _generator = null!;

    // Short settings: the behaviour under test does not depend on size.
    private static readonly VideoGenerationOptions Short = new() { Frames = 4, Steps = 3, Height = 64, Width = 48, Seed = 11 };

    [ClassInitialize]
    public static void Open(TestContext _) => _generator = VideoGenerator.Open(TestModels.Tiny);

    [ClassCleanup]
    public static void Close() => _generator.Dispose();

    internal static RgbImage TestImage(int width = 40, int height = 30)
    {
        var pixels = new float[3 * width * height];
        for (var c = 0; c < 3; c++)
        {
            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    pixels[(c * height + y) * width + x] = (float)(0.5 + 0.5 * Math.Sin(0.3 * x + 0.2 * y + c));
                }
            }
        }
        return RgbImage.FromPixels(pixels, width, height);
    }

    [TestMethod]
    public void ProducesFramesInUnitRangeThatMove()
    {
        var video = _generator.Generate(TestImage(), Short);
        Assert.AreEqual(4, video.FrameCount);
        Assert.AreEqual(64, video.Height);
        Assert.AreEqual(48, video.Width);
        Assert.HasCount(4 * 3 * 64 * 48, video.Frames);
        Assert.IsTrue(video.Frames.All(v => v is >= 0f and <= 1f), "frames in [0, 1]");
        TestData.AssertFiniteAndVarying(video.Frames, "frames");
        var first = video.Frame(0).ToArray();
        var last = video.Frame(3).ToArray();
        Assert.IsGreaterThan(1e-4f, first.Zip(last, (a, b) => MathF.Abs(a - b)).Max(), "frames differ over time");
    }

    [TestMethod]
    public void DefaultsComeFromTheModelManifest()
    {
        var video = _generator.Generate(TestImage(), new VideoGenerationOptions { Steps = 1 });
        Assert.AreEqual(_generator.Manifest.DefaultFrames, video.FrameCount);
        Assert.AreEqual(_generator.Manifest.DefaultHeight, video.Height);
        Assert.AreEqual(_generator.Manifest.DefaultWidth, video.Width);
    }

    [TestMethod]
    public void SameSeedIsBitIdenticalAndAnotherSeedDiffers()
    {
        var a = _generator.Generate(TestImage(), Short);
        var b = _generator.Generate(TestImage(), Short);
        var c = _generator.Generate(TestImage(), Short with { Seed = 12 });
        CollectionAssert.AreEqual(a.Frames, b.Frames, "same seed");
        CollectionAssert.AreNotEqual(a.Frames, c.Frames, "another seed");
    }

    [TestMethod]
    public void CountsModelCallsPerVideo()
    {
        var video = _generator.Generate(TestImage(), Short with { Frames = 5, DecodeChunkSize = 2 });
        var calls = video.Statistics.ModelCalls;
        Assert.AreEqual(1, calls[ModelNames.ImageEncoder]);
        Assert.AreEqual(1, calls[ModelNames.VaeEncoder]);
        Assert.AreEqual(3, calls[ModelNames.UNet]);
        Assert.AreEqual(3, calls[ModelNames.VaeDecoder], "⌈5 / 2⌉ decoder calls");
        Assert.IsGreaterThan(TimeSpan.Zero, video.Statistics.TimeInModels);
        Assert.IsLessThanOrEqualTo(video.Statistics.TotalTime, video.Statistics.TimeInModels);
    }

    [TestMethod]
    public void GuidanceOffRunsHalfTheUNetBatch()
    {
        Assert.AreEqual(2, _generator.Generate(TestImage(), Short).Statistics.UNetBatch);
        var off = _generator.Generate(TestImage(), Short with { MinGuidanceScale = 1, MaxGuidanceScale = 1 });
        Assert.AreEqual(1, off.Statistics.UNetBatch);
        TestData.AssertFiniteAndVarying(off.Frames, "frames without guidance");
    }

    [TestMethod]
    public void SuppliedLatentsReplaceTheDrawnOnesAndDecodeChunksAgree()
    {
        var latents = TestData.Uniform(4 * 4 * 8 * 6, 77, 1.5f);
        var a = _generator.Generate(TestImage(), Short with { InitialLatents = latents, Seed = 1 });
        var b = _generator.Generate(TestImage(), Short with { InitialLatents = latents, Seed = 1, DecodeChunkSize = 4 });
        CollectionAssert.AreEqual(a.Frames, b.Frames, "a chunk of all frames is the default");
        var wrong = Assert.ThrowsExactly<ArgumentException>(() => _generator.Generate(TestImage(), Short with { InitialLatents = new float[5] }));
        StringAssert.Contains(wrong.Message, "initial latents have 5 values");
    }

    [TestMethod]
    public async Task ReportsProgressAndCancelsWithinTheLoop()
    {
        using var cancellation = new CancellationTokenSource();
        var reports = new List<GenerationProgress>();
        var progress = new SynchronousProgress(p =>
        {
            reports.Add(p);
            if (p is { Stage: GenerationStage.Denoising, Step: 1 })
            {
                cancellation.Cancel();
            }
        });
        await Assert.ThrowsAsync<OperationCanceledException>(() =>
            _generator.GenerateAsync(TestImage(), Short with { Steps = 10 }, progress, cancellation.Token));
        Assert.IsTrue(reports.Any(r => r.Stage == GenerationStage.EncodingImage));
        Assert.AreEqual(1, reports.Count(r => r.Stage == GenerationStage.Denoising && r.Step > 0), "stopped after the step that cancelled");

        var done = new List<GenerationProgress>();
        _generator.Generate(TestImage(), Short, new SynchronousProgress(done.Add));
        CollectionAssert.AreEqual(new[] { 1, 2, 3 }, done.Where(r => r.Stage == GenerationStage.Denoising && r.Step > 0).Select(r => r.Step).ToArray());
        Assert.AreEqual(GenerationStage.Done, done[^1].Stage);
    }

    [TestMethod]
    [DataRow(0, 3, 64, 64, 3f, "frames = 0")]
    [DataRow(4, 0, 64, 64, 3f, "steps = 0")]
    [DataRow(4, 3, 60, 64, 3f, "height = 60")]
    [DataRow(4, 3, 64, 20, 3f, "width = 20")]
    [DataRow(4, 3, 64, 64, float.NaN, "max guidance scale = NaN")]
    public void BadOptionsAreNamed(int frames, int steps, int height, int width, float guidance, string expected)
    {
        var options = new VideoGenerationOptions { Frames = frames, Steps = steps, Height = height, Width = width, MaxGuidanceScale = guidance };
        var e = Assert.ThrowsExactly<ArgumentException>(() => _generator.Generate(TestImage(), options));
        StringAssert.Contains(e.Message, expected);
    }

    private sealed class SynchronousProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}

/// <summary>Model directories the pipeline must refuse with a clear message.</summary>
[TestClass]
public sealed class ModelDirectoryErrorTests
{
    private string _root = "";

    [TestInitialize]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("vcut-models-").FullName;

    [TestCleanup]
    public void DeleteRoot() => Directory.Delete(_root, recursive: true);

    private string CopyDefault()
    {
        var target = Path.Combine(_root, "copy");
        foreach (var file in Directory.EnumerateFiles(TestModels.Tiny, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(TestModels.Tiny, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
        return target;
    }

    [TestMethod]
    public void UnknownFolderIsNamed()
    {
        var missing = Path.Combine(_root, "nowhere");
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => VideoGenerator.Open(missing));
        StringAssert.Contains(e.Message, missing);
    }

    [TestMethod]
    public void MissingModelIsNamed()
    {
        var directory = CopyDefault();
        File.Delete(Path.Combine(directory, "unet", "model.onnx"));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => VideoGenerator.Open(directory));
        StringAssert.Contains(e.Message, "'unet'");
    }

    [TestMethod]
    public void GraphWithTheWrongInputsIsNamed()
    {
        var directory = CopyDefault();
        File.Copy(Path.Combine(directory, "vae_encoder", "model.onnx"), Path.Combine(directory, "unet", "model.onnx"), overwrite: true);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => VideoGenerator.Open(directory));
        StringAssert.Contains(e.Message, "Model 'unet'");
        StringAssert.Contains(e.Message, "'sample'");
    }

    [TestMethod]
    public void CudaWithoutCudaIsExplainedOrFallsBackWhenAllowed()
    {
        // On machines without CUDA (CI) the provider cannot start: a clear message, or the CPU when allowed.
        try
        {
            using var cuda = VideoGenerator.Open(TestModels.Tiny, execution: new ExecutionOptions { Device = ExecutionDevice.Cuda });
            Assert.AreEqual(ExecutionDevice.Cuda, cuda.Device, "CUDA is present here");
        }
        catch (InvalidOperationException e)
        {
            StringAssert.Contains(e.Message, "CUDA execution was requested");
            using var fallback = VideoGenerator.Open(TestModels.Tiny, execution: new ExecutionOptions { Device = ExecutionDevice.Cuda, AllowCpuFallback = true });
            Assert.AreEqual(ExecutionDevice.Cpu, fallback.Device);
        }
    }
}

/// <summary>Requests that cannot fit are refused before any model runs.</summary>
[TestClass]
public sealed class MemoryRefusalTests
{
    [TestMethod]
    public void RequestAboveTheBudgetIsRefusedWithTheEstimate()
    {
        using var generator = VideoGenerator.Open(TestModels.Tiny, execution: new ExecutionOptions { MemoryBudgetBytes = 64L << 20 });
        var options = new VideoGenerationOptions { Frames = 25, Height = 576, Width = 1024, Steps = 1 };
        var e = Assert.ThrowsExactly<InsufficientMemoryException>(() => generator.Generate(VideoGeneratorTests.TestImage(), options));
        StringAssert.Contains(e.Message, "25 frames at 1024×576");
        StringAssert.Contains(e.Message, "GiB");
        var estimate = generator.EstimateMemory(options);
        Assert.IsGreaterThan(64L << 20, estimate.TotalBytes);
        var chunked = generator.EstimateMemory(options with { DecodeChunkSize = 1 });
        Assert.IsLessThan(estimate.DecoderActivationBytes, chunked.DecoderActivationBytes, "a smaller decode chunk needs less");
    }
}
