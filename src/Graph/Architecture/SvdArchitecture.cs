namespace Vcut.Graph.Architecture;

/// <summary>
/// The configuration of <c>UNetSpatioTemporalConditionModel</c> (diffusers' config.json names in brackets).
/// </summary>
/// <param name="InChannels">Input channels: noisy latent + conditioning latent (<c>in_channels</c>, 8).</param>
/// <param name="OutChannels">Output channels (<c>out_channels</c>, 4).</param>
/// <param name="BlockOutChannels">Width per level (<c>block_out_channels</c>).</param>
/// <param name="NumAttentionHeads">Heads per level (<c>num_attention_heads</c>).</param>
/// <param name="LayersPerBlock">Resnets per down block; up blocks have one more (<c>layers_per_block</c>).</param>
/// <param name="CrossAttentionDim">Width of the CLIP image embedding token (<c>cross_attention_dim</c>).</param>
/// <param name="AdditionTimeEmbedDim">Sinusoid width of each added time id (<c>addition_time_embed_dim</c>).</param>
public sealed record UNetConfig(
    int InChannels,
    int OutChannels,
    int[] BlockOutChannels,
    int[] NumAttentionHeads,
    int LayersPerBlock,
    int CrossAttentionDim,
    int AdditionTimeEmbedDim)
{
    /// <summary>GroupNorm groups everywhere in SVD.</summary>
    public const int NormGroups = 32;

    /// <summary>The most resolution levels a UNet or VAE may have (SVD has 4).</summary>
    public const int MaxLevels = 8;

    /// <summary>Width of the time embedding: 4 × the first block width.</summary>
    public int TimeEmbedDim => 4 * BlockOutChannels[0];

    /// <summary>Input width of <c>add_embedding</c>: three added ids (<c>projection_class_embeddings_input_dim</c>).</summary>
    public int ProjectionClassEmbeddingsInputDim => 3 * AdditionTimeEmbedDim;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent field.</summary>
    public void Validate()
    {
        Require(InChannels > 0 && OutChannels > 0, "in_channels and out_channels must be positive");
        if (BlockOutChannels is not { Length: >= 2 and <= MaxLevels })
        {
            throw new ArgumentException($"Invalid SVD architecture: block_out_channels needs 2 to {MaxLevels} levels, got {BlockOutChannels?.Length ?? 0}.");
        }
        if (NumAttentionHeads is null || NumAttentionHeads.Length != BlockOutChannels.Length)
        {
            throw new ArgumentException(
                $"Invalid SVD architecture: num_attention_heads needs one entry per level ({BlockOutChannels.Length}), got {NumAttentionHeads?.Length ?? 0}.");
        }
        for (var i = 0; i < BlockOutChannels.Length; i++)
        {
            var width = BlockOutChannels[i];
            Require(width > 0 && width % NormGroups == 0,
                $"block_out_channels[{i}] = {width} must be a positive multiple of {NormGroups} (GroupNorm groups)");
            Require(width % 2 == 0, $"block_out_channels[{i}] = {width} must be even (sinusoidal frame embedding)");
            Require(NumAttentionHeads[i] > 0 && width % NumAttentionHeads[i] == 0,
                $"num_attention_heads[{i}] = {NumAttentionHeads[i]} must divide block_out_channels[{i}] = {width}");
        }
        Require(LayersPerBlock >= 1, $"layers_per_block = {LayersPerBlock} must be at least 1");
        Require(CrossAttentionDim > 0, $"cross_attention_dim = {CrossAttentionDim} must be positive");
        Require(AdditionTimeEmbedDim > 0 && AdditionTimeEmbedDim % 2 == 0,
            $"addition_time_embed_dim = {AdditionTimeEmbedDim} must be positive and even");
    }

    internal static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Invalid SVD architecture: {message}.");
        }
    }
}

/// <summary>The configuration of <c>AutoencoderKLTemporalDecoder</c>.</summary>
/// <param name="InChannels">Image channels (3).</param>
/// <param name="LatentChannels">Latent channels (4).</param>
/// <param name="BlockOutChannels">Width per level (128, 256, 512, 512 in SVD).</param>
/// <param name="LayersPerBlock">Resnets per encoder level; the decoder has one more (2).</param>
/// <param name="ScalingFactor">Latent scaling factor (0.18215).</param>
public sealed record VaeConfig(int InChannels, int LatentChannels, int[] BlockOutChannels, int LayersPerBlock, float ScalingFactor)
{
    /// <summary>Spatial reduction between image and latent.</summary>
    public int DownscaleFactor => 1 << (BlockOutChannels.Length - 1);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent field.</summary>
    public void Validate()
    {
        UNetConfig.Require(InChannels > 0 && LatentChannels > 0, "VAE in_channels and latent_channels must be positive");
        if (BlockOutChannels is not { Length: >= 1 and <= UNetConfig.MaxLevels })
        {
            throw new ArgumentException($"Invalid SVD architecture: VAE block_out_channels needs 1 to {UNetConfig.MaxLevels} levels, got {BlockOutChannels?.Length ?? 0}.");
        }
        for (var i = 0; i < BlockOutChannels.Length; i++)
        {
            UNetConfig.Require(BlockOutChannels[i] > 0 && BlockOutChannels[i] % UNetConfig.NormGroups == 0,
                $"VAE block_out_channels[{i}] = {BlockOutChannels[i]} must be a positive multiple of {UNetConfig.NormGroups} (GroupNorm groups)");
        }
        UNetConfig.Require(LayersPerBlock >= 1, $"VAE layers_per_block = {LayersPerBlock} must be at least 1");
        UNetConfig.Require(float.IsFinite(ScalingFactor) && ScalingFactor > 0, $"VAE scaling_factor = {ScalingFactor} must be a positive finite number");
    }
}

/// <summary>The configuration of transformers' <c>CLIPVisionModelWithProjection</c>.</summary>
/// <param name="HiddenSize">Token width (1280 for ViT-H/14).</param>
/// <param name="NumHiddenLayers">Encoder layers (32).</param>
/// <param name="NumAttentionHeads">Heads (16).</param>
/// <param name="IntermediateSize">MLP width (5120).</param>
/// <param name="ImageSize">Input side in pixels (224).</param>
/// <param name="PatchSize">Patch side in pixels (14).</param>
/// <param name="ProjectionDim">Width of <c>image_embeds</c> (1024).</param>
/// <param name="LayerNormEps">LayerNorm epsilon (1e-5).</param>
public sealed record ClipVisionConfig(
    int HiddenSize, int NumHiddenLayers, int NumAttentionHeads, int IntermediateSize,
    int ImageSize, int PatchSize, int ProjectionDim, float LayerNormEps)
{
    /// <summary>Patches per image plus the class token.</summary>
    public int NumPositions => (ImageSize / PatchSize) * (ImageSize / PatchSize) + 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistent field.</summary>
    public void Validate()
    {
        UNetConfig.Require(HiddenSize > 0 && NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0,
            $"CLIP num_attention_heads = {NumAttentionHeads} must divide hidden_size = {HiddenSize}");
        UNetConfig.Require(NumHiddenLayers >= 1, $"CLIP num_hidden_layers = {NumHiddenLayers} must be at least 1");
        UNetConfig.Require(IntermediateSize > 0 && ProjectionDim > 0, "CLIP intermediate_size and projection_dim must be positive");
        UNetConfig.Require(PatchSize > 0 && ImageSize > 0 && ImageSize % PatchSize == 0,
            $"CLIP image_size = {ImageSize} must be a multiple of patch_size = {PatchSize}");
        UNetConfig.Require(float.IsFinite(LayerNormEps) && LayerNormEps > 0, $"CLIP layer_norm_eps = {LayerNormEps} must be a positive finite number");
    }
}

/// <summary>The three networks of SVD.</summary>
/// <param name="UNet">The denoiser.</param>
/// <param name="Vae">The autoencoder with its temporal decoder.</param>
/// <param name="ImageEncoder">The CLIP vision tower.</param>
public sealed record SvdArchitecture(
    [property: System.Text.Json.Serialization.JsonPropertyName("unet")] UNetConfig UNet,
    VaeConfig Vae,
    ClipVisionConfig ImageEncoder)
{
    /// <summary>Validates every part and their agreement.</summary>
    public void Validate()
    {
        UNet.Validate();
        Vae.Validate();
        ImageEncoder.Validate();
        UNetConfig.Require(ImageEncoder.ProjectionDim == UNet.CrossAttentionDim,
            $"the image encoder's projection_dim ({ImageEncoder.ProjectionDim}) must equal the UNet's cross_attention_dim ({UNet.CrossAttentionDim})");
        UNetConfig.Require(UNet.InChannels == 2 * Vae.LatentChannels,
            $"the UNet's in_channels ({UNet.InChannels}) must be twice the VAE's latent_channels ({Vae.LatentChannels})");
        UNetConfig.Require(UNet.OutChannels == Vae.LatentChannels,
            $"the UNet's out_channels ({UNet.OutChannels}) must equal the VAE's latent_channels ({Vae.LatentChannels})");
    }
}
