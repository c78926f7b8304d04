using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Vcut.MLNet.Tests;

/// <summary>A float or int64 tensor for test inputs and outputs.</summary>
internal sealed record TestTensor(long[] Shape, float[]? Floats = null, long[]? Int64s = null)
{
    public static TestTensor Of(float[] values, params long[] shape) => new(shape, Floats: values);

    public static TestTensor Scalar(long value) => new([], Int64s: [value]);

    public float[] Data => Floats ?? throw new InvalidOperationException("Not a float tensor.");
}

/// <summary>Runs an in-memory ONNX model once on the CPU provider.</summary>
internal static class OrtTestRunner
{
    public static Dictionary<string, TestTensor> Run(ModelProto model, IReadOnlyDictionary<string, TestTensor> inputs) =>
        Run(model.ToByteArray(), inputs);

    public static Dictionary<string, TestTensor> Run(byte[] model, IReadOnlyDictionary<string, TestTensor> inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model, options);
        return Run(session, inputs);
    }

    /// <summary>
    /// Runs the model file at <paramref name="modelPath"/>: loaded from its folder, so ONNX Runtime finds external
    /// data files next to it.
    /// </summary>
    public static Dictionary<string, TestTensor> RunFile(string modelPath, IReadOnlyDictionary<string, TestTensor> inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(modelPath, options);
        return Run(session, inputs);
    }

    private static Dictionary<string, TestTensor> Run(InferenceSession session, IReadOnlyDictionary<string, TestTensor> inputs)
    {
        var names = inputs.Keys.ToArray();
        var values = new List<OrtValue>();
        try
        {
            foreach (var name in names)
            {
                var t = inputs[name];
                values.Add(t.Floats is { } f
                    ? OrtValue.CreateTensorValueFromMemory(f, t.Shape)
                    : OrtValue.CreateTensorValueFromMemory(t.Int64s!, t.Shape));
            }
            using var runOptions = new RunOptions();
            var outputNames = session.OutputNames.ToArray();
            using var outputs = session.Run(runOptions, names, values, outputNames);
            var result = new Dictionary<string, TestTensor>();
            for (var i = 0; i < outputNames.Length; i++)
            {
                var info = outputs[i].GetTensorTypeAndShape();
                result[outputNames[i]] = TestTensor.Of(outputs[i].GetTensorDataAsSpan<float>().ToArray(), info.Shape);
            }
            return result;
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }
}

/// <summary>Deterministic test data.</summary>
internal static class TestData
{
    public static float[] Uniform(int count, ulong seed, float scale = 1f)
    {
        var random = new Vcut.Graph.Weights.SplitMix64(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = scale * random.NextSymmetricSingle();
        }
        return values;
    }

    public static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.HasCount(expected.Length, actual, $"{what}: element count");
        var worst = 0f;
        var worstIndex = -1;
        for (var i = 0; i < expected.Length; i++)
        {
            var diff = MathF.Abs(expected[i] - actual[i]);
            if (!(diff <= worst))
            {
                worst = diff;
                worstIndex = i;
            }
        }
        Assert.IsLessThanOrEqualTo(tolerance, worst, $"{what}: max |diff| {worst} at {worstIndex} exceeds {tolerance}");
    }

    public static void AssertFiniteAndVarying(float[] values, string what)
    {
        Assert.IsNotEmpty(values, what);
        Assert.IsTrue(values.All(float.IsFinite), $"{what}: non-finite values");
        var min = values.Min();
        var max = values.Max();
        Assert.IsGreaterThan(1e-4f, max - min, $"{what}: constant output ({min}..{max})");
    }
}
