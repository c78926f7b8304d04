using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Vcut.Runtime.Profiling;

/// <summary>The multiply-accumulate rate of one large square MatMul in ONNX Runtime: this machine's GEMM peak.</summary>
/// <param name="Size">The side n of the n × n by n × n product.</param>
/// <param name="Threads">Operator threads (0 = ONNX Runtime's choice).</param>
/// <param name="Seconds">The fastest run's time.</param>
/// <param name="Runs">Timed runs (after one warm-up).</param>
public sealed record GemmPeakResult(int Size, int Threads, double Seconds, int Runs)
{
    /// <summary>n³ multiply-accumulates per run.</summary>
    public double Macs => (double)Size * Size * Size;

    /// <summary>Billions of multiply-accumulates per second of the fastest run.</summary>
    public double GigaMacsPerSecond => Macs / Seconds / 1e9;
}

/// <summary>
/// Measures ONNX Runtime's float32 MatMul on the CPU at one large square size: the reference against which a UNet
/// call's achieved rate is read (a UNet is mostly convolutions and matrix products, which ONNX Runtime lowers to the
/// same GEMM kernels).
/// </summary>
public static class GemmPeak
{
    /// <summary>Runs an n × n MatMul <paramref name="runs"/> times after a warm-up and keeps the fastest.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size below 64 or above 8192, or fewer than one run.</exception>
    public static GemmPeakResult Measure(int size = 4096, int runs = 3, int threads = 0, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 64);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, 8192);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        using var options = new SessionOptions { IntraOpNumThreads = threads, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(MatMulModel().ToByteArray(), options);
        var a = new float[size * size];
        var b = new float[size * size];
        var random = new Random(1);
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = (float)random.NextDouble() - 0.5f;
            b[i] = (float)random.NextDouble() - 0.5f;
        }
        using var aValue = OrtValue.CreateTensorValueFromMemory(a, [size, size]);
        using var bValue = OrtValue.CreateTensorValueFromMemory(b, [size, size]);
        using var cValue = OrtValue.CreateTensorValueFromMemory(new float[size * size], [size, size]);
        using var runOptions = new RunOptions();
        string[] inputs = ["a", "b"];
        string[] outputs = ["c"];
        var best = double.MaxValue;
        for (var run = 0; run <= runs; run++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var started = Stopwatch.GetTimestamp();
            session.Run(runOptions, inputs, [aValue, bValue], outputs, [cValue]);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (run > 0)
            {
                best = Math.Min(best, seconds);
            }
        }
        return new GemmPeakResult(size, threads, best, runs);
    }

    private static ModelProto MatMulModel()
    {
        static ValueInfoProto Matrix(string name) => new()
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor
                {
                    ElemType = (int)TensorProto.Types.DataType.Float,
                    Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "n" }, new TensorShapeProto.Types.Dimension { DimParam = "n" } } },
                },
            },
        };
        var graph = new GraphProto { Name = "gemm_peak", Input = { Matrix("a"), Matrix("b") }, Output = { Matrix("c") } };
        graph.Node.Add(new NodeProto { Name = "MatMul", OpType = "MatMul", Input = { "a", "b" }, Output = { "c" } });
        return new ModelProto { IrVersion = 8, Graph = graph, OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 17 } } };
    }
}
