namespace Vcut.Graph.Names;

/// <summary>
/// The names of the four SVD graphs (docs/svd.md); each lives in <c>{name}/model.onnx</c> of a model directory.
/// Their input and output names are in <see cref="GraphPorts"/>.
/// </summary>
public static class ModelNames
{
    /// <summary>CLIP image encoder.</summary>
    public const string ImageEncoder = "image_encoder";
    /// <summary>VAE encoder (posterior mean).</summary>
    public const string VaeEncoder = "vae_encoder";
    /// <summary>The denoising UNet.</summary>
    public const string UNet = "unet";
    /// <summary>Temporal VAE decoder.</summary>
    public const string VaeDecoder = "vae_decoder";

    /// <summary>VCUT's conditioning cache: the cross-attention constants of one video (VCUT directories only).</summary>
    public const string ConditioningCache = "conditioning_cache";

    /// <summary>The four SVD graphs, in pipeline order.</summary>
    public static IReadOnlyList<string> All { get; } = [ImageEncoder, VaeEncoder, UNet, VaeDecoder];

    /// <summary>The four SVD graphs and the conditioning cache: what a model directory in a VCUT mode holds.</summary>
    public static IReadOnlyList<string> AllWithCache { get; } = [.. All, ConditioningCache];

    /// <summary>The relative path of a graph inside a model directory.</summary>
    public static string RelativePath(string name) => $"{name}/model.onnx";
}
