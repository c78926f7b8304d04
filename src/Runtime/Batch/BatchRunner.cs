using System.Diagnostics;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Io;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Video;

namespace Vcut.Runtime.Batch;

/// <summary>Makes one video per input image of a dataset; see <see cref="RunAsync(VideoGenerator, BatchOptions, IProgress{BatchProgress}?, CancellationToken)"/>.</summary>
public static class BatchRunner
{
    /// <summary>
    /// The inputs this run's shard handles, with their output paths and seeds, in key order. Outputs mirror the keys
    /// (<c>a/cat.png</c> → <c>a/cat.gif</c>); when inputs differ only by extension (<c>cat.png</c>, <c>cat.jpg</c>) their
    /// outputs keep it (<c>cat.png.gif</c>, <c>cat.jpg.gif</c>). Decided over the whole dataset, so every shard agrees.
    /// </summary>
    /// <returns>The shard's items and the number of inputs in the whole dataset.</returns>
    public static (IReadOnlyList<BatchItem> Items, int InputCount) Plan(BatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var output = Path.GetFullPath(options.OutputFolder);
        var sources = BatchInput.List(options.Input, options.CsvColumn, excludeFolder: output);
        var extension = VideoFileWriter.ExtensionOf(options.Format);
        var stems = sources.GroupBy(s => Stem(s.Key), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var items = new List<BatchItem>();
        foreach (var source in sources)
        {
            if (!options.Shard.Contains(source.Key))
            {
                continue;
            }
            var stem = Stem(source.Key);
            var relative = (stems[stem] > 1 ? source.Key : stem) + extension;
            var path = Path.Combine(output, relative.Replace('/', Path.DirectorySeparatorChar));
            items.Add(new BatchItem(source.Key, source.ImagePath, path, StableHash.SeedFor(options.Video.Seed, source.Key)));
        }
        return (items, sources.Count);
    }

    /// <summary>
    /// Makes every input of the shard into a video with <paramref name="generator"/>, one after another:
    /// <list type="bullet">
    /// <item>An input whose video exists is skipped: a video is complete exactly when its final name exists, since every
    /// format is written under a temporary name and renamed at the end. Temporary files a killed run left for this
    /// shard's outputs are removed first. So a re-run after a crash or a cancel finishes only what is missing.</item>
    /// <item>A failing input (not an image, corrupt, too large, a write error) is recorded with its error and the run
    /// goes on; the summary lists it and its exit code is non-zero.</item>
    /// <item>A cancel stops the current video (nothing of it is left) and returns a summary marked cancelled.</item>
    /// </list>
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="InvalidOperationException">MP4 output without ffmpeg (checked before any video is made).</exception>
    /// <exception cref="FileNotFoundException">The input folder or CSV file does not exist.</exception>
    public static Task<BatchSummary> RunAsync(VideoGenerator generator, BatchOptions options,
        IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return RunAsync((image, video, steps, token) => generator.GenerateAsync(image, video, steps, token), options, progress, cancellationToken);
    }

    /// <summary>As the <see cref="VideoGenerator"/> overload, with any source of videos (another pipeline, an instrumented generator).</summary>
    /// <param name="generate">Makes one video from an image with the given options (seed included), reporting steps and honouring the token.</param>
    /// <param name="options">The batch.</param>
    /// <param name="progress">Reports after each input, and at each step of a video.</param>
    /// <param name="cancellationToken">Stops the run between or inside videos.</param>
    public static async Task<BatchSummary> RunAsync(
        Func<RgbImage, VideoGenerationOptions, IProgress<GenerationProgress>?, CancellationToken, Task<GeneratedVideo>> generate,
        BatchOptions options, IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generate);
        var clock = Stopwatch.StartNew();
        var (items, inputCount) = Plan(options);
        var writing = options.EffectiveWriting;
        // Before any video is made: a missing ffmpeg should fail once, not once per input.
        if (options.Format == VideoFormat.Mp4 && !VideoFileWriter.IsFfmpegAvailable(writing))
        {
            throw new InvalidOperationException(
                "MP4 output needs ffmpeg, but " + (writing.FfmpegPath is null ? "no 'ffmpeg' program was found on PATH" : $"the configured ffmpeg '{writing.FfmpegPath}' does not exist") +
                ". Install it (Debian/Ubuntu: apt-get install ffmpeg), or make GIFs (format gif), which need no external program.");
        }
        RemoveTemporaries(items);

        var rows = new List<BatchRowResult>(items.Count);
        var pending = items.Count(item => !IsComplete(item.OutputPath, options.Format));
        var processed = 0;
        var generatedTime = TimeSpan.Zero;
        int generated = 0, complete = 0, failed = 0;
        var cancelled = false;

        // Failures are usually instant (an unreadable file), so the estimate uses the time of generated videos only.
        TimeSpan? Remaining() => generated == 0 ? null : generatedTime / generated * Math.Max(0, pending - processed);
        void Report(BatchItem? current, GenerationProgress? step, BatchRowResult? finished) =>
            progress?.Report(new BatchProgress(rows.Count, items.Count, generated, complete, failed, clock.Elapsed, Remaining(), current, step, finished));

        Report(null, null, null);
        foreach (var item in items)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
                break;
            }
            var started = clock.Elapsed;
            BatchRowResult row;
            // Checked again here, not only in the plan: another process may have finished it meanwhile.
            if (IsComplete(item.OutputPath, options.Format))
            {
                row = new BatchRowResult(item, BatchRowStatus.AlreadyComplete, null, TimeSpan.Zero);
                complete++;
            }
            else
            {
                try
                {
                    var image = RgbImage.Load(item.ImagePath);
                    var steps = progress is null ? null : new StepProgress(step => Report(item, step, null));
                    var video = await generate(image, options.Video with { Seed = item.Seed }, steps, cancellationToken).ConfigureAwait(false);
                    VideoFileWriter.Write(video, item.OutputPath, writing, cancellationToken);
                    row = new BatchRowResult(item, BatchRowStatus.Generated, null, clock.Elapsed - started);
                    generated++;
                    generatedTime += row.Time;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    cancelled = true;
                    break;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    row = new BatchRowResult(item, BatchRowStatus.Failed, Describe(e), clock.Elapsed - started);
                    failed++;
                }
                processed++;
            }
            rows.Add(row);
            Report(null, null, row);
        }
        return new BatchSummary(rows, inputCount, items.Count, options.Shard, cancelled, clock.Elapsed);
    }

    /// <summary>Whether the output exists under its final name: a file, or for PNG frames a folder (renamed into place whole).</summary>
    public static bool IsComplete(string outputPath, VideoFormat format) =>
        format == VideoFormat.PngFrames ? Directory.Exists(outputPath) : File.Exists(outputPath);

    private static string Stem(string key)
    {
        var slash = key.LastIndexOf('/');
        var dot = key.LastIndexOf('.');
        // A leading dot is a name, not an extension.
        return dot > slash + 1 ? key[..dot] : key;
    }

    /// <summary>Removes what a killed run left under temporary names for this shard's outputs (other shards' are theirs).</summary>
    private static void RemoveTemporaries(IReadOnlyList<BatchItem> items)
    {
        foreach (var folder in items.GroupBy(i => Path.GetDirectoryName(i.OutputPath)!, StringComparer.Ordinal))
        {
            if (!Directory.Exists(folder.Key))
            {
                continue;
            }
            var names = folder.Select(i => Path.GetFileName(i.OutputPath)).ToHashSet(StringComparer.Ordinal);
            foreach (var entry in Directory.EnumerateFileSystemEntries(folder.Key, ".*"))
            {
                var name = Path.GetFileName(entry);
                var dot = name.LastIndexOf(".tmp-", StringComparison.Ordinal);
                if (dot <= 1 || !names.Contains(name[1..dot]) || !AtomicFile.IsTemporaryOf(name, name[1..dot]))
                {
                    continue;
                }
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
            }
        }
    }

    private static string Describe(Exception e) => e switch
    {
        AggregateException { InnerExceptions.Count: 1 } aggregate => Describe(aggregate.InnerExceptions[0]),
        _ => e.Message,
    };

    /// <summary>Calls back synchronously, so step reports arrive in order and before the video's result.</summary>
    private sealed class StepProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
