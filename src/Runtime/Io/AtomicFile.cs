namespace Vcut.Runtime.Io;

/// <summary>
/// A file written so that readers see either the old content or the complete new content, never a partial file:
/// writes go to a temporary file in the target's folder (same volume, so the final rename is atomic) that
/// <see cref="Commit"/> moves over the target. Disposing without committing removes the temporary file and leaves
/// the target untouched.
/// </summary>
internal sealed class AtomicFile : IDisposable
{
    private readonly string _target;
    private readonly string _temporary;
    private readonly FileStream _stream;
    private bool _done;

    private AtomicFile(string target, string temporary, FileStream stream)
    {
        _target = target;
        _temporary = temporary;
        _stream = stream;
    }

    /// <summary>Where the content is written until <see cref="Commit"/>.</summary>
    public Stream Stream => _stream;

    /// <summary>Starts writing a replacement for <paramref name="path"/>.</summary>
    public static AtomicFile Create(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var target = Path.GetFullPath(path);
        var temporary = TemporaryPathFor(target);
        return new AtomicFile(target, temporary, new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None));
    }

    /// <summary>
    /// A fresh temporary name next to <paramref name="target"/>: <c>.NAME.tmp-GUID</c> in the same folder, hidden
    /// and recognisable (<see cref="IsTemporaryOf"/>), so a run killed before its rename leaves only such names.
    /// </summary>
    public static string TemporaryPathFor(string target)
    {
        var full = Path.GetFullPath(target);
        var folder = Path.GetDirectoryName(full) ?? throw new IOException($"'{full}' has no parent folder.");
        return Path.Combine(folder, $".{Path.GetFileName(full)}{TemporaryMarker}{Guid.NewGuid():N}");
    }

    /// <summary>
    /// Whether the file or folder name <paramref name="entryName"/> is a temporary made by <see cref="TemporaryPathFor"/>
    /// for the name <paramref name="targetName"/> (both without folder).
    /// </summary>
    public static bool IsTemporaryOf(string entryName, string targetName)
    {
        var prefixLength = 1 + targetName.Length + TemporaryMarker.Length;
        return entryName.Length == prefixLength + 32
            && entryName[0] == '.'
            && entryName.AsSpan(1, targetName.Length).SequenceEqual(targetName)
            && entryName.AsSpan(1 + targetName.Length, TemporaryMarker.Length).SequenceEqual(TemporaryMarker)
            && !entryName.AsSpan(prefixLength).ContainsAnyExcept(HexDigits);
    }

    /// <summary>
    /// Checks that files can be created in <paramref name="folder"/>, or, when it does not exist yet, in the nearest
    /// folder above it that does (where it would be created): a temporary file is created there and removed at once.
    /// </summary>
    /// <param name="folder">The folder the output goes to.</param>
    /// <param name="output">The output, for the message.</param>
    /// <exception cref="IOException">A file stands where a folder is needed, or the folder cannot be written.</exception>
    public static void EnsureWritable(string folder, string output)
    {
        var existing = Path.GetFullPath(folder);
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                throw new IOException($"Cannot write '{output}': '{existing}' is a file, where a folder is needed.");
            }
            existing = Path.GetDirectoryName(existing) ?? throw new IOException($"Cannot write '{output}': none of the folders above it exists.");
        }
        var probe = Path.Combine(existing, $".vcut-write-check{TemporaryMarker}{Guid.NewGuid():N}");
        try
        {
            using var stream = new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot write '{output}': the folder '{existing}' is not writable ({e.Message}).", e);
        }
    }

    private static readonly System.Buffers.SearchValues<char> HexDigits = System.Buffers.SearchValues.Create("0123456789abcdef");

    private const string TemporaryMarker = ".tmp-";

    /// <summary>Flushes the content to disk and moves it over the target.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_done, this);
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_temporary, _target, overwrite: true);
        _done = true;
    }

    /// <summary>Discards the content unless <see cref="Commit"/> succeeded.</summary>
    public void Dispose()
    {
        if (_done)
        {
            return;
        }
        _done = true;
        _stream.Dispose();
        try
        {
            File.Delete(_temporary);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the error that got us here matters more than a leftover temporary file.
        }
    }
}
