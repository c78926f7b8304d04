using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;
using Vcut.Graph.Files;

namespace Vcut.Graph.Convert;

/// <summary>One tensor of a safetensors file, as its header describes it.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">The safetensors dtype name (<c>F32</c>, <c>F16</c>, <c>BF16</c>, <c>I64</c>, …).</param>
/// <param name="Shape">The shape.</param>
/// <param name="Begin">Offset of its first byte from the start of the data section.</param>
/// <param name="End">Offset one past its last byte from the start of the data section.</param>
internal sealed record SafetensorsTensor(string Name, string DType, long[] Shape, long Begin, long End)
{
    /// <summary>The number of elements (1 for a scalar).</summary>
    /// <exception cref="OverflowException">The shape's product does not fit a long (a header that lies).</exception>
    public long ElementCount => Shape.Contains(0) ? 0 : Shape.Aggregate(1L, (a, b) => checked(a * b));

    /// <summary>The bytes its data takes.</summary>
    public long ByteLength => End - Begin;

    /// <summary>Whether <see cref="SafetensorsFile.ReadFloats(string, Span{float})"/> can read it (F32, F16 or BF16).</summary>
    public bool IsFloat => DType is "F32" or "F16" or "BF16";

    /// <summary>The shape as text, e.g. <c>[320, 4, 3, 3]</c>.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}

/// <summary>
/// A safetensors file, memory-mapped: an 8-byte little-endian header length, a JSON header (per tensor its dtype,
/// shape and <c>data_offsets</c> into the data section, plus optional <c>__metadata__</c>), then the raw
/// little-endian data. Opening reads and checks only the header; a read maps a few MiB of one tensor at a time and
/// unmaps them before the next, so neither the file nor its resident pages accumulate in memory. Every error names
/// the file and, where there is one, the tensor.
/// </summary>
internal sealed class SafetensorsFile : IDisposable
{
    /// <summary>Headers larger than this are refused (SVD's largest is about 200 kB).</summary>
    public const long MaxHeaderBytes = 100L << 20;

    // Tensors are mapped and decoded in windows of this many elements (4 MiB of F32).
    private const int ChunkElements = 1 << 20;

    private static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    private readonly MemoryMappedFile _map;
    private readonly Dictionary<string, SafetensorsTensor> _tensors;
    private bool _disposed;

    private SafetensorsFile(string path, MemoryMappedFile map, long length, long dataOffset,
        Dictionary<string, SafetensorsTensor> tensors, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _map = map;
        FileLength = length;
        DataOffset = dataOffset;
        _tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file's full path.</summary>
    public string FilePath { get; }

    /// <summary>The file's length in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Where the data section starts: 8 + the header length.</summary>
    public long DataOffset { get; }

    /// <summary>The tensors by key.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors => _tensors;

    /// <summary>The header's <c>__metadata__</c> entries (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No file there.</exception>
    /// <exception cref="InvalidDataException">
    /// The file is truncated, its header is not valid safetensors JSON, or a tensor's offsets disagree with its
    /// dtype and shape, overlap another tensor's or point past the end of the file.
    /// </exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        InputFiles.RequireRegularFile(fullPath, "Safetensors file");
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Reading safetensors needs a little-endian machine.");
        }
        var (length, headerLength, header) = ReadHeader(fullPath);
        var dataOffset = 8 + headerLength;
        var (tensors, metadata) = ParseHeader(fullPath, header, length - dataOffset);
        var map = MemoryMappedFile.CreateFromFile(fullPath, FileMode.Open, mapName: null, capacity: 0, MemoryMappedFileAccess.Read);
        return new SafetensorsFile(fullPath, map, length, dataOffset, tensors, metadata);
    }

    /// <summary>The tensor <paramref name="key"/>.</summary>
    /// <exception cref="InvalidDataException">The file has no such tensor.</exception>
    public SafetensorsTensor Get(string key) =>
        _tensors.TryGetValue(key, out var tensor)
            ? tensor
            : throw new InvalidDataException($"'{FilePath}': tensor '{key}' is missing.");

    /// <summary>Reads the float tensor <paramref name="key"/> (F32, F16 or BF16) as float32 into <paramref name="destination"/>.</summary>
    /// <exception cref="InvalidDataException">No such tensor, another dtype, or a destination of another size.</exception>
    public void ReadFloats(string key, Span<float> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var tensor = Get(key);
        if (!tensor.IsFloat)
        {
            throw new InvalidDataException($"'{FilePath}': tensor '{key}' has dtype {tensor.DType}; expected F32, F16 or BF16.");
        }
        if (tensor.ElementCount != destination.Length)
        {
            throw new InvalidDataException(
                $"'{FilePath}': tensor '{key}' has {tensor.ElementCount} elements (shape {tensor.ShapeText}); {destination.Length} were expected.");
        }
        // One window of at most ChunkElements elements mapped at a time: the resident pages of the mapping never
        // exceed a few MiB, however large the tensor.
        var elementSize = tensor.DType == "F32" ? 4 : 2;
        Half[]? halves = null;
        ushort[]? words = null;
        for (var done = 0; done < destination.Length; done += ChunkElements)
        {
            var count = Math.Min(ChunkElements, destination.Length - done);
            var target = destination.Slice(done, count);
            using var view = _map.CreateViewAccessor(DataOffset + tensor.Begin + (long)done * elementSize, (long)count * elementSize, MemoryMappedFileAccess.Read);
            var buffer = view.SafeMemoryMappedViewHandle;
            var start = (ulong)view.PointerOffset; // views start at a page boundary; the window PointerOffset bytes in
            switch (tensor.DType)
            {
                case "F32":
                    buffer.ReadSpan(start, target);
                    break;
                case "F16":
                {
                    halves ??= new Half[Math.Min(ChunkElements, destination.Length)];
                    var slice = halves.AsSpan(0, count);
                    buffer.ReadSpan(start, slice);
                    for (var i = 0; i < slice.Length; i++)
                    {
                        target[i] = (float)slice[i];
                    }
                    break;
                }
                default: // BF16: the upper half of a float32
                {
                    words ??= new ushort[Math.Min(ChunkElements, destination.Length)];
                    var slice = words.AsSpan(0, count);
                    buffer.ReadSpan(start, slice);
                    for (var i = 0; i < slice.Length; i++)
                    {
                        target[i] = BitConverter.Int32BitsToSingle(slice[i] << 16);
                    }
                    break;
                }
            }
        }
    }

    /// <summary>Reads the float tensor <paramref name="key"/> as a new float32 array.</summary>
    public float[] ReadFloats(string key)
    {
        var values = new float[checked((int)Get(key).ElementCount)];
        ReadFloats(key, values);
        return values;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _map.Dispose();
    }

    private static (long Length, long HeaderLength, byte[] Header) ReadHeader(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var length = stream.Length;
        Span<byte> prefix = stackalloc byte[8];
        if (length < 8 || stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) < 8)
        {
            throw new InvalidDataException($"'{path}' is truncated: {length} bytes, too short for a safetensors header length.");
        }
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(length - 8))
        {
            throw new InvalidDataException(
                $"'{path}' is truncated or not a safetensors file: its header length says {headerLength} bytes but only {length - 8} follow.");
        }
        if (headerLength < 2 || headerLength > MaxHeaderBytes)
        {
            throw new InvalidDataException($"'{path}' is not a safetensors file: header length {headerLength} is outside 2..{MaxHeaderBytes}.");
        }
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        return (length, (long)headerLength, header);
    }

    private static (Dictionary<string, SafetensorsTensor>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a safetensors file: its header is not JSON ({e.Message}).", e);
        }
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"'{path}' is not a safetensors file: its header is not a JSON object.");
            }
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    ReadMetadata(path, property.Value, metadata);
                    continue;
                }
                var tensor = ParseTensor(path, property.Name, property.Value);
                if (!tensors.TryAdd(tensor.Name, tensor))
                {
                    throw new InvalidDataException($"'{path}': tensor '{tensor.Name}' appears twice in the header.");
                }
            }
        }
        CheckLayout(path, tensors.Values, dataLength);
        return (tensors, metadata);
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"'{path}': __metadata__ is not a JSON object.");
        }
        foreach (var entry in value.EnumerateObject())
        {
            metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
        }
    }

    private static SafetensorsTensor ParseTensor(string path, string key, JsonElement value)
    {
        string Bad(string what) => $"'{path}': tensor '{key}' {what}.";
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException(Bad("is not described by a JSON object"));
        }
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
        {
            throw new InvalidDataException(Bad("has no dtype"));
        }
        var dtype = dtypeElement.GetString()!;
        if (!ElementSizes.TryGetValue(dtype, out var elementSize))
        {
            throw new InvalidDataException(Bad($"has unknown dtype '{dtype}'"));
        }
        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException(Bad("has no shape"));
        }
        var shape = new List<long>();
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var size) || size < 0)
            {
                throw new InvalidDataException(Bad($"has an invalid shape {shapeElement.GetRawText()}"));
            }
            shape.Add(size);
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2
            || !offsets[0].TryGetInt64(out var begin) || !offsets[1].TryGetInt64(out var end) || begin < 0 || end < begin)
        {
            throw new InvalidDataException(Bad("has invalid data_offsets (expected [begin, end] with 0 ≤ begin ≤ end)"));
        }
        var tensor = new SafetensorsTensor(key, dtype, [.. shape], begin, end);
        long expected;
        try
        {
            expected = checked(tensor.ElementCount * elementSize);
        }
        catch (OverflowException)
        {
            throw new InvalidDataException(Bad($"has a shape {tensor.ShapeText} too large to address"));
        }
        if (expected != tensor.ByteLength)
        {
            throw new InvalidDataException(Bad(
                $"has data_offsets [{begin}, {end}] ({tensor.ByteLength} bytes), but {dtype} of shape {tensor.ShapeText} takes {expected} bytes"));
        }
        return tensor;
    }

    private static void CheckLayout(string path, IEnumerable<SafetensorsTensor> tensors, long dataLength)
    {
        SafetensorsTensor? previous = null;
        foreach (var tensor in tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            if (tensor.End > dataLength)
            {
                throw new InvalidDataException(
                    $"'{path}' is truncated or its header lies: tensor '{tensor.Name}' ends at data byte {tensor.End}, but the data section has {dataLength} bytes.");
            }
            if (previous is not null && tensor.Begin < previous.End && tensor.ByteLength > 0)
            {
                throw new InvalidDataException(
                    $"'{path}': the header's offsets overlap: tensor '{tensor.Name}' [{tensor.Begin}, {tensor.End}) and tensor '{previous.Name}' [{previous.Begin}, {previous.End}).");
            }
            if (tensor.ByteLength > 0 && (previous is null || tensor.End > previous.End))
            {
                previous = tensor; // the one reaching furthest, so a tensor inside a long one is caught too
            }
        }
    }
}
