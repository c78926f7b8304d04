using System.Globalization;
using Onnx;

namespace Vcut.Graph.Onnx;

/// <summary>
/// Appends initializer data to one ONNX external-data file and points each <see cref="TensorProto"/> at its bytes
/// (<c>data_location = EXTERNAL</c> with <c>location</c>, <c>offset</c> and <c>length</c> entries), so a graph's
/// weights are written to disk as they are produced instead of being collected in the <see cref="ModelProto"/>.
/// The location is relative to the folder of the model file, where ONNX Runtime looks for it.
/// </summary>
/// <remarks>
/// Tensors of at least <see cref="PageAlignmentThreshold"/> bytes start at multiples of <see cref="PageAlignment"/>
/// (a memory page, so a runtime can map them directly); smaller ones at multiples of <see cref="SmallAlignment"/>
/// (a cache line), so hundreds of biases do not each waste a page. Gaps are zero bytes.
/// </remarks>
internal sealed class ExternalDataWriter : IDisposable
{
    /// <summary>Alignment of large tensors: one memory page.</summary>
    public const int PageAlignment = 4096;

    /// <summary>Alignment of small tensors: one cache line.</summary>
    public const int SmallAlignment = 64;

    /// <summary>Tensors of at least this many bytes are page-aligned.</summary>
    public const long PageAlignmentThreshold = 1 << 20;

    private static readonly byte[] Zeros = new byte[PageAlignment];
    private readonly FileStream _stream;
    private bool _disposed;

    /// <summary>
    /// Creates (or truncates) the data file <paramref name="dataFilePath"/>, referenced from the model as
    /// <paramref name="location"/> (its file name by default).
    /// </summary>
    public ExternalDataWriter(string dataFilePath, string? location = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataFilePath);
        FilePath = Path.GetFullPath(dataFilePath);
        Location = location ?? Path.GetFileName(FilePath);
        if (Path.IsPathRooted(Location) || Location.Contains("..", StringComparison.Ordinal))
        {
            throw new ArgumentException($"External data location '{Location}' must be a path relative to the model's folder.", nameof(location));
        }
        _stream = new FileStream(FilePath, FileMode.Create, FileAccess.Write, FileShare.Read, bufferSize: 1 << 20);
    }

    /// <summary>The data file's full path.</summary>
    public string FilePath { get; }

    /// <summary>The data file's path relative to the model file, as written into each tensor.</summary>
    public string Location { get; }

    /// <summary>Bytes written so far, alignment padding included.</summary>
    public long Length => _stream.Position;

    /// <summary>Tensors written so far.</summary>
    public int TensorCount { get; private set; }

    /// <summary>
    /// Appends <paramref name="data"/> (the tensor's little-endian raw bytes) at the next aligned offset and makes
    /// <paramref name="tensor"/> refer to it.
    /// </summary>
    public void Write(TensorProto tensor, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!tensor.RawData.IsEmpty || tensor.ExternalData.Count > 0)
        {
            throw new InvalidOperationException($"Tensor '{tensor.Name}' already holds data.");
        }
        var alignment = data.Length >= PageAlignmentThreshold ? PageAlignment : SmallAlignment;
        var padding = (int)((alignment - _stream.Position % alignment) % alignment);
        _stream.Write(Zeros, 0, padding);
        var offset = _stream.Position;
        _stream.Write(data);
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(Entry("location", Location));
        tensor.ExternalData.Add(Entry("offset", offset.ToString(CultureInfo.InvariantCulture)));
        tensor.ExternalData.Add(Entry("length", data.Length.ToString(CultureInfo.InvariantCulture)));
        TensorCount++;
    }

    /// <summary>Flushes the data to disk (the operating system's cache included), so a completed file survives a crash.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _stream.Flush(flushToDisk: true);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _stream.Dispose();
    }

    private static StringStringEntryProto Entry(string key, string value) => new() { Key = key, Value = value };
}
