namespace Vcut.MLNet;

/// <summary>
/// The usual column names of a Vcut pipeline: <see cref="Image"/> in, <see cref="Video"/> out (what <see cref="VideoRow"/>
/// reads), and the stage columns <c>GenerateVideoByStages</c> adds, each after its prefix (<c>Video.ImageEmbedding</c>, …).
/// The catalog methods take every name explicitly, as ML.NET's do.
/// </summary>
public static class VcutColumnNames
{
    /// <summary>The input image: an <c>MLImage</c> column (as <c>LoadImages</c> makes) or a text column of image paths.</summary>
    public const string Image = "Image";

    /// <summary>The video: frames × 3 × height × width floats in [0, 1], planar RGB, frame-major.</summary>
    public const string Video = "Video";

    /// <summary>The CLIP encoder's input: 3 × 224 × 224 normalised floats.</summary>
    public const string ClipPixels = "ClipPixels";

    /// <summary>The CLIP image embedding: 1 × projection width floats.</summary>
    public const string ImageEmbedding = "ImageEmbedding";

    /// <summary>The VAE latent of the conditioning image: latent channels × H/8 × W/8 floats.</summary>
    public const string ConditioningLatent = "ConditioningLatent";

    /// <summary>What the UNet is conditioned on: the VCUT constants (or, with VCUT off, the CLIP context), flattened.</summary>
    public const string ConditioningCache = "ConditioningCache";

    /// <summary>The denoised video latents: frames × latent channels × H/8 × W/8 floats.</summary>
    public const string VideoLatents = "VideoLatents";
}
