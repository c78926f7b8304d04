using Vcut.Graph.Names;
using Google.Protobuf;
using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Vcut;
using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Sessions;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>The rewriter on UNets exported by torch.onnx.export (issue 12), with shapes from an ONNX Runtime probe.</summary>
[TestClass]
public sealed class TorchExportRewriteTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(TorchExportFixtures.Float32Folded)]
    [DataRow(TorchExportFixtures.Float32Unfolded)]
    [DataRow(TorchExportFixtures.Float16)]
    [DataRow(TorchExportFixtures.TensorRtLayout)]
    public void FindsEveryCrossAttentionAndExactEqualsOff(string fixture)
    {
        using var temp = new TempFolder();
        var path = TorchExportFixtures.Extract(fixture, temp.Path);
        var folder = Path.GetDirectoryName(path)!;
        var inputs = TorchExportFixtures.Inputs();
        float[] off;
        using (var original = TorchExportFixtures.Session(File.ReadAllBytes(path), folder))
        {
            off = TorchExportFixtures.Run(original, inputs)[TorchExportFixtures.OutputName(fixture)];
        }

        var exact = VcutRewriter.Rewrite(OnnxModelFile.Read(path), VcutMode.Exact, OrtShapeProbe.For(folder));
        TestContext.WriteLine($"{fixture}: {exact.Report}");
        var found = exact.Report.Found;
        Assert.AreEqual(2 * TorchExportFixtures.CrossAttentionsPerKind, found.Count, exact.Report.ToString());
        Assert.AreEqual(TorchExportFixtures.CrossAttentionsPerKind, found.Count(f => f.Kind == CrossAttentionKind.Spatial));
        Assert.AreEqual(TorchExportFixtures.CrossAttentionsPerKind, found.Count(f => f.Kind == CrossAttentionKind.Temporal));
        Assert.IsTrue(found.All(f => f.Channels == 32 && f.KeyLength == 1 && f.Form == "plain"), exact.Report.ToString());

        var exactOutput = RunRewritten(exact, inputs, folder, fixture);
        var relative = TorchExportFixtures.MaxRelative(exactOutput, off);
        TestContext.WriteLine($"exact vs off: max relative difference {relative:E2}");
        // float16: the cache computes to_out(to_v(c)) with the same float16 weights, but in its own kernels.
        Assert.IsTrue(relative <= (TorchExportFixtures.IsFloat16(fixture) ? 4e-3 : 1e-4), $"exact differs from off by {relative:E2} (relative)");

        var paper = VcutRewriter.Rewrite(OnnxModelFile.Read(path), VcutMode.Paper, OrtShapeProbe.For(folder));
        var paperOutput = RunRewritten(paper, inputs, folder, fixture);
        var paperRelative = TorchExportFixtures.MaxRelative(paperOutput, off);
        TestContext.WriteLine($"paper vs off: max relative difference {paperRelative:E2}");
        Assert.IsTrue(paperRelative > 1e-3, "paper mode drops the temporal cross-attentions, so it differs from off");
        Assert.AreEqual(TorchExportFixtures.CrossAttentionsPerKind, paper.Cache.Graph.Output.Count, "paper caches the spatial ones only");
    }

    [TestMethod]
    public void TheBuiltInShapeInferenceRefusesATorchExportNamingTheNodeAndTheWayOut()
    {
        using var temp = new TempFolder();
        var path = TorchExportFixtures.Extract(TorchExportFixtures.Float32Folded, temp.Path);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => VcutRewriter.Rewrite(OnnxModelFile.Read(path), VcutMode.Exact));
        TestContext.WriteLine(error.Message);
        StringAssert.Contains(error.Message, "(node '");
        StringAssert.Contains(error.Message, "ONNX Runtime probe");
    }

    internal static float[] RunRewritten(RewriteResult result, Dictionary<string, (float[] Data, long[] Shape)> inputs, string folder, string fixture)
    {
        Dictionary<string, float[]> constants;
        using (var cache = TorchExportFixtures.Session(result.Cache.ToByteArray(), folder))
        {
            constants = TorchExportFixtures.Run(cache, inputs);
        }
        var unetInputs = new Dictionary<string, (float[] Data, long[] Shape)>(inputs);
        foreach (var (name, values) in constants)
        {
            unetInputs[name] = (values, [2, values.Length / 2]);
        }
        using var unet = TorchExportFixtures.Session(result.UNet.ToByteArray(), folder);
        Assert.IsFalse(unet.InputMetadata.ContainsKey("encoder_hidden_states"));
        return TorchExportFixtures.Run(unet, unetInputs)[TorchExportFixtures.OutputName(fixture)];
    }
}
