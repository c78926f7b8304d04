using Vcut.Graph.Names;
using System.Runtime.InteropServices;
using Onnx;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Convert;
using Vcut.Graph.Models;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;
using Vcut.Graph.Weights;
using Vcut.MLNet.Tests.Graph;
using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Tests.Convert;

/// <summary>
/// <c>vcut convert --unet-onnx</c> (issue 12): a model directory around a UNet exported by torch, whose videos equal
/// those of the project's own UNet built from the same weights, in every VCUT mode, float16 ports included.
/// </summary>
[TestClass]
public sealed class UNetImportTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>The exporter's UNet with a small VAE (downscale 2) and CLIP tower (projection 16) around it.</summary>
    internal static ModelPreset Preset { get; } = new("fixture",
        new SvdArchitecture(TorchExportFixtures.UNet, new VaeConfig(3, 4, [32, 32], 1, 0.18215f), new ClipVisionConfig(32, 1, 2, 64, 224, 14, 16, 1e-5f)),
        DefaultFrames: 3, DefaultHeight: 16, DefaultWidth: 24, "the torch-export fixtures' architecture");

    private static readonly VideoGenerationOptions Short = new() { Frames = 3, Steps = 3, Height = 16, Width = 24, Seed = 5 };

    /// <summary>The UNet weights the exporter wrote (the unfolded export keeps the state-dict names), seeded values for the rest.</summary>
    private sealed class FixtureWeights(Dictionary<string, float[]> unet) : IWeightSource
    {
        private readonly SeededWeightSource _seeded = new(7);

        public string Description => "torch fixture + seeded:7";

        public float[]? Get(ParameterSpec parameter) =>
            unet.TryGetValue(parameter.Key, out var v) ? v
            : DiffusersCheckpointWeightSource.PartOf(parameter.Key) == "unet"
                ? throw new InvalidDataException($"The torch export has no UNet parameter '{parameter.Key}'.")
                : _seeded.Get(parameter);
    }

    private static FixtureWeights ReadWeights(string root)
    {
        var model = OnnxModelFile.Read(TorchExportFixtures.Extract(TorchExportFixtures.Float32Unfolded, root));
        return new FixtureWeights(model.Graph.Initializer
            .Where(t => t.DataType == (int)TensorProto.Types.DataType.Float && t.Name.EndsWith("weight", StringComparison.Ordinal)
                        || t.Name.EndsWith("bias", StringComparison.Ordinal) || t.Name.EndsWith("mix_factor", StringComparison.Ordinal))
            .ToDictionary(t => t.Name, t => MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray()));
    }

    [TestMethod]
    public void TheExportComputesTheProjectsUNetOnOneCall()
    {
        using var temp = new TempFolder();
        var weights = ReadWeights(temp.Path);
        var built = SvdModelBuilder.BuildGraph(ModelNames.UNet, new SvdBuildOptions(Preset, weights, AttentionForm.Plain));
        var inputs = TorchExportFixtures.Inputs();
        float[] own, exported;
        using (var session = TorchExportFixtures.Session(Google.Protobuf.MessageExtensions.ToByteArray(built), temp.Path))
        {
            own = TorchExportFixtures.Run(session, inputs)["out_sample"];
        }
        var path = TorchExportFixtures.Extract(TorchExportFixtures.Float32Folded, temp.Path);
        using (var session = TorchExportFixtures.Session(File.ReadAllBytes(path), Path.GetDirectoryName(path)!))
        {
            exported = TorchExportFixtures.Run(session, inputs)["out_sample"];
        }
        var relative = TorchExportFixtures.MaxRelative(exported, own);
        TestContext.WriteLine($"torch export vs the project's UNet, one call: max relative difference {relative:E2}");
        Assert.IsLessThanOrEqualTo(1e-4, relative);
    }

    private static GeneratedVideo Generate(string directory, VcutMode mode)
    {
        using var generator = VideoGenerator.Open(directory, vcut: mode);
        return generator.Generate(VideoGeneratorTests.TestImage(), Short);
    }

    [TestMethod]
    [DataRow(TorchExportFixtures.Float32Folded)]
    [DataRow(TorchExportFixtures.Float32Unfolded)]
    [DataRow(TorchExportFixtures.Float16)]
    [DataRow(TorchExportFixtures.TensorRtLayout)]
    public void AVideoThroughTheImportedUNetEqualsTheProjectsOwnUNet(string fixture)
    {
        using var temp = new TempFolder();
        var snapshot = Path.Combine(temp.Path, "snapshot");
        DiffusersSnapshotWriter.Write(snapshot, Preset, ReadWeights(Path.Combine(temp.Path, "weights")));
        var own = Path.Combine(temp.Path, "own");
        var ownReport = CheckpointConverter.Convert(snapshot, own);
        var imported = Path.Combine(temp.Path, "imported");
        var report = UNetImporter.Convert(snapshot, TorchExportFixtures.Extract(fixture, Path.Combine(temp.Path, "fixture")), imported);

        var ports = ModelManifest.Load(imported).UNetPorts!;
        Assert.IsNotNull(ports, "the manifest records the imported UNet's ports");
        Assert.AreEqual(TorchExportFixtures.OutputName(fixture), ports.Output.Name);
        var half = TorchExportFixtures.IsFloat16(fixture) ? PortElementType.Float16 : PortElementType.Float32;
        Assert.AreEqual(half, ports.Sample.ElementType);
        Assert.AreEqual(half, ports.EncoderHiddenStates.ElementType);
        Assert.AreEqual(fixture == TorchExportFixtures.Float16 ? PortElementType.Float16 : PortElementType.Float32, ports.Timestep.ElementType);
        Assert.AreEqual(ownReport.Graphs.Single(g => g.Model == ModelNames.UNet).Parameters, report.Graphs.Single(g => g.Model == ModelNames.UNet).Parameters,
            "the export holds exactly the project's UNet parameters");

        var reference = Generate(own, VcutMode.Off).Frames;
        foreach (var mode in new[] { VcutMode.Off, VcutMode.Exact, VcutMode.Paper })
        {
            var video = Generate(imported, mode);
            var diff = reference.Zip(video.Frames, (a, b) => MathF.Abs(a - b)).Max();
            TestContext.WriteLine($"{fixture} {mode.ToString().ToLowerInvariant()}: max |frame diff| vs the project's own UNet (off) {diff:E2}");
            Assert.IsTrue(video.Frames.All(float.IsFinite), $"{mode}: non-finite frames");
            if (mode == VcutMode.Paper)
            {
                Assert.IsGreaterThan(1e-3f, diff, "paper drops the temporal cross-attentions");
                continue;
            }
            // Frames are pixel values in [-1, 1]; measured: 3.1e-6 (float32), 3.4e-3 (float16 ports and weights), bound 3× that.
            Assert.IsLessThanOrEqualTo(TorchExportFixtures.IsFloat16(fixture) ? 1e-2f : 1e-4f, diff, $"{mode} vs the project's own UNet");
            if (mode == VcutMode.Exact)
            {
                Assert.AreEqual(1, video.Statistics.ModelCalls[ModelNames.ConditioningCache], "the cache runs once per video");
            }
        }
    }
}
