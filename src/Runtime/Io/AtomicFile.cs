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
