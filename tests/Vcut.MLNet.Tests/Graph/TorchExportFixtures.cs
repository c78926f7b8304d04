using Vcut.Graph.Names;
using System.IO.Compression;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Vcut.Graph.Architecture;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>
/// The UNets a PyTorch user exports (Fixtures/TorchExports, written by export_fixtures.py with torch 1.13): a small
/// SVD topology (two levels of 32 channels, one layer per block: 4 spatial + 4 temporal cross-attentions) with this
/// repository's parameter names, in float32 with and without constant folding, float16, and laid out like the
/// TensorRT repository's file (float16 ports, float32 timestep, output <c>latent</c>, UUID-named external data).
/// </summary>
internal static class TorchExportFixtures
{
    public const string Float32Folded = "torch-f32-opset17-folded";
    public const string Float32Unfolded = "torch-f32-opset14-unfolded";
    public const string Float16 = "torch-f16-opset17-folded";
    public const string TensorRtLayout = "trt-layout-f16";

    /// <summary>The architecture the exporter script writes (its IN_CH, OUT_CH, WIDTHS, HEADS, LAYERS, CROSS, ADD_TIME).</summary>
    public static UNetConfig UNet { get; } = new(8, 4, [32, 32], [2, 2], 1, 16, 8);

    /// <summary>Cross-attentions of that topology per kind: one per down level with attention, the mid block, two per up level with attention.</summary>
    public const int CrossAttentionsPerKind = 4;

    public static bool IsFloat16(string fixture) => fixture is Float16 or TensorRtLayout;

    public static string OutputName(string fixture) => fixture == TensorRtLayout ? "latent" : "out_sample";

    /// <summary>Unzips <paramref name="fixture"/> under <paramref name="root"/>; returns the path of its model.onnx.</summary>
    public static string Extract(string fixture, string root)
    {
        var zip = Path.Combine(AppContext.BaseDirectory, "Fixtures", "TorchExports", fixture + ".zip");
        ZipFile.ExtractToDirectory(zip, root, overwriteFiles: true);
        return Path.Combine(root, fixture, "model.onnx");
    }

    /// <summary>Two rows, three frames of an 8×10 latent, a CLIP token per row, SVD's added time ids.</summary>
    public static Dictionary<string, (float[] Data, long[] Shape)> Inputs() => new()
    {
        ["sample"] = (TestData.Uniform(2 * 3 * 8 * 8 * 10, 1201), [2, 3, 8, 8, 10]),
        ["timestep"] = ([1.3f], [1]),
        ["encoder_hidden_states"] = (TestData.Uniform(2 * 16, 1202, 2f), [2, 1, 16]),
        ["added_time_ids"] = ([6, 127, 0.02f, 6, 127, 0.02f], [2, 3]),
    };

    /// <summary>Runs a session once, each input converted to the element type its port declares; outputs as float32.</summary>
    public static Dictionary<string, float[]> Run(InferenceSession session, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> inputs)
    {
        var names = session.InputMetadata.Keys.ToArray();
        var values = new List<OrtValue>();
        try
        {
            foreach (var name in names)
            {
                var (data, shape) = inputs[name];
                values.Add(session.InputMetadata[name].ElementDataType == TensorElementType.Float16
                    ? OrtValue.CreateTensorValueFromMemory(data.Select(v => new Float16(BitConverter.HalfToUInt16Bits((Half)v))).ToArray(), shape)
                    : OrtValue.CreateTensorValueFromMemory(data, shape));
            }
            using var runOptions = new RunOptions();
            var outputNames = session.OutputNames.ToArray();
            using var outputs = session.Run(runOptions, names, values, outputNames);
            var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
            for (var i = 0; i < outputNames.Length; i++)
            {
                result[outputNames[i]] = outputs[i].GetTensorTypeAndShape().ElementDataType == TensorElementType.Float16
                    ? outputs[i].GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)BitConverter.UInt16BitsToHalf(h.value)).ToArray()
                    : outputs[i].GetTensorDataAsSpan<float>().ToArray();
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

    public static InferenceSession Session(byte[] model, string externalDataFolder)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 2, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", externalDataFolder);
        return new InferenceSession(model, options);
    }

    /// <summary>max |a − b| / max |b|.</summary>
    public static double MaxRelative(float[] actual, float[] reference)
    {
        Assert.AreEqual(reference.Length, actual.Length, "lengths");
        double diff = 0, scale = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            Assert.IsTrue(float.IsFinite(actual[i]), $"value {i} is {actual[i]}");
            diff = Math.Max(diff, Math.Abs(actual[i] - reference[i]));
            scale = Math.Max(scale, Math.Abs(reference[i]));
        }
        return diff / scale;
    }
}
