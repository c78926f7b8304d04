using Vcut.Graph.Files;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Video;

namespace Vcut.Runtime.Batch;

/// <summary>What a batch does: where the images come from, where the videos go, and how each is made. Immutable; <see cref="Validate"/> checks it.</summary>
public sealed record BatchOptions
{
    /// <summary>A folder of images, or a CSV file with a column of image paths (see <see cref="BatchInput.List"/>).</summary>
    public required string Input { get; init; }

    /// <summary>The folder the videos go to, mirroring the inputs' relative paths (<c>a/cat.png</c> → <c>a/cat.gif</c>).</summary>
    public required string OutputFolder { get; init; }

    /// <summary>The video format (GIF: no external program).</summary>
    public VideoFormat Format { get; init; } = VideoFormat.Gif;

    /// <summary>
    /// The settings of every video. Its <see cref="VideoGenerationOptions.Seed"/> is the batch's base seed: each video's seed
    /// is <see cref="StableHash.SeedFor"/>(base seed, key), so a re-run reproduces the same videos.
    /// </summary>
    public VideoGenerationOptions Video { get; init; } = new();

    /// <summary>How the files are written; null = defaults at the <see cref="Video"/> options' frame rate.</summary>
    public VideoWriteOptions? Writing { get; init; }

    /// <summary>The part of the inputs this run handles (all of them by default).</summary>
    public BatchShard Shard { get; init; } = BatchShard.All;

    /// <summary>The CSV column holding image paths; null = image, path or file, or the only column.</summary>
    public string? CsvColumn { get; init; }

    /// <summary>
    /// The largest picture (width × height, read from its header) decoded; a larger one fails its row before decoding.
    /// <see cref="RgbImage.DefaultMaxPixels"/> (100 megapixels) by default.
    /// </summary>
    public long MaxImagePixels { get; init; } = RgbImage.DefaultMaxPixels;

    /// <summary>The write options in effect: <see cref="Writing"/>, or defaults at the videos' frame rate.</summary>
    public VideoWriteOptions EffectiveWriting => Writing ?? new VideoWriteOptions { Fps = Video.Fps };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and what was expected.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Input))
        {
            throw new ArgumentException("Invalid batch options: the input (a folder or CSV file) is empty.");
        }
        if (string.IsNullOrWhiteSpace(OutputFolder))
        {
            throw new ArgumentException("Invalid batch options: the output folder is empty.");
        }
        if (Path.TrimEndingDirectorySeparator(Path.GetFullPath(Input)) == Path.TrimEndingDirectorySeparator(Path.GetFullPath(OutputFolder))
            || (Directory.Exists(Input) && Directory.Exists(OutputFolder) && ConfinedPath.RealPath(Input) == ConfinedPath.RealPath(OutputFolder)))
        {
            throw new ArgumentException(
                $"Invalid batch options: the output folder '{OutputFolder}' is the input folder; every input would be excluded as output. Give a separate output folder (a subfolder of the input works).");
        }
        if (MaxImagePixels < 1)
        {
            throw new ArgumentException($"Invalid batch options: the picture limit of {MaxImagePixels} pixels must be at least 1.");
        }
        if (!Enum.IsDefined(Format))
        {
            throw new ArgumentException($"Invalid batch options: format {(int)Format} is not a {nameof(VideoFormat)} value.");
        }
        ArgumentNullException.ThrowIfNull(Video);
        Video.Validate();
        if (Video.InitialLatents is not null)
        {
            throw new ArgumentException("Invalid batch options: initial latents belong to one video; a batch draws each video's noise from its seed.");
        }
        EffectiveWriting.Validate();
        Shard.Validate();
    }
}

/// <summary>One video of a batch.</summary>
/// <param name="Key">The input's key (relative path, '/' separators).</param>
/// <param name="ImagePath">The image file.</param>
/// <param name="OutputPath">The video file (or folder of PNG frames).</param>
/// <param name="Seed">The video's seed, <see cref="StableHash.SeedFor"/>(base seed, key).</param>
public sealed record BatchItem(string Key, string ImagePath, string OutputPath, ulong Seed)
{
    /// <summary>
    /// Why this input fails without being tried, known when the batch is planned (see <see cref="BatchSource.Error"/>,
    /// or an output that would clash with another input's); null when it is made into a video.
    /// </summary>
    public string? Error { get; init; }
}

/// <summary>What happened to one input.</summary>
public enum BatchRowStatus
{
    /// <summary>Its video was generated and written.</summary>
    Generated,

    /// <summary>Its video existed already (an earlier run finished it) and was left alone.</summary>
    AlreadyComplete,

    /// <summary>It failed (not an image, corrupt, or generation or writing failed); the batch went on.</summary>
    Failed,
}

/// <summary>The outcome of one input.</summary>
/// <param name="Item">The input and its output.</param>
/// <param name="Status">What happened.</param>
/// <param name="Error">Why it failed (null otherwise).</param>
/// <param name="Time">Time spent on it.</param>
public sealed record BatchRowResult(BatchItem Item, BatchRowStatus Status, string? Error, TimeSpan Time);

/// <summary>A progress report of a batch: counts so far, the time left, and what is being worked on.</summary>
/// <param name="Done">Inputs finished (generated, already complete or failed).</param>
/// <param name="Total">Inputs in this shard.</param>
/// <param name="Generated">Videos generated so far.</param>
/// <param name="AlreadyComplete">Inputs skipped because their video existed.</param>
/// <param name="Failed">Inputs that failed.</param>
/// <param name="Elapsed">Time since the batch started.</param>
/// <param name="Remaining">Estimated time left: the mean time of the videos generated so far × the inputs still to do; null until one is generated.</param>
/// <param name="Current">The input being worked on, or null between inputs.</param>
/// <param name="Step">The current video's stage and step, when reported.</param>
/// <param name="Finished">The input that just finished, when this report is about one.</param>
public sealed record BatchProgress(int Done, int Total, int Generated, int AlreadyComplete, int Failed, TimeSpan Elapsed,
    TimeSpan? Remaining, BatchItem? Current, GenerationProgress? Step, BatchRowResult? Finished);

/// <summary>The outcome of a batch run.</summary>
/// <param name="Rows">Each input handled, in order.</param>
/// <param name="InputCount">Inputs in the whole dataset (all shards).</param>
/// <param name="ShardCount">Inputs in this shard.</param>
/// <param name="Shard">This run's shard.</param>
/// <param name="Cancelled">Whether the run stopped early on a cancel (the rest is done by a re-run).</param>
/// <param name="Elapsed">Wall time of the run.</param>
public sealed record BatchSummary(IReadOnlyList<BatchRowResult> Rows, int InputCount, int ShardCount, BatchShard Shard, bool Cancelled, TimeSpan Elapsed)
{
    /// <summary>Videos generated by this run.</summary>
    public int Generated => Rows.Count(r => r.Status == BatchRowStatus.Generated);

    /// <summary>Inputs whose video an earlier run had finished.</summary>
    public int AlreadyComplete => Rows.Count(r => r.Status == BatchRowStatus.AlreadyComplete);

    /// <summary>Inputs that failed.</summary>
    public int Failed => Rows.Count(r => r.Status == BatchRowStatus.Failed);

    /// <summary>Inputs of this shard not reached because the run was cancelled.</summary>
    public int NotReached => ShardCount - Rows.Count;

    /// <summary>The inputs that failed, with why.</summary>
    public IEnumerable<BatchRowResult> Failures => Rows.Where(r => r.Status == BatchRowStatus.Failed);

    /// <summary>The exit code for a command line: 130 when cancelled, 1 when any input failed, else 0.</summary>
    public int ExitCode => Cancelled ? 130 : Failed > 0 ? 1 : 0;
}
