namespace Vcut.Runtime.Video;

/// <summary>How <see cref="VideoFileWriter"/> writes a video; immutable, checked by <see cref="Validate"/>.</summary>
public sealed record VideoWriteOptions
{
    /// <summary>Playback frames per second (7, SVD's default conditioning); GIF frame delays are whole 1/100 s.</summary>
    public double Fps { get; init; } = 7;

    /// <summary>The GIF palette's dithering (Floyd–Steinberg).</summary>
    public GifDithering GifDithering { get; init; } = GifDithering.FloydSteinberg;

    /// <summary>The <c>ffmpeg</c> executable for MP4; null = the first <c>ffmpeg</c> on <c>PATH</c>.</summary>
    public string? FfmpegPath { get; init; }

    /// <summary>libx264's constant rate factor for MP4, 0 (lossless) to 51 (worst); 18 is visually near lossless.</summary>
    public int Mp4Crf { get; init; } = 18;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and what was expected.</summary>
    public void Validate()
    {
        if (!(double.IsFinite(Fps) && Fps > 0 && Fps <= 1000))
        {
            throw new ArgumentException($"Invalid video write options: fps = {Fps} must be a number in (0, 1000].");
        }
        if (!Enum.IsDefined(GifDithering))
        {
            throw new ArgumentException($"Invalid video write options: GIF dithering {(int)GifDithering} is not a {nameof(Video.GifDithering)} value.");
        }
        if (Mp4Crf is < 0 or > 51)
        {
            throw new ArgumentException($"Invalid video write options: MP4 CRF = {Mp4Crf} must be in [0, 51].");
        }
        if (FfmpegPath is not null && string.IsNullOrWhiteSpace(FfmpegPath))
        {
            throw new ArgumentException("Invalid video write options: the ffmpeg path is empty; leave it null to search PATH.");
        }
    }
}
