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
        var folder = Path.GetDirectoryName(target) ?? throw new IOException($"'{target}' has no parent folder.");
        var temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}");
        return new AtomicFile(target, temporary, new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None));
    }

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
