using Onnx;
using Vcut.Graph.Analysis;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;
using Vcut.Graph.StepCache;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>The UNet split for step-level caching: the shallow graph on the full graph's features is the full UNet.</summary>
[TestClass]
public sealed class StepCacheSplitterTests
{
    private static readonly UNetConfig Tiny = ModelPreset.Tiny.Architecture.UNet;
    private const int Batch = 2, Frames = 2, Height = 5, Width = 6;

    private static ModelProto OffUNet() => UNetGraphBuilder.Build(Tiny, new SeededWeightSource(4), AttentionForm.Fused);

    private static Dictionary<string, TestTensor> Inputs(ulong seed = 10) => new()
    {
        ["sample"] = TestTensor.Of(TestData.Uniform(Batch * Frames * 8 * Height * Width, seed), Batch, Frames, 8, Height, Width),
        ["timestep"] = TestTensor.Of([-0.4f], 1),
        ["encoder_hidden_states"] = TestTensor.Of(TestData.Uniform(Batch * Tiny.CrossAttentionDim, 11, 2f), Batch, 1, Tiny.CrossAttentionDim),
        ["added_time_ids"] = TestTensor.Of([6, 127, 0.02f, 6, 127, 0.02f], Batch, 3),
    };

    private static Dictionary<string, TestTensor> With(Dictionary<string, TestTensor> inputs, TestTensor features) =>
        new(inputs) { [StepCacheSplitter.FeaturesName] = features };

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    public void ShallowGraphOnTheFullGraphsFeaturesEqualsTheUNet(int branch)
    {
        var unet = OffUNet();
        var graphs = StepCacheSplitter.Split(unet, branch);
        var inputs = Inputs();
        var reference = OrtTestRunner.Run(unet, inputs)["out_sample"].Data;
        var full = OrtTestRunner.Run(graphs.Full, inputs);
        TestData.AssertClose(reference, full["out_sample"].Data, 0f, "the full graph's out_sample is the UNet's");
        var shallow = OrtTestRunner.Run(graphs.Shallow, With(inputs, full[StepCacheSplitter.FeaturesName]));
        TestData.AssertClose(reference, shallow["out_sample"].Data, 1e-5f, $"shallow graph, branch {branch}");
        Assert.AreEqual($"up_blocks.{4 - branch}", graphs.Split.UpBlock);
        Assert.IsLessThan(graphs.Split.FullNodes, graphs.Split.ShallowNodes);
    }

    [TestMethod]
    public void ShallowGraphUsesTheCachedFeaturesNotTheSample()
    {
        var graphs = StepCacheSplitter.Split(OffUNet(), 1);
        var inputs = Inputs();
        var features = OrtTestRunner.Run(graphs.Full, inputs)[StepCacheSplitter.FeaturesName];
        var stale = OrtTestRunner.Run(graphs.Full, Inputs(seed: 99))[StepCacheSplitter.FeaturesName];
        var fresh = OrtTestRunner.Run(graphs.Shallow, With(inputs, features))["out_sample"].Data;
        var cached = OrtTestRunner.Run(graphs.Shallow, With(inputs, stale))["out_sample"].Data;
        var difference = fresh.Zip(cached, (a, b) => MathF.Abs(a - b)).Max();
        Assert.IsGreaterThan(1e-3f, difference, "features of another sample change the shallow graph's output");
    }

    [TestMethod]
    public void ShallowerBranchesCostFewerMultiplyAccumulates()
    {
        var unet = OffUNet();
        var inputs = Inputs();
        var shapes = inputs.ToDictionary(p => p.Key, p => p.Value.Shape);
        var fullMacs = CostAnalyzer.Analyze(unet, shapes).Macs;
        var previous = 0L;
        for (var branch = 1; branch <= 3; branch++)
        {
            var graphs = StepCacheSplitter.Split(unet, branch);
            var features = OrtTestRunner.Run(graphs.Full, inputs)[StepCacheSplitter.FeaturesName];
            var macs = CostAnalyzer.Analyze(graphs.Shallow, new Dictionary<string, long[]>(shapes) { [StepCacheSplitter.FeaturesName] = features.Shape }).Macs;
            Assert.IsGreaterThan(previous, macs, $"branch {branch} computes more than branch {branch - 1}");
            Assert.IsLessThan(fullMacs, macs, $"branch {branch} computes less than the whole UNet");
            previous = macs;
        }
    }

    [TestMethod]
    public void ComposesWithTheVcutRewrite()
    {
        var exact = VcutRewriter.Rewrite(OffUNet(), VcutMode.Exact);
        var graphs = StepCacheSplitter.Split(exact.UNet, 2);
        var inputs = Inputs();
        var unetInputs = inputs.Where(p => p.Key != "encoder_hidden_states").ToDictionary();
        foreach (var (name, value) in OrtTestRunner.Run(exact.Cache, new Dictionary<string, TestTensor> { ["encoder_hidden_states"] = inputs["encoder_hidden_states"] }))
        {
            unetInputs[name] = value;
        }
        var reference = OrtTestRunner.Run(OffUNet(), inputs)["out_sample"].Data;
        var full = OrtTestRunner.Run(graphs.Full, unetInputs);
        var shallow = OrtTestRunner.Run(graphs.Shallow, With(unetInputs, full[StepCacheSplitter.FeaturesName]))["out_sample"].Data;
        TestData.AssertClose(reference, shallow, 1e-4f, "VCUT exact, then the shallow graph, against the original UNet");
        CollectionAssert.IsSubsetOf(graphs.Full.Graph.Input.Select(i => i.Name).ToList(), graphs.Shallow.Graph.Input.Select(i => i.Name).ToList(),
            "the shallow graph keeps every input of the full one, so both bind the same way");
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(4)]
    [DataRow(-1)]
    public void BranchOutsideTheUNetsLevelsIsRefused(int branch)
    {
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => StepCacheSplitter.Split(OffUNet(), branch));
        StringAssert.Contains(error.Message, "1..3");
        StringAssert.Contains(error.Message, "4 resolution levels");
    }

    [TestMethod]
    public void GraphWithoutUpBlocksIsRefused()
    {
        var encoder = ImageEncoderGraphBuilder.Build(ModelPreset.Tiny.Architecture.ImageEncoder, new SeededWeightSource(1), AttentionForm.Fused);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => StepCacheSplitter.Split(encoder, 1));
        StringAssert.Contains(error.Message, "up_blocks");
    }

    [TestMethod]
    public void SplittingTwiceIsRefused()
    {
        var graphs = StepCacheSplitter.Split(OffUNet(), 1);
        var error = Assert.ThrowsExactly<InvalidDataException>(() => StepCacheSplitter.Split(graphs.Full, 1));
        StringAssert.Contains(error.Message, StepCacheSplitter.FeaturesName);
    }
}
