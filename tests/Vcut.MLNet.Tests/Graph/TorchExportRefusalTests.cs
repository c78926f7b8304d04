using Vcut.Graph.Names;
using Google.Protobuf;
using Onnx;
using Vcut.Graph.Builders;
using Vcut.Graph.Convert;
using Vcut.Graph.Models;
using Vcut.Graph.Vcut;
using Vcut.MLNet.Tests.Convert;
using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Sessions;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>
/// Torch exports the rewriter or the importer must refuse (issue 12): an unknown attention form, cross-attention
/// counts that do not pair, a key length other than one, ports that do not fit. Nothing is written; the node is named.
/// </summary>
[TestClass]
public sealed class TorchExportRefusalTests
{
    public TestContext TestContext { get; set; } = null!;

    private static ModelProto Fixture(TempFolder temp) =>
        OnnxModelFile.Read(TorchExportFixtures.Extract(TorchExportFixtures.Float32Folded, temp.Path));

    private static InvalidDataException Refused(ModelProto unet, TempFolder temp) =>
        Assert.ThrowsExactly<InvalidDataException>(() => VcutRewriter.Rewrite(unet, VcutMode.Exact, OrtShapeProbe.For(temp.Path)));

    /// <summary>A model directory around <paramref name="unet"/> (imported), rewritten to a sibling that must not appear.</summary>
    private void AssertDirectoryRewriteWritesNothing(ModelProto unet, TempFolder temp, string expected)
    {
        var snapshot = Path.Combine(temp.Path, "snapshot");
        Vcut.Graph.Convert.DiffusersSnapshotWriter.Write(snapshot, UNetImportTests.Preset, new Vcut.Graph.Weights.SeededWeightSource(3));
        var directory = Path.Combine(temp.Path, "imported");
        var source = Path.Combine(temp.Path, "unet.onnx");
        File.WriteAllBytes(source, unet.ToByteArray());
        UNetImporter.Convert(snapshot, source, directory);
        var output = Path.Combine(temp.Path, "rewritten");
        var error = Assert.ThrowsExactly<InvalidDataException>(() =>
            ModelDirectoryRewriter.Rewrite(directory, output, VcutMode.Exact, OrtShapeProbe.For, CancellationToken.None));
        StringAssert.Contains(error.Message, expected);
        Assert.IsFalse(Directory.Exists(output), "nothing is written on refusal");
        Assert.IsFalse(Directory.EnumerateFileSystemEntries(temp.Path).Any(e => e.Contains("rewritten", StringComparison.Ordinal)), "no staging folder is left");
    }

    [TestMethod]
    public void AnUnknownAttentionFormIsRefusedNamingTheNode()
    {
        using var temp = new TempFolder();
        var unet = Fixture(temp);
        // A cross-attention whose weights are not a softmax: not a form the rewriter knows, so its scores MatMul reads
        // the context outside any recognised attention.
        var softmax = unet.Graph.Node.First(n => n.OpType == "Softmax" && n.Name.Contains("/attn2/", StringComparison.Ordinal));
        softmax.OpType = "Sigmoid";
        softmax.Attribute.Clear();
        var error = Refused(unet, temp);
        TestContext.WriteLine(error.Message);
        StringAssert.Contains(error.Message, "outside a recognised cross-attention");
        StringAssert.Matches(error.Message, new System.Text.RegularExpressions.Regex("Node '[^']*/attn2/[^']*' \\(MatMul\\)"));
        AssertDirectoryRewriteWritesNothing(unet, temp, "outside a recognised cross-attention");
    }

    [TestMethod]
    public void CrossAttentionsThatDoNotPairAreRefusedNamingThem()
    {
        using var temp = new TempFolder();
        var unet = Fixture(temp);
        // Drop one temporal cross-attention: its residual add becomes the stream itself, and the dead nodes go.
        var index = new GraphIndex(unet.Graph);
        var bias = unet.Graph.Node.First(n => n.OpType == "Add" && n.Name.Contains("temporal_transformer_blocks.0/attn2/to_out", StringComparison.Ordinal));
        var residual = index.Consumers(bias.Output[0]).Single();
        var stream = residual.Input[0] == bias.Output[0] ? residual.Input[1] : residual.Input[0];
        residual.OpType = "Identity";
        residual.Input.Clear();
        residual.Input.Add(stream);
        VcutRewriter.RemoveDeadCode(unet.Graph);
        var error = Refused(unet, temp);
        TestContext.WriteLine(error.Message);
        StringAssert.Contains(error.Message, $"Found {TorchExportFixtures.CrossAttentionsPerKind} spatial and {TorchExportFixtures.CrossAttentionsPerKind - 1} temporal");
        StringAssert.Contains(error.Message, "/Softmax");
        AssertDirectoryRewriteWritesNothing(unet, temp, "temporal cross-attentions");
    }

    [TestMethod]
    public void AKeyLengthOtherThanOneIsRefusedNamingTheNode()
    {
        using var temp = new TempFolder();
        // The 4-D matmul export reshapes keys with view(b, -1, heads, d), so it runs with any number of tokens.
        var unet = OnnxModelFile.Read(TorchExportFixtures.Extract(TorchExportFixtures.Float32Unfolded, temp.Path));
        // One cross-attention's context doubled along the token axis before its to_k and to_v: it attends over two
        // keys, where VCUT's constant does not hold.
        var toK = unet.Graph.Node.First(n => n.Name.EndsWith("/attn2/to_k/MatMul", StringComparison.Ordinal));
        var toV = unet.Graph.Node.First(n => n.Name == toK.Name.Replace("/to_k/", "/to_v/", StringComparison.Ordinal));
        var context = toK.Input[0];
        var concat = new NodeProto { Name = "/two_tokens/Concat", OpType = "Concat" };
        concat.Input.Add(context);
        concat.Input.Add(context);
        concat.Output.Add("/two_tokens/Concat_output_0");
        concat.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        unet.Graph.Node.Insert(unet.Graph.Node.IndexOf(toK), concat);
        toK.Input[0] = toV.Input[0] = concat.Output[0];
        unet.Graph.ValueInfo.Clear();
        var error = Refused(unet, temp);
        TestContext.WriteLine(error.Message);
        StringAssert.Contains(error.Message, "attends over 2 keys");
        StringAssert.Contains(error.Message, "/Softmax");
    }

    [TestMethod]
    public void AUNetWhosePortsDoNotFitIsNotImported()
    {
        using var temp = new TempFolder();
        var unet = Fixture(temp);
        unet.Graph.Input.Single(i => i.Name == "added_time_ids").Name = "time_ids";
        foreach (var node in unet.Graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                node.Input[i] = node.Input[i] == "added_time_ids" ? "time_ids" : node.Input[i];
            }
        }
        var snapshot = Path.Combine(temp.Path, "snapshot");
        Vcut.Graph.Convert.DiffusersSnapshotWriter.Write(snapshot, UNetImportTests.Preset, new Vcut.Graph.Weights.SeededWeightSource(3));
        var source = Path.Combine(temp.Path, "unet.onnx");
        File.WriteAllBytes(source, unet.ToByteArray());
        var output = Path.Combine(temp.Path, "imported");
        var error = Assert.ThrowsExactly<InvalidDataException>(() => UNetImporter.Convert(snapshot, source, output));
        TestContext.WriteLine(error.Message);
        StringAssert.Contains(error.Message, "has inputs time_ids besides sample, timestep, encoder_hidden_states, added_time_ids");
        Assert.IsFalse(Directory.Exists(output));
    }
}
