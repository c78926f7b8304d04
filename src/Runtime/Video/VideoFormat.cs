namespace Vcut.Runtime.Video;

/// <summary>The kinds of video file <see cref="VideoFileWriter"/> writes, chosen by the output path's extension.</summary>
public enum VideoFormat
{
    /// <summary>An animated GIF (<c>.gif</c>): written by this library, needs no external program.</summary>
    Gif,

    /// <summary>H.264 video in MP4 (<c>.mp4</c>), yuv420p: encoded by <c>ffmpeg</c>, which must be installed.</summary>
    Mp4,

    /// <summary>A folder of <c>frame_000.png</c>, <c>frame_001.png</c>…: a path without extension.</summary>
    PngFrames,
}

/// <summary>How an animated GIF spreads the error of its 256-colour palette.</summary>
public enum GifDithering
{
    /// <summary>Floyd–Steinberg error diffusion: the smoothest gradients; the noise pattern may shimmer between frames.</summary>
    FloydSteinberg,

    /// <summary>An 8×8 Bayer pattern: a fixed, stable pattern over time, coarser than error diffusion.</summary>
    Ordered,

    /// <summary>The nearest palette colour, no dithering: banding on gradients, the smallest files.</summary>
    None,
}
