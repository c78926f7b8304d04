using System.Text.Json;
using Onnx;
using Vcut.Graph.Convert;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;

namespace Vcut.MLNet.Tests.Convert;

/// <summary>
/// A diffusers snapshot written by the tests from seeded weights, converted, equals the builder's graphs for the
/// same weights: byte for byte, and in ONNX Runtime's outputs.
/// </summary>
[TestClass]
public sealed class ConvertRoundTripTests
{
    private string _root = "";

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void CreateRoot() => _root = ConvertFixture.NewRoot();

    [TestCleanup]
    public void DeleteRoot() => ConvertFixture.Delete(_root);

    private string Snapshot(SnapshotOptions? options = null, string name = "snapshot")
    {
        var path = Path.Combine(_root, name);
        DiffusersSnapshotWriter.Write(path, ConvertFixture.Tiny, ConvertFixture.Weights, options);
        return path;
    }

    [TestMethod]
    public void Float32SnapshotConvertsToTheBuildersGraphs()
    {
        var output = Path.Combine(_root, "converted");
        var report = CheckpointConverter.Convert(Snapshot(new SnapshotOptions { WithUnusedBuffer = true }), output);

        foreach (var model in ModelNames.All)
        {
            var reference = ConvertFixture.Reference(model, ConvertFixture.Weights);
            var path = ConvertFixture.ModelFile(output, model);
            Assert.IsTrue(reference.AsSpan().SequenceEqual(File.ReadAllBytes(path)), $"{model}: the converted graph differs from the builder's");
            var expected = ConvertFixture.Run(reference, model);
            var actual = ConvertFixture.RunFile(path, model);
            CollectionAssert.AreEqual(expected.Shape, actual.Shape, model);
            TestData.AssertClose(expected.Data, actual.Data, 1e-6f, model);
            TestData.AssertFiniteAndVarying(actual.Data, model);
            Assert.IsFalse(File.Exists(Path.Combine(Path.GetDirectoryName(path)!, SvdModelBuilder.ExternalDataFileName)), $"{model}: small graphs stay inline");
        }

        var manifest = ModelManifest.Load(output);
        Assert.AreEqual("custom", manifest.Preset, "the tiny architecture is not Stability's");
        Assert.AreEqual(JsonSerializer.Serialize(ConvertFixture.Tiny.Architecture, ModelManifest.JsonOptions),
            JsonSerializer.Serialize(manifest.Architecture, ModelManifest.JsonOptions), "architecture read from the three config.json files");
        Assert.AreEqual(ConvertFixture.Tiny.DefaultFrames, manifest.DefaultFrames, "num_frames");
        Assert.AreEqual(128, manifest.DefaultHeight, "sample_size × 8");
        Assert.AreEqual(GraphPrecision.Float32, manifest.Precision);
        StringAssert.StartsWith(manifest.Weights, "diffusers:");
        CollectionAssert.AreEqual(new[] { "image_encoder: vision_model.embeddings.position_ids" }, report.UnusedTensors.ToArray());
        Assert.AreEqual(2_019_274L, report.Graphs.Single(g => g.Model == ModelNames.UNet).Parameters);
        Assert.IsTrue(report.Graphs.All(g => g.ExternalDataBytes == 0 && g.ModelFileBytes > 0));
    }

    [TestMethod]
    [DataRow("F16")]
    [DataRow("BF16")]
    public void HalfPrecisionSnapshotsAreReadExactly(string dtype)
    {
        var output = Path.Combine(_root, "converted");
        CheckpointConverter.Convert(Snapshot(new SnapshotOptions { DType = dtype }), output);
        var rounded = new RoundedWeightSource(ConvertFixture.Weights, dtype);
        foreach (var model in ModelNames.All)
        {
            Assert.IsTrue(ConvertFixture.Reference(model, rounded).AsSpan().SequenceEqual(File.ReadAllBytes(ConvertFixture.ModelFile(output, model))),
                $"{model}: {dtype} values must widen to float32 exactly");
        }
    }

    [TestMethod]
    [DataRow(true, false)]
    [DataRow(false, true)]
    [DataRow(true, true)]
    public void OldVaeAttentionNamesAndConvShapedWeightsAreAccepted(bool oldNames, bool convShaped)
    {
        var output = Path.Combine(_root, "converted");
        var snapshot = Snapshot(new SnapshotOptions { OldVaeAttentionNames = oldNames, ConvShapedVaeAttention = convShaped });
        using (var file = SafetensorsFile.Open(DiffusersSnapshotWriter.WeightFile(snapshot, "vae")))
        {
            var key = oldNames ? "decoder.mid_block.attentions.0.query.weight" : "decoder.mid_block.attentions.0.to_q.weight";
            var shape = file.Get(key).Shape; // the snapshot really is in the old layout
            Assert.HasCount(convShaped ? 4 : 2, shape);
        }
        var report = CheckpointConverter.Convert(snapshot, output);
        foreach (var model in new[] { ModelNames.VaeEncoder, ModelNames.VaeDecoder })
        {
            Assert.IsTrue(ConvertFixture.Reference(model, ConvertFixture.Weights).AsSpan().SequenceEqual(File.ReadAllBytes(ConvertFixture.ModelFile(output, model))),
                $"{model}: old names / (C, C, 1, 1) weights must map onto to_q/to_k/to_v/to_out.0");
        }
        Assert.IsEmpty(report.UnusedTensors, "every old-named tensor was used");
    }

    [TestMethod]
    public void Float16OutputEqualsTheFloat16BuilderAndStaysCloseToFloat32()
    {
        var output = Path.Combine(_root, "converted");
        CheckpointConverter.Convert(Snapshot(), output, new ConversionOptions { Precision = GraphPrecision.Float16 });
        Assert.AreEqual(GraphPrecision.Float16, ModelManifest.Load(output).Precision);
        // Measured (ONNX Runtime 1.31, CPU provider, tiny preset, seed 11), float16 graph vs float32 graph on the
        // same inputs, as max |diff| / max |reference| and RMS(diff) / RMS(reference):
        //   image_encoder 6.8e-4 / 6.6e-4, vae_encoder 2.0e-3 / 1.9e-3, unet 9.7e-3 / 7.9e-3, vae_decoder 1.5e-3 / 1.7e-3.
        // Rounding only the weights to float16 (float32 compute) gives 4.3e-4, 1.6e-3, 2.9e-3 and 8.2e-4 (max), so
        // about two thirds of the UNet's error is float16 arithmetic through its 22 resnets and 16 transformers.
        // The bounds (ConvertFixture.Float16MaxRelative, Float16RmsRelative: 3e-2 and 2.5e-2) are three times the
        // worst measurement, for other CPUs and the CUDA provider.
        foreach (var model in ModelNames.All)
        {
            var path = ConvertFixture.ModelFile(output, model);
            var reference16 = ConvertFixture.Reference(model, ConvertFixture.Weights, precision: GraphPrecision.Float16);
            Assert.IsTrue(reference16.AsSpan().SequenceEqual(File.ReadAllBytes(path)), $"{model}: differs from the builder's float16 graph");

            var graph = OnnxModelFile.Read(path).Graph;
            Assert.IsTrue(graph.Initializer.All(i => i.DataType == (int)TensorProto.Types.DataType.Float16), $"{model}: float16 weights");
            var floatPorts = graph.Input.Concat(graph.Output).Where(p => p.Type.TensorType.ElemType != (int)TensorProto.Types.DataType.Int64);
            Assert.IsTrue(floatPorts.All(p => p.Type.TensorType.ElemType == (int)TensorProto.Types.DataType.Float), $"{model}: float32 inputs and outputs");

            var expected = ConvertFixture.Run(ConvertFixture.Reference(model, ConvertFixture.Weights), model).Data;
            var actual = ConvertFixture.RunFile(path, model).Data;
            var (max, rms) = ConvertFixture.AssertFloat16Close(expected, actual, model);
            TestContext.WriteLine($"{model}: float16 vs float32 max relative {max:G3}, RMS relative {rms:G3}");
        }
    }

    [TestMethod]
    public void TheFloat16VariantIsPreferredForFloat16Output()
    {
        var snapshot = Snapshot();
        DiffusersSnapshotWriter.Write(snapshot, ConvertFixture.Tiny, ConvertFixture.Weights, new SnapshotOptions { DType = "F16", Fp16FileNames = true });
        using (var full = DiffusersCheckpointWeightSource.Open(snapshot))
        {
            StringAssert.EndsWith(full.Files["unet"], "diffusion_pytorch_model.safetensors");
            StringAssert.EndsWith(full.Files["image_encoder"], Path.Combine("image_encoder", "model.safetensors"));
        }
        using (var half = DiffusersCheckpointWeightSource.Open(snapshot, preferFloat16: true))
        {
            StringAssert.EndsWith(half.Files["unet"], "diffusion_pytorch_model.fp16.safetensors");
            StringAssert.EndsWith(half.Files["image_encoder"], "model.fp16.safetensors");
        }
        File.Delete(DiffusersSnapshotWriter.WeightFile(snapshot, "vae"));
        using var fallback = DiffusersCheckpointWeightSource.Open(snapshot);
        StringAssert.EndsWith(fallback.Files["vae"], "diffusion_pytorch_model.fp16.safetensors", "falls back to the variant present");
    }

    [TestMethod]
    public void ProgressCoversEveryParameterOfEveryGraph()
    {
        var reports = new List<ModelBuildProgress>();
        CheckpointConverter.Convert(Snapshot(), Path.Combine(_root, "converted"), progress: new Synchronous(reports.Add));
        foreach (var model in ModelNames.All)
        {
            var mine = reports.Where(r => r.Model == model).ToList();
            Assert.IsNull(mine[0].Parameter, $"{model}: a start report first");
            Assert.AreEqual(mine[0].ElementsTotal, mine[^1].ElementsDone, $"{model}: ends with every element stored");
            Assert.IsTrue(mine.Zip(mine.Skip(1)).All(p => p.Second.ElementsDone > p.First.ElementsDone), $"{model}: increasing");
        }
        CollectionAssert.AreEqual(ModelNames.All.ToArray(), reports.Select(r => r.Model).Distinct().ToArray(), "graphs in pipeline order");
    }

    [TestMethod]
    public void StabilityConfigsReadAsTheSvdPresets()
    {
        var snapshot = Path.Combine(_root, "configs");
        foreach (var (frames, name) in new[] { (14, "svd"), (25, "svd-xt") })
        {
            var preset = Vcut.Graph.Architecture.ModelPreset.Get(name);
            foreach (var part in DiffusersCheckpointWeightSource.Parts)
            {
                Directory.CreateDirectory(Path.Combine(snapshot, part));
            }
            // The published config.json files, field for field (image encoder abbreviated to the fields read).
            File.WriteAllText(Path.Combine(snapshot, "unet", "config.json"), $$"""
                {"_class_name": "UNetSpatioTemporalConditionModel", "_diffusers_version": "0.24.0.dev0", "addition_time_embed_dim": 256,
                 "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 1024,
                 "down_block_types": ["CrossAttnDownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"],
                 "in_channels": 8, "layers_per_block": 2, "num_attention_heads": [5, 10, 20, 20], "num_frames": {{frames}}, "out_channels": 4,
                 "projection_class_embeddings_input_dim": 768, "sample_size": 96, "transformer_layers_per_block": 1,
                 "up_block_types": ["UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"]}
                """);
            File.WriteAllText(Path.Combine(snapshot, "vae", "config.json"), """
                {"_class_name": "AutoencoderKLTemporalDecoder", "_diffusers_version": "0.24.0.dev0", "block_out_channels": [128, 256, 512, 512],
                 "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"], "force_upcast": true,
                 "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "out_channels": 3, "sample_size": 768, "scaling_factor": 0.18215}
                """);
            File.WriteAllText(Path.Combine(snapshot, "image_encoder", "config.json"), """
                {"architectures": ["CLIPVisionModelWithProjection"], "hidden_act": "gelu", "hidden_size": 1280, "image_size": 224,
                 "intermediate_size": 5120, "layer_norm_eps": 1e-05, "model_type": "clip_vision_model", "num_attention_heads": 16,
                 "num_channels": 3, "num_hidden_layers": 32, "patch_size": 14, "projection_dim": 1024, "torch_dtype": "float16"}
                """);
            var (unet, numFrames, _) = DiffusersConfig.ReadUNet(Path.Combine(snapshot, "unet", "config.json"));
            var architecture = new Vcut.Graph.Architecture.SvdArchitecture(unet,
                DiffusersConfig.ReadVae(Path.Combine(snapshot, "vae", "config.json")),
                DiffusersConfig.ReadImageEncoder(Path.Combine(snapshot, "image_encoder", "config.json")));
            Assert.AreEqual(frames, numFrames);
            Assert.AreEqual(JsonSerializer.Serialize(preset.Architecture, ModelManifest.JsonOptions),
                JsonSerializer.Serialize(architecture, ModelManifest.JsonOptions), name);
        }
    }

    /// <summary>Reports on the caller's thread, in order (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class Synchronous(Action<ModelBuildProgress> report) : IProgress<ModelBuildProgress>
    {
        public void Report(ModelBuildProgress value) => report(value);
    }
}
