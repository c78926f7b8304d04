using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;
using Vcut.Training.Model;
using static TorchSharp.torch;

namespace Vcut.Training.Tests;

/// <summary>
/// The TorchSharp networks and the ONNX graphs are two independent implementations of SVD: on the same weights and
/// inputs each pair agrees within float error (relative L2 error ≤ 1e-4). The weights are the trainer's initialisation
/// without its zero starts (torch's default scales, so activations stay near unit size) for the embedded default's
/// architecture, and the seeded weights of the tiny preset for the other graphs.
/// </summary>
[TestClass]
public sealed class TorchOnnxEquivalenceTests
{
    private const double Tolerance = 1e-4;

    private static readonly ModelPreset Preset = ModelPreset.Tiny;

    [TestMethod]
    [DataRow("tiny")]
    [DataRow("micro")]
    public void UNetAgrees(string presetName)
    {
        var preset = ModelPreset.Get(presetName);
        var unet = preset.Architecture.UNet;
        using var parameters = SvdParameters.CreateForTraining(preset, seed: 3, identityStart: false);
        var nets = new SvdNetworks(parameters);
        // 16×12 latents: the deepest level is 2×2, so no GroupNorm normalises a single element (whose variance is 0
        // and whose rounding error the normalisation would amplify by 1/√eps).
        long[] shape = [2, 3, unet.InChannels, 16, 12];
        var sample = Uniform(1, shape);
        var timestep = new[] { 0.7f };
        var context = Uniform(2, [2, 1, unet.CrossAttentionDim]);
        var ids = new[] { 6f, 127f, 0.02f, 3f, 40f, 0.1f };
        float[] torchOut;
        using (no_grad())
        {
            using var y = nets.UNet(tensor(sample, shape), tensor(timestep, [1]), tensor(context, [2, 1, unet.CrossAttentionDim]), tensor(ids, [2, 3]));
            torchOut = y.contiguous().data<float>().ToArray();
        }
        var onnx = RunGraph(preset, parameters.AsWeightSource("test"), ModelNames.UNet, ("sample", sample, shape), ("timestep", timestep, [1]),
            ("encoder_hidden_states", context, [2, 1, unet.CrossAttentionDim]), ("added_time_ids", ids, [2, 3]));
        AssertClose(onnx, torchOut, $"UNet ({presetName})");
    }

    [TestMethod]
    public void VaeEncoderAgrees()
    {
        using var parameters = Seeded();
        var nets = new SvdNetworks(parameters);
        var image = Uniform(3, [2, 3, 24, 16]);
        float[] torchOut;
        using (no_grad())
        {
            var (mean, _) = nets.VaeEncoder(tensor(image, [2, 3, 24, 16]));
            torchOut = mean.contiguous().data<float>().ToArray();
        }
        AssertClose(RunGraph(ModelNames.VaeEncoder, ("sample", image, [2, 3, 24, 16])), torchOut, "VAE encoder");
    }

    [TestMethod]
    public void VaeDecoderAgrees()
    {
        using var parameters = Seeded();
        var nets = new SvdNetworks(parameters);
        var latents = Uniform(4, [6, 4, 3, 2]);
        float[] torchOut;
        using (no_grad())
        {
            using var y = nets.VaeDecoder(tensor(latents, [6, 4, 3, 2]), 3);
            torchOut = y.contiguous().data<float>().ToArray();
        }
        var onnx = RunGraph(ModelNames.VaeDecoder, ("latent_sample", latents, [6, 4, 3, 2]), ("num_frames", null, []));
        AssertClose(onnx, torchOut, "VAE decoder");
    }

    [TestMethod]
    public void ImageEncoderAgrees()
    {
        using var parameters = Seeded();
        var nets = new SvdNetworks(parameters);
        var pixels = Uniform(5, [2, 3, 224, 224]);
        float[] torchOut;
        using (no_grad())
        {
            using var y = nets.ImageEncoder(tensor(pixels, [2, 3, 224, 224]));
            torchOut = y.contiguous().data<float>().ToArray();
        }
        AssertClose(RunGraph(ModelNames.ImageEncoder, ("pixel_values", pixels, [2, 3, 224, 224])), torchOut, "image encoder");
    }

    private static SvdParameters Seeded() => SvdParameters.FromSource(Preset, new SeededWeightSource(42));

    private static float[] RunGraph(string model, params (string Name, float[]? Values, long[] Shape)[] inputs) =>
        RunGraph(Preset, new SeededWeightSource(42), model, inputs);

    private static float[] RunGraph(ModelPreset preset, IWeightSource weights, string model, params (string Name, float[]? Values, long[] Shape)[] inputs)
    {
        var graph = SvdModelBuilder.BuildGraph(model, new SvdBuildOptions(preset, weights, AttentionForm.Fused));
        using var session = new InferenceSession(graph.ToByteArray());
        var values = inputs.Select(i => i.Values is null
            ? OrtValue.CreateTensorValueFromMemory(new long[] { 3 }, [])
            : OrtValue.CreateTensorValueFromMemory(i.Values, i.Shape)).ToList();
        try
        {
            using var results = session.Run(new RunOptions(), inputs.Select(i => i.Name).ToArray(), values, session.OutputNames);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private static float[] Uniform(ulong seed, long[] shape)
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        var state = seed * 0x9E3779B97F4A7C15UL + 1;
        for (var i = 0; i < values.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values[i] = (state >> 40) / (float)(1UL << 24) * 2f - 1f;
        }
        return values;
    }

    /// <summary>
    /// Relative L2 error ‖ONNX − TorchSharp‖ / ‖ONNX‖: the seeded networks are deep and their random weights amplify
    /// rounding, so single elements can differ by more than the tolerance where the whole output does not.
    /// </summary>
    private static void AssertClose(float[] expected, float[] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, $"{what}: element count");
        var norm = Math.Sqrt(expected.Sum(e => (double)e * e));
        var error = Math.Sqrt(expected.Zip(actual, (e, a) => ((double)e - a) * (e - a)).Sum());
        Assert.IsGreaterThan(0.0, norm, $"{what}: the output is all zeros");
        Assert.IsLessThanOrEqualTo(Tolerance, error / norm, $"{what}: ‖ONNX − TorchSharp‖ / ‖ONNX‖ = {error / norm:G3}");
    }
}
