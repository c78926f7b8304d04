using System.Text;
using Vcut.Graph.Files;

namespace Vcut.Runtime.Batch;

/// <summary>One input of a batch: its key (a relative path with <c>/</c> separators) and the image file it names.</summary>
/// <param name="Key">Names the input: its path relative to the input folder (or the CSV's folder); the output and the seed derive from it.</param>
/// <param name="ImagePath">The full path of the image file.</param>
internal sealed record BatchSource(string Key, string ImagePath)
{
    /// <summary>
    /// Why the input cannot be made into a video, known from the listing alone (a link out of the input folder, a name
    /// that is not UTF-8, a key shared with another file); null when it can be tried. Such an input fails its row.
    /// </summary>
    public string? Error { get; init; }

    /// <summary>Whether the file lies outside the folder its key is relative to (a CSV row naming a file elsewhere).</summary>
    internal bool Outside { get; init; }
}

/// <summary>Lists a batch's inputs from a folder or from a CSV file with a column of image paths.</summary>
internal static class BatchInput
{
    /// <summary>The column names looked for, in order, when a CSV file's column is not named.</summary>
    public static IReadOnlyList<string> DefaultCsvColumns { get; } = ["image", "path", "file"];

    /// <summary>
    /// The inputs named by <paramref name="input"/>, sorted by key (ordinal), each key once.
    /// <list type="bullet">
    /// <item>A folder: every file in it and its subfolders, except hidden ones (a name starting with '.') and the
    /// contents of <paramref name="excludeFolder"/> (the output, when it lies inside the input). The file's content is not
    /// looked at here: a file that is not an image fails its own row when the batch runs. Links are not followed out of
    /// the folder: a link to a file inside it is an input of its own, a link to a folder inside it is skipped (that folder
    /// is listed under its own path, so a link loop adds nothing), and a link that leads outside, or to nothing, is an
    /// input with an <see cref="BatchSource.Error"/>. So is a name that is not valid UTF-8 (.NET cannot open it), each
    /// under a key of its own.</item>
    /// <item>A <c>.csv</c> file: a header row, then one image path per row in the column <paramref name="csvColumn"/>
    /// (default: the first header named image, path or file, case-insensitively, or the only column); relative paths are
    /// resolved against the CSV file's folder; rows with an empty cell are skipped. Fields may be quoted ("a, b.png").
    /// A file listed twice is one input; two files with the same key (one inside the CSV's folder, one outside whose path
    /// without its root reads the same) keep the key for the one inside, and the other gets an <see cref="BatchSource.Error"/>.</item>
    /// </list>
    /// </summary>
    /// <exception cref="FileNotFoundException">The input does not exist.</exception>
    /// <exception cref="InvalidDataException">The CSV has no header, no such column, or an unterminated quote.</exception>
    public static IReadOnlyList<BatchSource> List(string input, string? csvColumn = null, string? excludeFolder = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(input);
        var full = Path.GetFullPath(input);
        IEnumerable<BatchSource> sources;
        if (Directory.Exists(full))
        {
            sources = ListFolder(full, excludeFolder is null ? null : Path.GetFullPath(excludeFolder));
        }
        else if (File.Exists(full))
        {
            if (!full.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"Input '{input}' is a file but not a .csv; expected a folder of images or a CSV file with a column of image paths.");
            }
            sources = ListCsv(full, csvColumn);
        }
        else
        {
            throw new FileNotFoundException($"Input '{input}' does not exist; expected a folder of images or a CSV file.", full);
        }
        return Distinct(sources).OrderBy(s => s.Key, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// One input per key: the same file listed twice is one input; different files under one key keep it in order
    /// (the first listed keeps the key; a CSV lists the file inside its folder first), the others get a numbered key and
    /// an error naming the clash, so no input is dropped without a word.
    /// </summary>
    private static IEnumerable<BatchSource> Distinct(IEnumerable<BatchSource> sources)
    {
        var byKey = new Dictionary<string, List<BatchSource>>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            if (!byKey.TryGetValue(source.Key, out var list))
            {
                byKey[source.Key] = list = [];
            }
            if (source.Error is null && list.Any(s => s.Error is null && string.Equals(s.ImagePath, source.ImagePath, StringComparison.Ordinal)))
            {
                continue; // the same file again
            }
            list.Add(source);
        }
        foreach (var (key, list) in byKey)
        {
            var keeper = list.FirstOrDefault(s => s.Error is null && !s.Outside) ?? list[0];
            yield return keeper;
            var number = 1;
            foreach (var other in list.Where(s => !ReferenceEquals(s, keeper)))
            {
                string numbered;
                do
                {
                    numbered = $"{key} #{++number}";
                }
                while (byKey.ContainsKey(numbered));
                yield return other with
                {
                    Key = numbered,
                    Error = other.Error ?? $"its key '{key}' is also the key of '{keeper.ImagePath}', so both would make the same video; " +
                        "give it another path (a CSV row relative to the CSV's folder) or rename it",
                };
            }
        }
    }

    private static IEnumerable<BatchSource> ListFolder(string folder, string? exclude)
    {
        var realRoot = ConfinedPath.RealPath(folder);
        var unreadable = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([folder]);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            foreach (var entry in Directory.EnumerateFileSystemEntries(current))
            {
                var name = Path.GetFileName(entry);
                if (name.StartsWith('.'))
                {
                    continue; // hidden, and where temporary files of a run live
                }
                var key = KeyOf(folder, entry);
                if (name.Contains('\uFFFD', StringComparison.Ordinal) && !Path.Exists(entry))
                {
                    // Bytes that are not UTF-8 reach .NET as U+FFFD: such a name cannot be opened, and two of them in one
                    // folder read the same. Each still gets its own row, under a numbered key when needed.
                    var unique = key;
                    for (var number = 2; !unreadable.Add(unique); number++)
                    {
                        unique = $"{key} #{number}";
                    }
                    yield return new BatchSource(unique, entry)
                    {
                        Error = "its name is not valid UTF-8 (shown with U+FFFD, '\uFFFD'), so it cannot be opened; rename it to UTF-8 " +
                            "(for example with convmv, or mv)",
                    };
                    continue;
                }
                string? linkTarget;
                try
                {
                    linkTarget = new FileInfo(entry).LinkTarget;
                }
                catch (IOException)
                {
                    linkTarget = null;
                }
                if (linkTarget is not null)
                {
                    string real;
                    try
                    {
                        real = ConfinedPath.RealPath(entry);
                    }
                    catch (IOException e)
                    {
                        real = "";
                        linkTarget = e.Message;
                    }
                    if (real.Length == 0)
                    {
                        yield return new BatchSource(key, entry) { Error = linkTarget };
                        continue;
                    }
                    if (!Path.Exists(real))
                    {
                        yield return new BatchSource(key, entry) { Error = $"it is a link to '{linkTarget}', which does not exist" };
                        continue;
                    }
                    if (!ConfinedPath.IsInside(real, realRoot))
                    {
                        yield return new BatchSource(key, entry)
                        {
                            Error = $"it is a link to '{real}', outside the input folder '{folder}'; links are not followed out of the input " +
                                "(copy the file in, or list it in a CSV file)",
                        };
                        continue;
                    }
                    if (Directory.Exists(real))
                    {
                        continue; // a folder of the input, listed under its own path: following the link would list it twice, or forever
                    }
                    yield return new BatchSource(key, entry);
                    continue;
                }
                if (Directory.Exists(entry))
                {
                    if (exclude is null || !IsSameOrInside(entry, exclude))
                    {
                        pending.Push(entry);
                    }
                    continue;
                }
                yield return new BatchSource(key, entry);
            }
        }
    }

    private static IEnumerable<BatchSource> ListCsv(string csv, string? column)
    {
        var baseFolder = Path.GetDirectoryName(csv)!;
        using var reader = new StreamReader(csv, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var lineNumber = 0;
        string? line;
        List<string>? header = null;
        var index = -1;
        var sources = new List<BatchSource>();
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (line.Trim().Length == 0)
            {
                continue;
            }
            var fields = SplitCsvLine(line, csv, lineNumber);
            if (header is null)
            {
                header = fields.Select(f => f.Trim()).ToList();
                index = ChooseColumn(header, column, csv);
                continue;
            }
            var cell = index < fields.Count ? fields[index].Trim() : "";
            if (cell.Length == 0)
            {
                continue;
            }
            var path = Path.GetFullPath(Path.Combine(baseFolder, cell));
            sources.Add(new BatchSource(KeyOf(baseFolder, path), path) { Outside = !IsSameOrInside(path, baseFolder) });
        }
        if (header is null)
        {
            throw new InvalidDataException($"CSV '{csv}' is empty; expected a header row naming the image column, then one image path per row.");
        }
        return sources;
    }

    private static int ChooseColumn(List<string> header, string? column, string csv)
    {
        if (column is not null)
        {
            var named = header.FindIndex(h => string.Equals(h, column, StringComparison.OrdinalIgnoreCase));
            return named >= 0 ? named : throw new InvalidDataException(
                $"CSV '{csv}' has no column '{column}'; its header is: {string.Join(", ", header)}.");
        }
        foreach (var candidate in DefaultCsvColumns)
        {
            var found = header.FindIndex(h => string.Equals(h, candidate, StringComparison.OrdinalIgnoreCase));
            if (found >= 0)
            {
                return found;
            }
        }
        return header.Count == 1 ? 0 : throw new InvalidDataException(
            $"CSV '{csv}' has no column named {string.Join(", ", DefaultCsvColumns)}; its header is: {string.Join(", ", header)}. Name the image column.");
    }

    /// <summary>One CSV line's fields (RFC 4180 quoting: "…" with "" for a quote inside).</summary>
    internal static List<string> SplitCsvLine(string line, string file, int lineNumber)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }
        if (quoted)
        {
            throw new InvalidDataException($"CSV '{file}' line {lineNumber}: a quote is not closed (fields with line breaks are not supported).");
        }
        fields.Add(field.ToString());
        return fields;
    }

    /// <summary>
    /// The path relative to <paramref name="folder"/> with '/' separators when inside it; otherwise the full path without
    /// its root, so different files never share a key.
    /// </summary>
    private static string KeyOf(string folder, string path)
    {
        var relative = Path.GetRelativePath(folder, path);
        if (relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relative))
        {
            relative = path[Path.GetPathRoot(path)!.Length..].Replace(":", "", StringComparison.Ordinal);
        }
        return relative.Replace(Path.DirectorySeparatorChar, '/');
    }

    private static bool IsSameOrInside(string path, string folder)
    {
        var relative = Path.GetRelativePath(folder, path);
        return relative == "." || !(relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relative));
    }
}
