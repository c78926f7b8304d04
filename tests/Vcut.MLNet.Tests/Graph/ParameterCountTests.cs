using Onnx;
using Vcut.Graph.Analysis;
using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Graph;

/// <summary>Parameter counts read off structure-only full-size graphs against docs/svd.md §3 and §6.</summary>
[TestClass]
public sealed class ParameterCountTests
{
    private static readonly Lazy<ModelProto> SvdXtUNet = new(() => Build(ModelNames.UNet));

    private static ModelProto Build(string name) =>
        SvdModelBuilder.BuildGraph(name, new SvdBuildOptions(ModelPreset.SvdXt, StructureOnlyWeightSource.Instance, AttentionForm.Plain));

    private static long Count(TensorProto t) => t.Dims.Aggregate(1L, (a, d) => a * d);

    [TestMethod]
    public void SvdXtGraphsHaveTheSpecParameterCounts()
    {
        Assert.AreEqual(1_524_623_082L, GraphSummary.Of("unet", SvdXtUNet.Value).Parameters);
        Assert.AreEqual(34_163_592L + 72L, GraphSummary.Of("vae_encoder", Build(ModelNames.VaeEncoder)).Parameters);
        Assert.AreEqual(63_579_183L, GraphSummary.Of("vae_decoder", Build(ModelNames.VaeDecoder)).Parameters);
        Assert.AreEqual(632_076_800L, GraphSummary.Of("image_encoder", Build(ModelNames.ImageEncoder)).Parameters);
    }

    [TestMethod]
    public void VaeEncoderSplitsIntoEncoderAndQuantConv()
    {
        var initializers = Build(ModelNames.VaeEncoder).Graph.Initializer;
        Assert.AreEqual(34_163_592L, initializers.Where(i => i.Name.StartsWith("encoder.", StringComparison.Ordinal)).Sum(Count));
        Assert.AreEqual(72L, initializers.Where(i => i.Name.StartsWith("quant_conv.", StringComparison.Ordinal)).Sum(Count));
    }

    [TestMethod]
    [DataRow("down_blocks.0.", 22_018_884L)]
    [DataRow("down_blocks.1.", 77_829_764L)]
    [DataRow("down_blocks.2.", 294_104_324L)]
    [DataRow("down_blocks.3.", 85_232_642L)]
    [DataRow("mid_block.", 185_571_843L)]
    [DataRow("up_blocks.0.", 196_674_563L)]
    [DataRow("up_blocks.1.", 489_498_886L)]
    [DataRow("up_blocks.2.", 132_929_926L)]
    [DataRow("up_blocks.3.", 36_052_166L)]
    [DataRow("conv_in.", 23_360L)]
    [DataRow("time_embedding.", 2_050_560L)]
    [DataRow("add_embedding.", 2_624_000L)]
    [DataRow("conv_norm_out.", 640L)]
    [DataRow("conv_out.", 11_524L)]
    public void UNetStageMatchesSpec(string prefix, long expected)
    {
        var actual = SvdXtUNet.Value.Graph.Initializer.Where(i => i.Name.StartsWith(prefix, StringComparison.Ordinal)).Sum(Count);
        Assert.AreEqual(expected, actual, prefix);
    }

    [TestMethod]
    public void UNetModuleCountsMatchSpec()
    {
        var names = SvdXtUNet.Value.Graph.Initializer.Select(i => i.Name).ToList();
        Assert.HasCount(22, names.Where(n => n.EndsWith(".spatial_res_block.conv1.weight", StringComparison.Ordinal)), "ST-Res");
        Assert.HasCount(16, names.Where(n => n.EndsWith(".proj_in.weight", StringComparison.Ordinal)), "ST-Tr");
        Assert.HasCount(38, names.Where(n => n.EndsWith(".time_mixer.mix_factor", StringComparison.Ordinal)), "AlphaBlenders");
        Assert.HasCount(64, names.Where(n => n.EndsWith(".to_q.weight", StringComparison.Ordinal)), "attentions");
        Assert.HasCount(48, names.Where(n => n.EndsWith(".net.0.proj.weight", StringComparison.Ordinal)), "GEGLU feed-forwards");
    }

    [TestMethod]
    public void CrossAttentionsHoldTheSpecParameterCounts()
    {
        var initializers = SvdXtUNet.Value.Graph.Initializer;
        long Sum(string marker) => initializers.Where(i => i.Name.Contains(marker, StringComparison.Ordinal)).Sum(Count);
        Assert.AreEqual(50_352_320L, Sum(".transformer_blocks.0.attn2."), "spatial cross-attention");
        Assert.AreEqual(50_352_320L, Sum(".temporal_transformer_blocks.0.attn2."), "temporal cross-attention");
        var perAttention = initializers.Where(i => i.Name.Contains(".attn2.", StringComparison.Ordinal))
            .GroupBy(i => i.Name[..i.Name.IndexOf(".attn2.", StringComparison.Ordinal)])
            .Select(g => g.Sum(Count)).ToList();
        Assert.HasCount(32, perAttention);
        CollectionAssert.AreEquivalent(
            Enumerable.Repeat(860_480L, 10).Concat(Enumerable.Repeat(2_130_560L, 10)).Concat(Enumerable.Repeat(5_899_520L, 12)).ToList(),
            perAttention);
    }

    [TestMethod]
    public void StructureOnlyGraphsCarryNoData()
    {
        Assert.AreEqual(0L, GraphSummary.Of("unet", SvdXtUNet.Value).InitializerBytes);
    }

    [TestMethod]
    public void SvdAndSvdXtShareTheArchitectureButNotTheDefaultFrames()
    {
        Assert.AreSame(ModelPreset.Svd.Architecture, ModelPreset.SvdXt.Architecture);
        Assert.AreEqual(14, ModelPreset.Svd.DefaultFrames);
        Assert.AreEqual(25, ModelPreset.SvdXt.DefaultFrames);
    }

    [TestMethod]
    public void SmallPresetKeepsSvdTopologyHeadWidthAndCrossWidth()
    {
        var unet = ModelPreset.Small.Architecture.UNet;
        var full = ModelPreset.SvdXt.Architecture.UNet;
        Assert.AreEqual(full.CrossAttentionDim, unet.CrossAttentionDim);
        Assert.HasCount(full.BlockOutChannels.Length, unet.BlockOutChannels);
        Assert.AreEqual(full.LayersPerBlock, unet.LayersPerBlock);
        for (var i = 0; i < unet.BlockOutChannels.Length; i++)
        {
            Assert.AreEqual(64, unet.BlockOutChannels[i] / unet.NumAttentionHeads[i], $"head width at level {i}");
        }
    }
}
