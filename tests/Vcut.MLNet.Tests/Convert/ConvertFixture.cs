using Google.Protobuf;
using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Convert;

/// <summary>Shared pieces of the conversion tests: the tiny SVD, its seeded weights and inputs for its four graphs.</summary>
internal static class ConvertFixture
{
    public const ulong Seed = 11;

    public static ModelPreset Tiny => ModelPreset.Tiny;

    public static IWeightSource Weights => new SeededWeightSource(Seed);

    /// <summary>A fresh folder for one test (removed by <see cref="Delete"/>).</summary>
    public static string NewRoot() => Directory.CreateTempSubdirectory("vcut-convert-").FullName;

    public static void Delete(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The builder's graph for the same weights: the reference a conversion must equal.</summary>
    public static byte[] Reference(string model, IWeightSource weights, AttentionForm attention = SvdBuildOptions.DefaultAttention,
        GraphPrecision precision = GraphPrecision.Float32) =>
        SvdModelBuilder.BuildGraph(model, new SvdBuildOptions(Tiny, weights, attention) { Precision = precision }).ToByteArray();

    /// <summary>Inputs for each graph of the tiny model: two frames of an 8×8 latent, a 64×64 image, a 224×224 CLIP input.</summary>
    public static Dictionary<string, TestTensor> Inputs(string model)
    {
        var a = Tiny.Architecture;
        return model switch
        {
            ModelNames.ImageEncoder => new()
            {
                ["pixel_values"] = TestTensor.Of(TestData.Uniform(3 * 224 * 224, 500, 2f), 1, 3, 224, 224),
            },
            ModelNames.VaeEncoder => new()
            {
                ["sample"] = TestTensor.Of(TestData.Uniform(3 * 64 * 64, 501), 1, 3, 64, 64),
            },
            ModelNames.UNet => new()
            {
                ["sample"] = TestTensor.Of(TestData.Uniform(2 * 2 * 8 * 8 * 8, 502), 2, 2, 8, 8, 8),
                ["timestep"] = TestTensor.Of([0.8f], 1),
                ["encoder_hidden_states"] = TestTensor.Of(TestData.Uniform(2 * a.UNet.CrossAttentionDim, 503), 2, 1, a.UNet.CrossAttentionDim),
                ["added_time_ids"] = TestTensor.Of([6, 127, 0.02f, 6, 127, 0.02f], 2, 3),
            },
            ModelNames.VaeDecoder => new()
            {
                ["latent_sample"] = TestTensor.Of(TestData.Uniform(3 * 4 * 8 * 8, 504, 3f), 3, 4, 8, 8),
                ["num_frames"] = TestTensor.Scalar(3),
            },
            _ => throw new ArgumentException(model),
        };
    }

    /// <summary>The graph's single output.</summary>
    public static TestTensor RunFile(string modelPath, string model) => OrtTestRunner.RunFile(modelPath, Inputs(model)).Values.Single();

    public static TestTensor Run(byte[] graph, string model) => OrtTestRunner.Run(graph, Inputs(model)).Values.Single();

    /// <summary>The path of a graph inside a model directory.</summary>
    public static string ModelFile(string directory, string model) => Path.Combine(directory, ModelNames.RelativePath(model));

    /// <summary>
    /// How far a float16 graph's output may be from the float32 graph's on the same inputs: max |diff| / max |reference|
    /// and RMS(diff) / RMS(reference). Three times the worst measured (see
    /// <see cref="ConvertRoundTripTests.Float16OutputEqualsTheFloat16BuilderAndStaysCloseToFloat32"/>).
    /// </summary>
    public const float Float16MaxRelative = 3e-2f;

    /// <inheritdoc cref="Float16MaxRelative"/>
    public const double Float16RmsRelative = 2.5e-2;

    /// <summary>(max |diff| / max |reference|, RMS(diff) / RMS(reference)).</summary>
    public static (float Max, double Rms) RelativeError(float[] reference, float[] actual)
    {
        var scale = reference.Max(MathF.Abs);
        var worst = reference.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        var rms = Math.Sqrt(reference.Zip(actual, (e, a) => (double)(e - a) * (e - a)).Average());
        var rmsReference = Math.Sqrt(reference.Average(e => (double)e * e));
        return (worst / scale, rms / rmsReference);
    }

    /// <summary>Asserts a float16 output is within <see cref="Float16MaxRelative"/> and <see cref="Float16RmsRelative"/> of the float32 one.</summary>
    public static (float Max, double Rms) AssertFloat16Close(float[] reference, float[] actual, string what)
    {
        Assert.IsTrue(actual.All(float.IsFinite), $"{what}: finite");
        var (max, rms) = RelativeError(reference, actual);
        Assert.IsLessThanOrEqualTo(Float16MaxRelative, max, $"{what}: float16 max relative error");
        Assert.IsLessThanOrEqualTo(Float16RmsRelative, rms, $"{what}: float16 RMS relative error");
        return (max, rms);
    }

    /// <summary>Entries of a folder, hidden temporary ones included.</summary>
    public static string[] Entries(string folder) => Directory.GetFileSystemEntries(folder).Select(Path.GetFileName).Order().ToArray()!;
}
