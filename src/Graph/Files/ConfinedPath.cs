namespace Vcut.Graph.Files;

/// <summary>
/// Paths that data files name (a manifest's model files, a graph's external data) must stay inside their folder: no
/// absolute paths, no <c>..</c> segments, and no links that lead out of it once resolved. Also resolves links, as
/// <c>realpath</c> does, for the checks of batch inputs.
/// </summary>
public static class ConfinedPath
{
    // Linux's limit on links followed while resolving one path; beyond it, a loop.
    private const int MaxLinkHops = 40;

    private static readonly char[] Separators = ['/', '\\'];

    /// <summary>
    /// Why <paramref name="relative"/> cannot name something inside a folder (empty, absolute, with a <c>..</c>
    /// segment, or with a NUL character), or null when it is a plain relative path. Textual: the file system is not read.
    /// </summary>
    public static string? Problem(string? relative)
    {
        if (string.IsNullOrWhiteSpace(relative))
        {
            return "is empty";
        }
        if (relative.Contains('\0', StringComparison.Ordinal))
        {
            return "holds a NUL character";
        }
        if (Path.IsPathRooted(relative) || relative.StartsWith('/') || relative.StartsWith('\\'))
        {
            return "is absolute";
        }
        if (relative.Contains(':', StringComparison.Ordinal))
        {
            return "holds a ':' (a drive or a stream name)";
        }
        if (relative.Split(Separators).Contains(".."))
        {
            return "has a '..' segment";
        }
        return null;
    }

    /// <summary>
    /// The full path of <paramref name="relative"/> inside <paramref name="folder"/>, checked: a plain relative path
    /// (see <see cref="Problem"/>) that, with every link resolved, still lies inside the folder (itself resolved).
    /// </summary>
    /// <param name="folder">The folder the path must stay in.</param>
    /// <param name="relative">The path read from a file.</param>
    /// <param name="what">What names the path, for the message (e.g. <c>'dir/vcut-model.json': models.unet</c>).</param>
    /// <exception cref="InvalidDataException">The path is not relative, climbs out with <c>..</c>, or leads out through a link.</exception>
    public static string Resolve(string folder, string relative, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentException.ThrowIfNullOrEmpty(what);
        if (Problem(relative) is { } problem)
        {
            throw new InvalidDataException($"{what} is '{relative}', which {problem}; expected a path relative to '{folder}' and inside it.");
        }
        var root = Path.GetFullPath(folder);
        var full = Path.GetFullPath(Path.Combine(root, relative));
        if (!IsInside(full, root))
        {
            throw new InvalidDataException($"{what} is '{relative}', which leads out of '{root}'; expected a path inside it.");
        }
        var real = RealPath(full);
        var realRoot = RealPath(root);
        if (!IsInside(real, realRoot))
        {
            throw new InvalidDataException(
                $"{what} is '{relative}', which leads through a link to '{real}', outside '{realRoot}'; expected a file inside the folder.");
        }
        return full;
    }

    /// <summary>
    /// <paramref name="path"/> with every link resolved, as <c>realpath</c> gives it; the parts that do not exist are kept
    /// as written.
    /// </summary>
    /// <exception cref="IOException">The links form a loop (more than 40 followed).</exception>
    public static string RealPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var hops = 0;
        while (true)
        {
            var root = Path.GetPathRoot(full)!;
            var parts = full[root.Length..].Split(Separators, StringSplitOptions.RemoveEmptyEntries);
            var current = root;
            string? restart = null;
            for (var i = 0; i < parts.Length; i++)
            {
                var next = Path.Combine(current, parts[i]);
                string? target;
                try
                {
                    target = new FileInfo(next).LinkTarget;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    target = null;
                }
                if (target is null)
                {
                    current = next;
                    continue;
                }
                if (++hops > MaxLinkHops)
                {
                    throw new IOException($"'{path}' leads through more than {MaxLinkHops} links: a link loop.");
                }
                // A relative target is relative to the link's folder; the parts after the link follow its target.
                restart = Path.GetFullPath(Path.Combine(Path.GetFullPath(target, current), Path.Combine([.. parts[(i + 1)..]])));
                break;
            }
            if (restart is null)
            {
                return current;
            }
            full = restart;
        }
    }

    /// <summary>Whether the full path <paramref name="path"/> is <paramref name="folder"/> or lies inside it (textually).</summary>
    public static bool IsInside(string path, string folder)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(folder), Path.GetFullPath(path));
        return relative == "." || !(relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative));
    }
}
