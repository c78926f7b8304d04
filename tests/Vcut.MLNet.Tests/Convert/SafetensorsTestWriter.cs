using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Vcut.MLNet.Tests.Convert;

/// <summary>One tensor to write: its header entry and a callback that writes exactly <paramref name="ByteLength"/> bytes.</summary>
internal sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long ByteLength, Action<Stream> WriteData)
{
    /// <summary>A float tensor encoded as <paramref name="dtype"/> (F32, F16 or BF16, rounding to nearest even).</summary>
    public static SafetensorsEntry Floats(string name, long[] shape, float[] values, string dtype = "F32")
    {
        var bytes = Encode(values, dtype);
        return new SafetensorsEntry(name, dtype, shape, bytes.Length, s => s.Write(bytes));
    }

    /// <summary>Raw bytes under any dtype (for wrong-dtype cases).</summary>
    public static SafetensorsEntry Raw(string name, string dtype, long[] shape, byte[] bytes) =>
        new(name, dtype, shape, bytes.Length, s => s.Write(bytes));

    public static byte[] Encode(ReadOnlySpan<float> values, string dtype)
    {
        switch (dtype)
        {
            case "F32":
                return MemoryMarshal.AsBytes(values).ToArray();
            case "F16":
            {
                var halves = new Half[values.Length];
                for (var i = 0; i < values.Length; i++)
                {
                    halves[i] = (Half)values[i];
                }
                return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
            }
            case "BF16":
            {
                var words = new ushort[values.Length];
                for (var i = 0; i < values.Length; i++)
                {
                    words[i] = ToBFloat16(values[i]);
                }
                return MemoryMarshal.AsBytes(words.AsSpan()).ToArray();
            }
            default:
                throw new ArgumentException($"Unsupported test dtype {dtype}.", nameof(dtype));
        }
    }

    /// <summary>Round to nearest even, as torch's float32 → bfloat16 conversion does (finite inputs).</summary>
    public static ushort ToBFloat16(float value)
    {
        var bits = (uint)BitConverter.SingleToInt32Bits(value);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
    }

    /// <summary>What a value becomes after a round trip through <paramref name="dtype"/>.</summary>
    public static float RoundTrip(float value, string dtype) => dtype switch
    {
        "F32" => value,
        "F16" => (float)(Half)value,
        "BF16" => BitConverter.Int32BitsToSingle(ToBFloat16(value) << 16),
        _ => throw new ArgumentException($"Unsupported test dtype {dtype}.", nameof(dtype)),
    };
}

/// <summary>
/// Writes safetensors files independently of the library's reader: 8-byte little-endian header length, a JSON
/// header with dtype, shape and data_offsets per tensor, then the data in entry order. <c>editHeader</c> lets a
/// test make the header lie.
/// </summary>
internal static class SafetensorsTestWriter
{
    public static void Write(string path, IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata = null,
        Func<string, string>? editHeader = null)
    {
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is not null)
            {
                writer.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var entry in entries)
            {
                writer.WriteStartObject(entry.Name);
                writer.WriteString("dtype", entry.DType);
                writer.WriteStartArray("shape");
                foreach (var dim in entry.Shape)
                {
                    writer.WriteNumberValue(dim);
                }
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + entry.ByteLength);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += entry.ByteLength;
            }
            writer.WriteEndObject();
        }
        var header = Encoding.UTF8.GetString(json.ToArray());
        if (editHeader is not null)
        {
            header = editHeader(header);
        }
        // Pad with spaces to a multiple of 8, as the reference writer does (the format allows trailing whitespace).
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var padded = (headerBytes.Length + 7) / 8 * 8;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        stream.Write(prefix);
        stream.Write(headerBytes);
        for (var i = headerBytes.Length; i < padded; i++)
        {
            stream.WriteByte((byte)' ');
        }
        foreach (var entry in entries)
        {
            var before = stream.Position;
            entry.WriteData(stream);
            if (stream.Position - before != entry.ByteLength)
            {
                throw new InvalidOperationException($"Entry {entry.Name} wrote {stream.Position - before} bytes, declared {entry.ByteLength}.");
            }
        }
    }
}
