using Google.Protobuf;
using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>Every tiny graph loads in ONNX Runtime and honours the contract's shapes with live values.</summary>
[TestClass]
public sealed class TinyGraphRunTests
{
    private static readonly ModelPreset Tiny = ModelPreset.Tiny;
    private static readonly Dictionary<(string, AttentionForm), byte[]> Cache = [];

    private static byte[] Graph(string name, AttentionForm form = AttentionForm.Plain)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue((name, form), out var bytes))
            {
                bytes = SvdModelBuilder.BuildGraph(name, new SvdBuildOptions(Tiny, new SeededWeightSource(5), form)).ToByteArray();
                Cache[(name, form)] = bytes;
            }
            return bytes;
        }
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    public void ImageEncoderGivesOneEmbeddingPerImage(int batch)
    {
        var pixels = TestData.Uniform(batch * 3 * 224 * 224, 100, 2f);
        var y = OrtTestRunner.Run(Graph(ModelNames.ImageEncoder), new Dictionary<string, TestTensor>
        {
            ["pixel_values"] = TestTensor.Of(pixels, batch, 3, 224, 224),
        })["image_embeds"];
        CollectionAssert.AreEqual(new long[] { batch, Tiny.Architecture.ImageEncoder.ProjectionDim }, y.Shape);
        TestData.AssertFiniteAndVarying(y.Data, "image_embeds");
    }

    [TestMethod]
    [DataRow(1, 64, 64)]
    [DataRow(2, 40, 56)]
    public void VaeEncoderGivesTheLatentMean(int batch, int height, int width)
    {
        var image = TestData.Uniform(batch * 3 * height * width, 101);
        var y = OrtTestRunner.Run(Graph(ModelNames.VaeEncoder), new Dictionary<string, TestTensor>
        {
            ["sample"] = TestTensor.Of(image, batch, 3, height, width),
        })["latent_sample"];
        CollectionAssert.AreEqual(new long[] { batch, 4, height / 8, width / 8 }, y.Shape);
        TestData.AssertFiniteAndVarying(y.Data, "latent_sample");
    }

    private static Dictionary<string, TestTensor> UNetInputs(int batch, int frames, int h, int w, ulong seed)
    {
        var cross = Tiny.Architecture.UNet.CrossAttentionDim;
        var ids = new float[batch * 3];
        for (var n = 0; n < batch; n++)
        {
            ids[n * 3] = 6;
            ids[n * 3 + 1] = 127;
            ids[n * 3 + 2] = 0.02f;
        }
        return new()
        {
            ["sample"] = TestTensor.Of(TestData.Uniform(batch * frames * 8 * h * w, seed), batch, frames, 8, h, w),
            ["timestep"] = TestTensor.Of([0.8f], 1),
            ["encoder_hidden_states"] = TestTensor.Of(TestData.Uniform(batch * cross, seed + 1), batch, 1, cross),
            ["added_time_ids"] = TestTensor.Of(ids, batch, 3),
        };
    }

    [TestMethod]
    [DataRow(1, 3, 8, 8)]
    [DataRow(2, 2, 8, 8)]
    [DataRow(2, 5, 5, 7)]
    [DataRow(1, 1, 6, 4)]
    public void UNetPredictsOneVelocityPerLatent(int batch, int frames, int h, int w)
    {
        var y = OrtTestRunner.Run(Graph(ModelNames.UNet), UNetInputs(batch, frames, h, w, 200))["out_sample"];
        CollectionAssert.AreEqual(new long[] { batch, frames, 4, h, w }, y.Shape);
        TestData.AssertFiniteAndVarying(y.Data, "out_sample");
    }

    [TestMethod]
    public void UNetBatchRowsAreIndependentVideos()
    {
        // A video's result must not depend on its batch neighbour: this catches a temporal context paired with
        // the wrong batch element (the diffusers < 0.28 bug, docs/svd.md §2) and frames mixed across videos.
        const int frames = 3, h = 5, w = 7;
        var pair = UNetInputs(2, frames, h, w, 300);
        var single = new Dictionary<string, TestTensor>();
        foreach (var (name, tensor) in pair)
        {
            if (name == "timestep")
            {
                single[name] = tensor;
                continue;
            }
            var rowLength = tensor.Data.Length / 2;
            single[name] = TestTensor.Of(tensor.Data[rowLength..], [1, .. tensor.Shape[1..]]);
        }
        var both = OrtTestRunner.Run(Graph(ModelNames.UNet), pair)["out_sample"].Data;
        var second = OrtTestRunner.Run(Graph(ModelNames.UNet), single)["out_sample"].Data;
        TestData.AssertClose(second, both[(both.Length / 2)..], 1e-4f, "second video alone vs in a batch of two");
    }

    [TestMethod]
    public void FusedAndPlainAttentionGiveTheSameUNet()
    {
        var inputs = UNetInputs(2, 3, 6, 6, 400);
        var plain = OrtTestRunner.Run(Graph(ModelNames.UNet, AttentionForm.Plain), inputs)["out_sample"].Data;
        var fused = OrtTestRunner.Run(Graph(ModelNames.UNet, AttentionForm.Fused), inputs)["out_sample"].Data;
        TestData.AssertClose(plain, fused, 1e-4f, "fused vs plain UNet");
    }

    [TestMethod]
    [DataRow(4, 4, 8, 8)]
    [DataRow(6, 3, 5, 7)]
    public void VaeDecoderGivesFramesAtEightTimesTheLatentSize(int latents, int numFrames, int h, int w)
    {
        var y = OrtTestRunner.Run(Graph(ModelNames.VaeDecoder), new Dictionary<string, TestTensor>
        {
            ["latent_sample"] = TestTensor.Of(TestData.Uniform(latents * 4 * h * w, 500, 3f), latents, 4, h, w),
            ["num_frames"] = TestTensor.Scalar(numFrames),
        })["sample"];
        CollectionAssert.AreEqual(new long[] { latents, 3, h * 8, w * 8 }, y.Shape);
        TestData.AssertFiniteAndVarying(y.Data, "sample");
    }

    [TestMethod]
    public void VaeDecoderMixesFramesOnlyWithinAChunk()
    {
        // Two chunks of 3 frames decoded together equal each chunk decoded alone.
        const int h = 4, w = 4, perFrame = 4 * h * w;
        var latents = TestData.Uniform(6 * perFrame, 600, 3f);
        TestTensor Decode(float[] z, int count, int numFrames) => OrtTestRunner.Run(Graph(ModelNames.VaeDecoder), new Dictionary<string, TestTensor>
        {
            ["latent_sample"] = TestTensor.Of(z, count, 4, h, w),
            ["num_frames"] = TestTensor.Scalar(numFrames),
        })["sample"];
        var together = Decode(latents, 6, 3).Data;
        var first = Decode(latents[..(3 * perFrame)], 3, 3).Data;
        var second = Decode(latents[(3 * perFrame)..], 3, 3).Data;
        TestData.AssertClose([.. first, .. second], together, 1e-4f, "chunked decode");
        var whole = Decode(latents, 6, 6).Data;
        Assert.IsGreaterThan(1e-3f, whole.Zip(together, (a, b) => MathF.Abs(a - b)).Max(), "num_frames must change the temporal mixing");
    }
}
