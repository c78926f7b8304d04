using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Vcut.Graph.Models;

namespace Vcut.MLNet.Tests.Hostile;

/// <summary>Files an adversary would hand the program: decompression bombs, lying headers, manifests that point elsewhere.</summary>
internal static class HostileFiles
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>
    /// A PNG of a few dozen bytes whose header declares <paramref name="width"/>×<paramref name="height"/> RGB pixels and
    /// whose data is empty: decoding it would take gigabytes, its header says so in 33 bytes.
    /// </summary>
    public static byte[] PngBomb(int width = 23000, int height = 23000) => Png(width, height, colorType: 2, Deflate([]));

    /// <summary>A valid grayscale PNG, every pixel 0, of any size: a few hundred bytes per megapixel once compressed.</summary>
    public static byte[] BlackPng(int width, int height)
    {
        using var raw = new MemoryStream();
        var row = new byte[width + 1]; // filter byte 0, then the samples
        using (var deflate = new ZLibStream(raw, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            for (var y = 0; y < height; y++)
            {
                deflate.Write(row);
            }
        }
        return Png(width, height, colorType: 0, raw.ToArray());
    }

    private static byte[] Deflate(byte[] data)
    {
        using var raw = new MemoryStream();
        using (var deflate = new ZLibStream(raw, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(data);
        }
        return raw.ToArray();
    }

    private static byte[] Png(int width, int height, byte colorType, byte[] idat)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = colorType;
        using var png = new MemoryStream();
        png.Write(PngSignature);
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", idat);
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream stream, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        stream.Write(word);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        stream.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        stream.Write(word);
    }

    // PNG's CRC-32 (ISO 3309, reflected polynomial 0xEDB88320) over a chunk's type and data.
    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }
        return ~crc;
    }

    /// <summary>A .npy file (version 1.0, &lt;f4) whose header says <paramref name="shapeText"/> and whose data is <paramref name="dataBytes"/> zero bytes.</summary>
    public static void Npy(string path, string shapeText, long dataBytes, string descr = "<f4")
    {
        var dictionary = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        var padded = (10 + dictionary.Length + 1 + 63) / 64 * 64 - 10;
        using var file = File.Create(path);
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)padded);
        file.Write(length);
        file.Write(Encoding.ASCII.GetBytes(dictionary.PadRight(padded - 1) + "\n"));
        file.Write(new byte[dataBytes]);
    }

    /// <summary>Copies the embedded tiny model (or only its manifest) to <paramref name="target"/> and edits its manifest's JSON.</summary>
    public static string ModelWithManifest(string target, Action<JsonObject> edit, bool withGraphs = true)
    {
        var source = TestModels.Tiny;
        var files = withGraphs ? Directory.GetFiles(source, "*", SearchOption.AllDirectories) : [Path.Combine(source, ModelManifest.FileName)];
        foreach (var file in files)
        {
            var copy = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
        var manifestPath = Path.Combine(target, ModelManifest.FileName);
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!.AsObject();
        edit(json);
        File.WriteAllText(manifestPath, json.ToJsonString());
        return target;
    }

    /// <summary>Whether named pipes and links can be made here (a Unix system with mkfifo).</summary>
    public static bool IsUnix => !OperatingSystem.IsWindows();

    /// <summary>Makes a named pipe with mkfifo; false when that is impossible here.</summary>
    public static bool TryMakeFifo(string path)
    {
        if (!IsUnix)
        {
            return false;
        }
        return Shell($"mkfifo '{path}'") == 0 && File.Exists(path);
    }

    /// <summary>Runs a command line with /bin/sh; its exit code (−1 without a shell).</summary>
    public static int Shell(string commandLine)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", commandLine]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit(10_000);
            return process.HasExited ? process.ExitCode : -1;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }

    /// <summary>Every file and folder under <paramref name="folder"/>, relative, '/' separators, sorted.</summary>
    public static string[] Tree(string folder) =>
        Directory.Exists(folder)
            ? Directory.GetFileSystemEntries(folder, "*", SearchOption.AllDirectories)
                .Select(e => Path.GetRelativePath(folder, e).Replace('\\', '/')).Order(StringComparer.Ordinal).ToArray()
            : [];
}
