using System.Diagnostics;
using Vcut.Graph.Files;
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
    /// (<c>a/cat.png</c> → <c>a/cat.gif</c>); an output that would be another input's too, or a folder the other needs
    /// (<c>cat.png</c> and <c>cat.jpg</c>; <c>cat.png</c> and <c>cat.png.jpg</c>; with PNG frames <c>cat.png</c> and
    /// <c>cat/x.png</c>), keeps the extension of its input instead (<c>cat.png.gif</c>, <c>cat.jpg.gif</c>,
    /// <c>cat.png.jpg.gif</c>), repeated until no two inputs share an output. An input whose output still clashes (names
    /// that differ only in case, on a file system that ignores case) gets an <see cref="BatchItem.Error"/> naming the
    /// other input, as does one the listing refused (<see cref="BatchSource.Error"/>). Decided over the whole dataset, so
    /// every shard agrees.
    /// </summary>
    /// <returns>The shard's items and the number of inputs in the whole dataset.</returns>
    public static (IReadOnlyList<BatchItem> Items, int InputCount) Plan(BatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var output = Path.GetFullPath(options.OutputFolder);
        var sources = BatchInput.List(options.Input, options.CsvColumn, excludeFolder: output);
        var names = OutputNames(sources, VideoFileWriter.ExtensionOf(options.Format), out var clashes);
        var inputFolder = Directory.Exists(options.Input) ? Path.GetFullPath(options.Input) : null;
        var items = new List<BatchItem>();
        for (var i = 0; i < sources.Count; i++)
        {
            var source = sources[i];
            if (!options.Shard.Contains(source.Key))
            {
                continue;
            }
            var path = Path.GetFullPath(Path.Combine(output, names[i].Replace('/', Path.DirectorySeparatorChar)));
            var error = source.Error ?? clashes[i];
            if (error is null && (path == output || !ConfinedPath.IsInside(path, output)))
            {
                error = $"its video '{path}' would not lie inside the output folder '{output}'";
            }
            if (error is null && inputFolder is not null && !ConfinedPath.IsInside(output, inputFolder) && ConfinedPath.IsInside(path, inputFolder))
            {
                error = $"its video '{path}' would lie inside the input folder, where a later run would take it for an input; " +
                    "give an output folder outside the input (or inside it, which the listing skips)";
            }
            items.Add(new BatchItem(source.Key, source.ImagePath, path, StableHash.SeedFor(options.Video.Seed, source.Key)) { Error = error });
        }
        return (items, sources.Count);
    }

    // Names compared as the file system compares them: Windows and macOS ignore case by default.
    private static StringComparer OutputComparer =>
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    /// <summary>
    /// Each input's output, relative to the output folder with '/' separators: its key's stem plus the extension, or the
    /// whole key plus the extension when the stem's output would be another input's too or a folder of another's.
    /// </summary>
    private static string[] OutputNames(IReadOnlyList<BatchSource> sources, string extension, out string?[] clashes)
    {
        var count = sources.Count;
        var comparer = OutputComparer;
        var stems = sources.GroupBy(s => Stem(s.Key), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var keepExtension = sources.Select(s => stems[Stem(s.Key)] > 1).ToArray();
        var names = new string[count];
        var changed = true;
        while (changed)
        {
            changed = false;
            for (var i = 0; i < count; i++)
            {
                names[i] = (keepExtension[i] ? sources[i].Key : Stem(sources[i].Key)) + extension;
            }
            foreach (var group in Enumerable.Range(0, count).Where(i => sources[i].Error is null).GroupBy(i => names[i], comparer).Where(g => g.Count() > 1))
            {
                foreach (var i in group.Where(i => !keepExtension[i]))
                {
                    keepExtension[i] = changed = true;
                }
            }
            var folders = FoldersOf(names, sources, comparer);
            for (var i = 0; i < count; i++)
            {
                if (sources[i].Error is null && !keepExtension[i] && folders.ContainsKey(names[i]))
                {
                    keepExtension[i] = changed = true;
                }
            }
        }
        // What still clashes: names that differ in case only (where case is ignored), or a video where another's folder goes.
        clashes = new string?[count];
        var byName = Enumerable.Range(0, count).Where(i => sources[i].Error is null).GroupBy(i => names[i], comparer).Where(g => g.Count() > 1);
        foreach (var group in byName)
        {
            foreach (var i in group)
            {
                clashes[i] = $"its video '{names[i]}' would also be the video of " +
                    string.Join(", ", group.Where(j => j != i).Select(j => $"'{sources[j].Key}'")) + "; rename one of them";
            }
        }
        var finalFolders = FoldersOf(names, sources, comparer);
        for (var i = 0; i < count; i++)
        {
            if (clashes[i] is null && sources[i].Error is null && finalFolders.TryGetValue(names[i], out var other))
            {
                clashes[i] = $"its video '{names[i]}' would stand where the folder of '{sources[other].Key}''s video goes; rename one of them";
            }
        }
        return names;
    }

    /// <summary>Every folder the outputs need (each parent of a name), with one input that needs it.</summary>
    private static Dictionary<string, int> FoldersOf(string[] names, IReadOnlyList<BatchSource> sources, StringComparer comparer)
    {
        var folders = new Dictionary<string, int>(comparer);
        for (var i = 0; i < names.Length; i++)
        {
            if (sources[i].Error is not null)
            {
                continue;
            }
            for (var slash = names[i].IndexOf('/', StringComparison.Ordinal); slash > 0; slash = names[i].IndexOf('/', slash + 1))
            {
                folders.TryAdd(names[i][..slash], i);
            }
        }
        return folders;
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
    /// <exception cref="IOException">The output folder cannot be created or written (checked before any video is made).</exception>
    /// <exception cref="InsufficientMemoryException">The videos' estimated memory exceeds the budget (checked before any video is made).</exception>
    public static Task<BatchSummary> RunAsync(VideoGenerator generator, BatchOptions options,
        IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // The options' own cost first, once: too many frames or too large a size would fail every input alike.
        generator.EnsureFits(options.Video);
        return RunCoreAsync((image, video, steps, token) => generator.GenerateAsync(image, video, steps, token),
            (video, width, height) => generator.EnsureFits(video, width, height), options, progress, cancellationToken);
    }

    /// <summary>As the <see cref="VideoGenerator"/> overload, with any source of videos (another pipeline, an instrumented generator).</summary>
    /// <param name="generate">Makes one video from an image with the given options (seed included), reporting steps and honouring the token.</param>
    /// <param name="options">The batch.</param>
    /// <param name="progress">Reports after each input, and at each step of a video.</param>
    /// <param name="cancellationToken">Stops the run between or inside videos.</param>
    public static Task<BatchSummary> RunAsync(
        Func<RgbImage, VideoGenerationOptions, IProgress<GenerationProgress>?, CancellationToken, Task<GeneratedVideo>> generate,
        BatchOptions options, IProgress<BatchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generate);
        return RunCoreAsync(generate, null, options, progress, cancellationToken);
    }

    private static async Task<BatchSummary> RunCoreAsync(
        Func<RgbImage, VideoGenerationOptions, IProgress<GenerationProgress>?, CancellationToken, Task<GeneratedVideo>> generate,
        Action<VideoGenerationOptions, int, int>? ensureFits,
        BatchOptions options, IProgress<BatchProgress>? progress, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var (items, inputCount) = Plan(options);
        var writing = options.EffectiveWriting;
        EnsureCanWrite(options);
        var output = Path.GetFullPath(options.OutputFolder);
        try
        {
            Directory.CreateDirectory(output);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"The output folder '{output}' cannot be created: {e.Message}", e);
        }
        RemoveTemporaries(items);

        var rows = new List<BatchRowResult>(items.Count);
        var pending = items.Count(item => item.Error is null && !IsComplete(item.OutputPath, options.Format));
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
            if (item.Error is { } known)
            {
                // Known from the plan (a clash, a link out of the input, a name that cannot be opened): nothing to try.
                row = new BatchRowResult(item, BatchRowStatus.Failed, known, TimeSpan.Zero);
                failed++;
            }
            // Checked again here, not only in the plan: another process may have finished it meanwhile.
            else if (IsComplete(item.OutputPath, options.Format))
            {
                row = new BatchRowResult(item, BatchRowStatus.AlreadyComplete, null, TimeSpan.Zero);
                complete++;
            }
            else
            {
                try
                {
                    var video = options.Video with { Seed = item.Seed };
                    // The picture's size from its header, then the memory with it, before anything is decoded.
                    var (width, height) = RgbImage.ReadSize(item.ImagePath, options.MaxImagePixels);
                    ensureFits?.Invoke(video, width, height);
                    var image = RgbImage.Load(item.ImagePath, options.MaxImagePixels);
                    var steps = progress is null ? null : new StepProgress(step => Report(item, step, null));
                    var made = await generate(image, video, steps, cancellationToken).ConfigureAwait(false);
                    VideoFileWriter.Write(made, item.OutputPath, options.Format, writing, cancellationToken);
                    row = new BatchRowResult(item, BatchRowStatus.Generated, null, clock.Elapsed - started);
                    generated++;
                    generatedTime += row.Time;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    cancelled = true;
                    break;
                }
                catch (Exception e)
                {
                    // Out of memory included: the allocation that failed was this input's, and the next may fit.
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

    /// <summary>
    /// Checks what would otherwise fail every input alike, before any model is opened or video made: valid options,
    /// ffmpeg for MP4, and an output folder that can be written (or created: the nearest existing folder above it gets
    /// a temporary file, removed at once). <see cref="RunAsync(VideoGenerator, BatchOptions, IProgress{BatchProgress}?, CancellationToken)"/>
    /// checks it too.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="InvalidOperationException">MP4 output without ffmpeg.</exception>
    /// <exception cref="IOException">A file stands where the output folder goes, or it cannot be written.</exception>
    public static void EnsureCanWrite(BatchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var writing = options.EffectiveWriting;
        if (options.Format == VideoFormat.Mp4 && !VideoFileWriter.IsFfmpegAvailable(writing))
        {
            throw new InvalidOperationException(
                "MP4 output needs ffmpeg, but " + (writing.FfmpegPath is null ? "no 'ffmpeg' program was found on PATH" : $"the configured ffmpeg '{writing.FfmpegPath}' does not exist") +
                ". Install it (Debian/Ubuntu: apt-get install ffmpeg), or make GIFs (format gif), which need no external program.");
        }
        var output = Path.GetFullPath(options.OutputFolder);
        AtomicFile.EnsureWritable(output, output);
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
        InsufficientMemoryException => e.Message,
        OutOfMemoryException => $"ran out of memory ({e.Message}); use a smaller picture, fewer frames or a smaller size, or give the process more memory",
        _ => e.Message,
    };

    /// <summary>Calls back synchronously, so step reports arrive in order and before the video's result.</summary>
    private sealed class StepProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
