using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Microsoft.ML.OnnxRuntime;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Scheduling;

namespace Vcut.Benchmarks;

/// <summary>
/// The per-step and per-video work outside ONNX Runtime, at the small preset's benchmark shape
/// (14 frames, 320×576 → latent 40×72, guidance on).
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private const int Frames = 14, LatentHeight = 40, LatentWidth = 72, Channels = 4;
    private const int PerFrame = Channels * LatentHeight * LatentWidth;

    private readonly EulerKarrasScheduler _scheduler = new(25);
    private readonly ClassifierFreeGuidance _guidance = new(1f, 3f);
    private float[] _latents = [];
    private float[] _velocity = [];
    private float[] _guided = [];
    private float[] _sample = [];
    private float[][] _constants = [];
    private RgbImage _photo = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _latents = Enumerable.Range(0, Frames * PerFrame).Select(_ => (float)random.NextDouble()).ToArray();
        _velocity = Enumerable.Range(0, 2 * Frames * PerFrame).Select(_ => (float)random.NextDouble()).ToArray();
        _guided = new float[Frames * PerFrame];
        _sample = new float[2 * Frames * 2 * PerFrame];
        // The small preset's 32 cached constants, 2 rows each (widths 64, 128, 256).
        int[] widths = [.. Enumerable.Repeat(64, 10), .. Enumerable.Repeat(128, 10), .. Enumerable.Repeat(256, 12)];
        _constants = widths.Select(c => new float[2 * c]).ToArray();
        var pixels = Enumerable.Range(0, 3 * 576 * 1024).Select(i => (i % 997) / 997f).ToArray();
        _photo = RgbImage.FromPixels(pixels, 1024, 576);
    }

    /// <summary>One v-prediction Euler step over the video's latents.</summary>
    [Benchmark]
    public void EulerStep() => _scheduler.Step(10, _guided, _latents);

    /// <summary>Classifier-free guidance with the per-frame ramp.</summary>
    [Benchmark]
    public void Guidance() => _guidance.Apply(_velocity.AsSpan(0, _guided.Length), _velocity.AsSpan(_guided.Length), _guided, Frames, PerFrame);

    /// <summary>Writing the scaled latents into both rows of the UNet input (channels 0–3 of every frame).</summary>
    [Benchmark]
    public void ScaleIntoUNetInput()
    {
        var scale = _scheduler.InputScale(10);
        for (var row = 0; row < 2; row++)
        {
            for (var frame = 0; frame < Frames; frame++)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(
                    _latents.AsSpan(frame * PerFrame, PerFrame), scale, _sample.AsSpan((row * Frames + frame) * 2 * PerFrame, PerFrame));
            }
        }
    }

    /// <summary>CLIP pre-processing of a 1024×576 picture (blur + bicubic to 224 + normalisation), once per video.</summary>
    [Benchmark]
    public float[] ClipPreprocess() => ClipImagePreprocessor.Preprocess(_photo);

    /// <summary>Lanczos resize of a 1024×576 picture to 576×320, once per video.</summary>
    [Benchmark]
    public RgbImage ConditioningResize() => LanczosResizer.Resize(_photo, 576, 320);

    /// <summary>Wrapping the 32 cached constants as OrtValues, as a video does once (no copy).</summary>
    [Benchmark]
    public void CacheBinding()
    {
        foreach (var constant in _constants)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(constant, [2, constant.Length / 2]);
        }
    }

    /// <summary>Entry point: BenchmarkDotNet's switcher (pass <c>--filter '*'</c>).</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(PipelineBenchmarks).Assembly).Run(args);
}
