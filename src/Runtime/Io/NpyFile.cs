using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Vcut.Graph.Files;

namespace Vcut.Runtime.Io;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> arrays of floats, to exchange tensors with Python (reference outputs, latents).
/// Reads format versions 1.0, 2.0 and 3.0 with dtype little-endian float32 (<c>&lt;f4</c>) or float64 (<c>&lt;f8</c>,
/// narrowed to float) in C order; writes little-endian float32 in C order, version 1.0 (2.0 only for a header too
/// long for 1.0).
/// </summary>
public static class NpyFile
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    // NumPy pads the whole preamble to a multiple of 64 bytes so the data that follows is aligned.
    private const int Alignment = 64;
    private const int ChunkBytes = 1 << 16;

    /// <summary>Headers longer than this are refused (NumPy itself reads at most 10,000 bytes by default).</summary>
    public const int MaxHeaderBytes = 1 << 20;

    /// <summary>Reads the array at <paramref name="path"/>: its values in C order and its shape (empty for a 0-d array).</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">
    /// Not a regular .npy file, an unsupported version, a dtype other than &lt;f4/&lt;f8 (big-endian included), Fortran
    /// order, a malformed or oversized header, a shape whose values overflow or exceed one array, or data shorter or
    /// longer than the shape says.
    /// </exception>
    public static (float[] Data, long[] Shape) Read(string path)
    {
        using var stream = Open(path);
        var (itemSize, shape, count) = ReadChecked(stream, path);
        var data = new float[count];
        ReadValues(stream, data, itemSize);
        return (data, shape);
    }

    /// <summary>
    /// The shape of the array at <paramref name="path"/>, from its header, with every check of <see cref="Read"/> (the
    /// file's length included) but without reading the values: to check an array against what it should be before
    /// allocating it.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">As <see cref="Read"/>.</exception>
    public static long[] ReadShape(string path)
    {
        using var stream = Open(path);
        return ReadChecked(stream, path).Shape;
    }

    private static FileStream Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        InputFiles.RequireRegularFile(path, "NumPy file");
        return File.OpenRead(path);
    }

    private static (int ItemSize, long[] Shape, int Count) ReadChecked(FileStream stream, string path)
    {
        var (header, dataOffset) = ReadHeader(stream, path);
        var (itemSize, shape) = ParseHeader(header, path);
        // The product of the dimensions, stopped as soon as it passes one array's length: no overflow.
        long count = 1;
        var zero = shape.Contains(0);
        foreach (var dimension in shape)
        {
            if (!zero && dimension > Array.MaxLength / count)
            {
                throw new InvalidDataException(
                    $"NumPy file '{path}' has shape {FormatShape(shape)}, more than the {Array.MaxLength:N0} values one array can hold; expected the shape of one tensor.");
            }
            count = zero ? 0 : count * dimension;
        }
        var expectedBytes = count * itemSize;
        var actualBytes = stream.Length - dataOffset;
        if (actualBytes != expectedBytes)
        {
            throw new InvalidDataException(
                $"NumPy file '{path}' has {actualBytes} bytes of data but its shape {FormatShape(shape)} needs {expectedBytes}: "
                + (actualBytes < expectedBytes ? "the file is truncated." : "the file has trailing bytes."));
        }
        return (itemSize, shape, (int)count);
    }

    /// <summary>A shape as NumPy writes it: <c>()</c>, <c>(5,)</c>, <c>(2, 3)</c>.</summary>
    public static string ShapeText(ReadOnlySpan<long> shape) => FormatShape(shape);

    /// <summary>
    /// Writes <paramref name="data"/> as a little-endian float32 C-order array of <paramref name="shape"/> (empty for a 0-d
    /// array). The file goes to a temporary file in the same folder first and is moved over <paramref name="path"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is negative or the shape's element count is not <paramref name="data"/>'s length.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void Write(string path, ReadOnlySpan<float> data, ReadOnlySpan<long> shape)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        long count = 1;
        foreach (var dimension in shape)
        {
            if (dimension < 0)
            {
                throw new ArgumentException($"Shape {FormatShape(shape)} has a negative dimension.", nameof(shape));
            }
            count = checked(count * dimension);
        }
        if (count != data.Length)
        {
            throw new ArgumentException($"Shape {FormatShape(shape)} holds {count} values but {data.Length} were given.", nameof(shape));
        }
        using var file = AtomicFile.Create(path);
        file.Stream.Write(BuildPreamble(shape));
        var chunk = new byte[ChunkBytes];
        for (var offset = 0; offset < data.Length; offset += ChunkBytes / sizeof(float))
        {
            var values = data.Slice(offset, Math.Min(ChunkBytes / sizeof(float), data.Length - offset));
            for (var i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(chunk.AsSpan(i * sizeof(float)), values[i]);
            }
            file.Stream.Write(chunk, 0, values.Length * sizeof(float));
        }
        file.Commit();
    }

    private static byte[] BuildPreamble(ReadOnlySpan<long> shape)
    {
        var dictionary = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {FormatShape(shape)}, }}";
        // Version 1.0 stores the header length in 2 bytes; 2.0 in 4, needed only for shapes with very many dimensions.
        var version = 1;
        var prefix = Magic.Length + 2 + 2;
        var padded = PaddedHeaderLength(prefix, dictionary.Length);
        if (padded > ushort.MaxValue)
        {
            version = 2;
            prefix = Magic.Length + 2 + 4;
            padded = PaddedHeaderLength(prefix, dictionary.Length);
        }
        var preamble = new byte[prefix + padded];
        Magic.CopyTo(preamble);
        preamble[6] = (byte)version;
        preamble[7] = 0;
        if (version == 1)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(preamble.AsSpan(8), (ushort)padded);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(preamble.AsSpan(8), (uint)padded);
        }
        // Spaces up to the alignment, then the newline NumPy ends every header with.
        Encoding.ASCII.GetBytes(dictionary.PadRight(padded - 1) + "\n", preamble.AsSpan(prefix));
        return preamble;
    }

    private static int PaddedHeaderLength(int prefix, int dictionaryLength) =>
        (prefix + dictionaryLength + 1 + Alignment - 1) / Alignment * Alignment - prefix;

    private static (string Header, long DataOffset) ReadHeader(Stream stream, string path)
    {
        Span<byte> start = stackalloc byte[8];
        if (stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) < start.Length || !start[..6].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"'{path}' is not a NumPy .npy file (no \\x93NUMPY magic).");
        }
        int major = start[6], minor = start[7];
        if (major is not (1 or 2 or 3) || minor != 0)
        {
            throw new InvalidDataException($"NumPy file '{path}' has format version {major}.{minor}; expected 1.0, 2.0 or 3.0.");
        }
        Span<byte> length = stackalloc byte[major == 1 ? 2 : 4];
        if (stream.ReadAtLeast(length, length.Length, throwOnEndOfStream: false) < length.Length)
        {
            throw new InvalidDataException($"NumPy file '{path}' is truncated inside its header.");
        }
        long headerLength = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(length) : BinaryPrimitives.ReadUInt32LittleEndian(length);
        if (headerLength > MaxHeaderBytes)
        {
            throw new InvalidDataException($"NumPy file '{path}' declares a header of {headerLength:N0} bytes; expected at most {MaxHeaderBytes:N0}.");
        }
        if (headerLength > stream.Length - stream.Position)
        {
            throw new InvalidDataException($"NumPy file '{path}' is truncated inside its header.");
        }
        var bytes = new byte[headerLength];
        stream.ReadExactly(bytes);
        // 1.0 and 2.0 headers are latin-1; 3.0 allows UTF-8.
        var header = major == 3 ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);
        return (header, stream.Position);
    }

    private static (int ItemSize, long[] Shape) ParseHeader(string header, string path)
    {
        Dictionary<string, object> fields;
        try
        {
            fields = new HeaderParser(header).ParseDictionary();
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"NumPy file '{path}' has a malformed header ({e.Message}): {header.Trim()}", e);
        }
        if (!fields.TryGetValue("descr", out var descr) || descr is not string dtype)
        {
            throw new InvalidDataException($"NumPy file '{path}' has no string 'descr' in its header; expected '<f4' or '<f8'.");
        }
        if (!fields.TryGetValue("fortran_order", out var order) || order is not bool fortranOrder)
        {
            throw new InvalidDataException($"NumPy file '{path}' has no boolean 'fortran_order' in its header.");
        }
        if (!fields.TryGetValue("shape", out var shapeValue) || shapeValue is not long[] shape)
        {
            throw new InvalidDataException($"NumPy file '{path}' has no integer tuple 'shape' in its header.");
        }
        var itemSize = dtype switch
        {
            "<f4" => sizeof(float),
            "<f8" => sizeof(double),
            ">f4" or ">f8" => throw new InvalidDataException(
                $"NumPy file '{path}' is big-endian ('{dtype}'); expected little-endian '<f4' or '<f8' (numpy: arr.astype('<f4'))."),
            _ => throw new InvalidDataException(
                $"NumPy file '{path}' has dtype '{dtype}'; expected little-endian float32 '<f4' or float64 '<f8'."),
        };
        if (fortranOrder)
        {
            throw new InvalidDataException(
                $"NumPy file '{path}' is in Fortran (column-major) order; expected C order (numpy: np.ascontiguousarray).");
        }
        if (shape.Any(d => d < 0))
        {
            throw new InvalidDataException($"NumPy file '{path}' has a negative dimension in shape {FormatShape(shape)}.");
        }
        return (itemSize, shape);
    }

    private static void ReadValues(Stream stream, float[] data, int itemSize)
    {
        var chunk = new byte[ChunkBytes];
        var perChunk = ChunkBytes / itemSize;
        for (var offset = 0; offset < data.Length; offset += perChunk)
        {
            var n = Math.Min(perChunk, data.Length - offset);
            var bytes = chunk.AsSpan(0, n * itemSize);
            stream.ReadExactly(bytes);
            for (var i = 0; i < n; i++)
            {
                data[offset + i] = itemSize == sizeof(float)
                    ? BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..])
                    : (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * sizeof(double))..]);
            }
        }
    }

    // Python's tuple notation, as NumPy writes it: (), (5,), (2, 3).
    private static string FormatShape(ReadOnlySpan<long> shape)
    {
        var parts = new string[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            parts[i] = shape[i].ToString(CultureInfo.InvariantCulture);
        }
        return shape.Length == 1 ? $"({parts[0]},)" : $"({string.Join(", ", parts)})";
    }

    /// <summary>Parses the Python dict literal of a .npy header: string keys; string, True/False or integer-tuple values.</summary>
    private ref struct HeaderParser(string text)
    {
        private int _position;

        public Dictionary<string, object> ParseDictionary()
        {
            var result = new Dictionary<string, object>(StringComparer.Ordinal);
            Expect('{');
            while (true)
            {
                SkipSpace();
                if (Peek() == '}')
                {
                    _position++;
                    break;
                }
                var key = ParseString();
                SkipSpace();
                Expect(':');
                SkipSpace();
                result[key] = ParseValue();
                SkipSpace();
                if (Peek() == ',')
                {
                    _position++;
                }
                else if (Peek() != '}')
                {
                    throw new FormatException($"expected ',' or '}}' at offset {_position}");
                }
            }
            SkipSpace();
            if (_position != text.Length)
            {
                throw new FormatException($"unexpected text after the dictionary at offset {_position}");
            }
            return result;
        }

        private object ParseValue()
        {
            var c = Peek();
            if (c is '\'' or '"')
            {
                return ParseString();
            }
            if (c == '(')
            {
                return ParseTuple();
            }
            foreach (var (word, value) in new[] { ("True", true), ("False", false) })
            {
                if (string.CompareOrdinal(text, _position, word, 0, word.Length) == 0)
                {
                    _position += word.Length;
                    return value;
                }
            }
            throw new FormatException($"unsupported value at offset {_position}");
        }

        private long[] ParseTuple()
        {
            Expect('(');
            var items = new List<long>();
            while (true)
            {
                SkipSpace();
                if (Peek() == ')')
                {
                    _position++;
                    return [.. items];
                }
                var start = _position;
                while (_position < text.Length && char.IsAsciiDigit(text[_position]))
                {
                    _position++;
                }
                if (!long.TryParse(text.AsSpan(start, _position - start), NumberStyles.None, CultureInfo.InvariantCulture, out var item))
                {
                    throw new FormatException($"expected a non-negative integer at offset {start}");
                }
                items.Add(item);
                // Python 2 wrote long integers with an L suffix.
                if (Peek() == 'L')
                {
                    _position++;
                }
                SkipSpace();
                if (Peek() == ',')
                {
                    _position++;
                }
                else if (Peek() != ')')
                {
                    throw new FormatException($"expected ',' or ')' at offset {_position}");
                }
            }
        }

        private string ParseString()
        {
            var quote = Peek();
            if (quote is not ('\'' or '"'))
            {
                throw new FormatException($"expected a quoted string at offset {_position}");
            }
            var end = text.IndexOf(quote, _position + 1);
            if (end < 0)
            {
                throw new FormatException($"unterminated string at offset {_position}");
            }
            var value = text[(_position + 1)..end];
            _position = end + 1;
            return value;
        }

        private void Expect(char c)
        {
            SkipSpace();
            if (Peek() != c)
            {
                throw new FormatException($"expected '{c}' at offset {_position}");
            }
            _position++;
        }

        private readonly char Peek() => _position < text.Length ? text[_position] : '\0';

        private void SkipSpace()
        {
            while (_position < text.Length && char.IsWhiteSpace(text[_position]))
            {
                _position++;
            }
        }
    }
}
