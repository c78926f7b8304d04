using System.Globalization;
using Vcut.Graph.Models;
using Vcut.Graph.Vcut;

namespace Vcut.Runtime.Pipeline;

/// <summary>
/// The resolved shape of one video: what a model directory's manifest and a set of options give, before any session
/// is opened. The one place the frames, sizes, latent sizes, guidance rows and conditioning-cache width are worked
/// out; <see cref="VideoGenerator"/> and the ML.NET stages both resolve through it (docs/svd.md, "Shapes").
/// </summary>
/// <param name="Mode">The VCUT mode the UNet runs in.</param>
/// <param name="Frames">Frames per video.</param>
/// <param name="Height">Video height in pixels.</param>
/// <param name="Width">Video width in pixels.</param>
/// <param name="LatentChannels">Latent channels (4 for SVD).</param>
/// <param name="LatentHeight">Height / the VAE's downscale factor.</param>
/// <param name="LatentWidth">Width / the VAE's downscale factor.</param>
/// <param name="ProjectionDim">Width of the CLIP image embedding.</param>
/// <param name="GuidanceRows">UNet batch rows per video: 2 with classifier-free guidance, else 1.</param>
/// <param name="CacheWidth">Values of one video's conditioning cache: rows × (the embedding, or the cached constants' widths).</param>
public sealed record VideoShape(
    VcutMode Mode,
    int Frames,
    int Height,
    int Width,
    int LatentChannels,
    int LatentHeight,
    int LatentWidth,
    int ProjectionDim,
    int GuidanceRows,
    int CacheWidth)
{
    /// <summary>
    /// Resolves the shape of a video of <paramref name="options"/> on the model directory described by
    /// <paramref name="manifest"/>; null sizes take the manifest's defaults, a null <paramref name="vcut"/> the
    /// directory's own mode. <paramref name="options"/> must be valid (<see cref="VideoGenerationOptions.Validate"/>).
    /// </summary>
    /// <param name="manifest">The model directory's manifest.</param>
    /// <param name="options">The video's options.</param>
    /// <param name="vcut">The VCUT mode asked for; null keeps the directory's.</param>
    /// <param name="directory">The directory, named in error messages.</param>
    /// <exception cref="ArgumentException">A size the VAE cannot take, or a video too large for one .NET array.</exception>
    /// <exception cref="InvalidOperationException">A VCUT mode the directory cannot give (see <see cref="ModelManifest.ModeToRun"/>).</exception>
    public static VideoShape Resolve(ModelManifest manifest, VideoGenerationOptions options, VcutMode? vcut = null, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(options);
        var mode = manifest.ModeToRun(vcut, directory ?? "(unnamed)");
        var frames = options.Frames ?? manifest.DefaultFrames;
        var height = options.Height ?? manifest.DefaultHeight;
        var width = options.Width ?? manifest.DefaultWidth;
        var vae = manifest.Architecture.Vae;
        var factor = vae.DownscaleFactor;
        if (height % factor != 0 || width % factor != 0)
        {
            throw new ArgumentException($"Invalid video options: {width}×{height} must be multiples of {factor}, the VAE's downscale factor.");
        }
        var channels = vae.LatentChannels;
        var rows = options.GuidanceRows;
        // The largest buffers: the frames (F·3·H·W) and the UNet's input (rows·F·2C·h·w); each must fit one .NET array.
        var latentPlane = (double)(height / factor) * (width / factor);
        var largest = Math.Max((double)frames * 3 * height * width, (double)rows * frames * 2 * channels * latentPlane);
        if (largest > Array.MaxLength)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"Invalid video options: {frames} frames at {width}×{height} need {largest:0.###e0} values in one buffer, more than .NET's array limit of {Array.MaxLength:N0}; use fewer frames or a smaller size."));
        }
        var projection = manifest.Architecture.ImageEncoder.ProjectionDim;
        var perRow = mode == VcutMode.Off
            ? projection
            : CrossAttentionSite.Cached(manifest.Architecture.UNet, mode).Sum(site => site.Channels);
        return new VideoShape(mode, frames, height, width, channels, height / factor, width / factor, projection, rows, rows * perRow);
    }

    /// <summary>Frames × 3 × height × width: the decoded video.</summary>
    public int[] VideoDimensions => [Frames, 3, Height, Width];

    /// <summary>Frames × latent channels × latent height × latent width: the denoised latents.</summary>
    public int[] VideoLatentDimensions => [Frames, LatentChannels, LatentHeight, LatentWidth];

    /// <summary>Latent channels × latent height × latent width: the conditioning image's latent.</summary>
    public int[] ConditioningLatentDimensions => [LatentChannels, LatentHeight, LatentWidth];
}
