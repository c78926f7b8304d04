using System.Runtime.InteropServices;
using System.Text;

namespace Vcut.Graph.Files;

/// <summary>What a path names, as <c>stat</c> sees it (links followed).</summary>
public enum FileKind
{
    /// <summary>Nothing (or a link to nothing).</summary>
    Missing,

    /// <summary>A regular file.</summary>
    Regular,

    /// <summary>A folder.</summary>
    Directory,

    /// <summary>Something else: a character or block device, a named pipe, a socket.</summary>
    Other,
}

/// <summary>
/// Checks for files read from users: they must be regular files (a device such as <c>/dev/zero</c> never ends, a named
/// pipe blocks its reader forever) and text files such as manifests and configs are read only up to a size limit, so no
/// input can make a reader wait or allocate without bound.
/// </summary>
public static class InputFiles
{
    /// <summary>What <paramref name="path"/> names: a regular file, a folder, something else, or nothing. Links are followed.</summary>
    public static FileKind KindOf(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path))
        {
            return FileKind.Directory;
        }
        if (!File.Exists(path))
        {
            return FileKind.Missing;
        }
        return StatMode(path) is { } mode
            ? (mode & FileTypeMask) switch
            {
                RegularFileType => FileKind.Regular,
                DirectoryType => FileKind.Directory,
                _ => FileKind.Other,
            }
            // Without stat (not a Unix runtime): devices and pipes report no length; an empty file is no input either.
            : new FileInfo(path).Length > 0 ? FileKind.Regular : FileKind.Other;
    }

    /// <summary>
    /// Throws unless <paramref name="path"/> is a regular file: <see cref="FileNotFoundException"/> when nothing is there,
    /// <see cref="InvalidDataException"/> for a folder, a device, a pipe or a socket. Nothing is opened.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="what">What the file should be, for the message ("Image", "NumPy file", …).</param>
    public static void RequireRegularFile(string path, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        switch (KindOf(path))
        {
            case FileKind.Regular:
                return;
            case FileKind.Missing:
                throw new FileNotFoundException($"{what} '{path}' does not exist.", path);
            case FileKind.Directory:
                throw new InvalidDataException($"{what} '{path}' is a folder; expected a file.");
            default:
                throw new InvalidDataException(
                    $"{what} '{path}' is not a regular file (a device, a named pipe or a socket); expected a file, which is read to its end.");
        }
    }

    /// <summary>
    /// Reads the regular file <paramref name="path"/> as UTF-8 text when it holds at most <paramref name="maxBytes"/> bytes.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file there.</exception>
    /// <exception cref="InvalidDataException">Not a regular file, or larger than <paramref name="maxBytes"/>.</exception>
    public static string ReadAllText(string path, long maxBytes, string what)
    {
        RequireRegularFile(path, what);
        var length = new FileInfo(path).Length;
        if (length > maxBytes)
        {
            throw new InvalidDataException($"{what} '{path}' is {length:N0} bytes; expected at most {maxBytes:N0} bytes for a file of this kind.");
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        // Read at most one byte more than allowed: a file that grows meanwhile is refused, not read without end.
        var buffer = new byte[Math.Min(maxBytes + 1, Math.Max(length, 0) + 1)];
        var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read > maxBytes)
        {
            throw new InvalidDataException($"{what} '{path}' grew past {maxBytes:N0} bytes while it was read.");
        }
        return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetString(buffer, 0, read).TrimStart('\uFEFF');
    }

    private const int FileTypeMask = 0xF000;
    private const int RegularFileType = 0x8000;
    private const int DirectoryType = 0x4000;
    private static bool _statMissing;

    // The file type bits of stat's st_mode through the .NET runtime's own native shim (libSystem.Native, present in
    // every Unix runtime), whose FileStatus begins with two int32 fields, Flags and Mode. Null when unavailable.
    private static int? StatMode(string path)
    {
        if (_statMissing || OperatingSystem.IsWindows())
        {
            return null;
        }
        try
        {
            var status = new byte[256];
            return SystemNativeStat(path, status) == 0 ? BitConverter.ToInt32(status, 4) : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            _statMissing = true;
            return null;
        }
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat", ExactSpelling = true)]
    private static extern int SystemNativeStat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, [Out] byte[] status);
}
