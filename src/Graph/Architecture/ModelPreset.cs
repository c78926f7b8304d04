namespace Vcut.Graph.Architecture;

/// <summary>A named architecture with the pipeline defaults that suit it.</summary>
/// <param name="Name">Preset name (<c>tiny</c>, <c>small</c>, <c>svd</c>, <c>svd-xt</c>).</param>
/// <param name="Architecture">The networks.</param>
/// <param name="DefaultFrames">Frames per video.</param>
/// <param name="DefaultHeight">Video height in pixels.</param>
/// <param name="DefaultWidth">Video width in pixels.</param>
/// <param name="Description">One line for users.</param>
public sealed record ModelPreset(string Name, SvdArchitecture Architecture, int DefaultFrames, int DefaultHeight, int DefaultWidth, string Description)
{
    private static readonly ClipVisionConfig ClipVitH14 = new(1280, 32, 16, 5120, 224, 14, 1024, 1e-5f);

    private static readonly SvdArchitecture Full = new(
        new UNetConfig(8, 4, [320, 640, 1280, 1280], [5, 10, 20, 20], 2, 1024, 256),
        new VaeConfig(3, 4, [128, 256, 512, 512], 2, 0.18215f),
        ClipVitH14);

    /// <summary>Seconds on one CPU core for the whole pipeline: the tests and the embedded default.</summary>
    public static ModelPreset Tiny { get; } = new("tiny",
        new SvdArchitecture(
            new UNetConfig(8, 4, [32, 32, 32, 32], [2, 2, 2, 2], 2, 32, 32),
            new VaeConfig(3, 4, [32, 32, 32, 32], 2, 0.18215f),
            new ClipVisionConfig(64, 2, 4, 256, 224, 14, 32, 1e-5f)),
        DefaultFrames: 8, DefaultHeight: 128, DefaultWidth: 128,
        "SVD topology at toy widths (seeded weights): exercises the whole pipeline, abstract motion only");

    /// <summary>
    /// The trained embedded default: SVD's topology at widths that train on two CPU cores in about an hour, with
    /// sixteen latent channels so that an 8× downscaling VAE this small still reconstructs well (as recent 16-channel
    /// VAEs do, where SVD's 4 channels lose detail). The outermost level of the UNet and both ends of the VAE are 128
    /// wide: SVD's GroupNorm always has 32 groups, and a picture's colours only pass the last normalisation of a
    /// network when its groups hold at least four channels (with two, a flat colour normalises to ±1; see
    /// docs/model-card.md).
    /// </summary>
    public static ModelPreset Micro { get; } = new("micro",
        new SvdArchitecture(
            new UNetConfig(32, 16, [128, 64, 64, 64], [2, 1, 1, 1], 1, 64, 32),
            new VaeConfig(3, 16, [128, 64, 64, 128], 1, 1f),
            new ClipVisionConfig(64, 2, 4, 256, 224, 14, 64, 1e-5f)),
        DefaultFrames: 8, DefaultHeight: 128, DefaultWidth: 128,
        "SVD topology trained here on procedural clips with a synthetic camera move: the embedded default");

    /// <summary>SVD's exact topology with head width 64 and cross width 1024 at reduced channel widths: the CPU benchmark model.</summary>
    public static ModelPreset Small { get; } = new("small",
        new SvdArchitecture(
            new UNetConfig(8, 4, [64, 128, 256, 256], [1, 2, 4, 4], 2, 1024, 256),
            new VaeConfig(3, 4, [32, 64, 128, 128], 2, 0.18215f),
            new ClipVisionConfig(256, 4, 4, 1024, 224, 14, 1024, 1e-5f)),
        DefaultFrames: 14, DefaultHeight: 320, DefaultWidth: 576,
        "SVD topology, head width 64, cross width 1024, one fifth of the channel widths");

    /// <summary>Full-width stable-video-diffusion-img2vid (14 frames).</summary>
    public static ModelPreset Svd { get; } = new("svd", Full, 14, 576, 1024, "stable-video-diffusion-img2vid: full widths, 14 frames");

    /// <summary>Full-width stable-video-diffusion-img2vid-xt (25 frames).</summary>
    public static ModelPreset SvdXt { get; } = new("svd-xt", Full, 25, 576, 1024, "stable-video-diffusion-img2vid-xt: full widths, 25 frames");

    /// <summary>Every preset, by name.</summary>
    public static IReadOnlyList<ModelPreset> All { get; } = [Tiny, Micro, Small, Svd, SvdXt];

    /// <summary>The preset called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">No preset has that name; the message lists the known ones.</exception>
    public static ModelPreset Get(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException(
            $"Unknown preset '{name}'. Known presets: {string.Join(", ", All.Select(p => p.Name))}.", nameof(name));
}
