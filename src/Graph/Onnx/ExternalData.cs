using System.Globalization;
using Onnx;
using Vcut.Graph.Files;

namespace Vcut.Graph.Onnx;

/// <summary>Reading and moving the external data of an ONNX model (tensors whose bytes live in a file next to it).</summary>
public static class ExternalData
{
    /// <summary>Whether any initializer of <paramref name="model"/> keeps its bytes in an external file.</summary>
    public static bool Uses(ModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Graph?.Initializer.Any(IsExternal) ?? false;
    }

    /// <summary>Whether <paramref name="tensor"/> keeps its bytes in an external file.</summary>
    public static bool IsExternal(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.DataLocation == TensorProto.Types.DataLocation.External;
    }

    /// <summary>
    /// Gives every external initializer of <paramref name="model"/>, whose files are relative to
    /// <paramref name="sourceDirectory"/>, a fresh copy of its bytes in one data file next to
    /// <paramref name="targetModelPath"/> (<paramref name="dataFileName"/>), streamed one tensor at a time. Tensors the
    /// model no longer uses are left behind, so a rewritten graph's data file holds only its own weights. Nothing is
    /// written when the model has no external data.
    /// </summary>
    /// <exception cref="InvalidDataException">An entry points outside the model's folder, to a missing file, or past its end.</exception>
    public static void Relocate(ModelProto model, string sourceDirectory, string targetModelPath, string dataFileName = "model.onnx.data")
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(targetModelPath);
        var external = model.Graph?.Initializer.Where(IsExternal).ToList() ?? [];
        if (external.Count == 0)
        {
            return;
        }
        var targetData = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(targetModelPath))!, dataFileName);
        var sources = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        try
        {
            using var writer = new ExternalDataWriter(targetData);
            var buffer = Array.Empty<byte>();
            foreach (var tensor in external)
            {
                var (location, offset, length) = Entry(tensor, sourceDirectory);
                if (!sources.TryGetValue(location, out var stream))
                {
                    sources[location] = stream = new FileStream(location, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
                }
                if (offset > stream.Length - length)
                {
                    throw new InvalidDataException($"'{location}': tensor '{tensor.Name}' takes {length} bytes from byte {offset}, past the file's {stream.Length} bytes.");
                }
                if (buffer.Length < length)
                {
                    buffer = new byte[length];
                }
                RandomAccess.Read(stream.SafeFileHandle, buffer.AsSpan(0, (int)length), offset);
                tensor.ExternalData.Clear();
                tensor.DataLocation = TensorProto.Types.DataLocation.Default;
                writer.Write(tensor, buffer.AsSpan(0, (int)length));
            }
            writer.Flush();
        }
        finally
        {
            foreach (var stream in sources.Values)
            {
                stream.Dispose();
            }
        }
    }

    private static (string Location, long Offset, long Length) Entry(TensorProto tensor, string sourceDirectory)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in tensor.ExternalData)
        {
            entries[entry.Key] = entry.Value;
        }
        if (!entries.TryGetValue("location", out var location))
        {
            throw new InvalidDataException($"Tensor '{tensor.Name}' keeps its data externally but names no location; expected a file inside the model's folder.");
        }
        var path = ConfinedPath.Resolve(sourceDirectory, location, $"Tensor '{tensor.Name}': external data location");
        var offset = 0L;
        if (entries.TryGetValue("offset", out var o) && !long.TryParse(o, NumberStyles.None, CultureInfo.InvariantCulture, out offset))
        {
            throw new InvalidDataException($"Tensor '{tensor.Name}' has external data offset '{o}'; expected a non-negative integer.");
        }
        if (!entries.TryGetValue("length", out var l))
        {
            throw new InvalidDataException($"Tensor '{tensor.Name}' has external data without a length.");
        }
        if (!long.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || length > int.MaxValue)
        {
            throw new InvalidDataException($"Tensor '{tensor.Name}' has external data length '{l}'; expected an integer from 0 to {int.MaxValue}.");
        }
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"Tensor '{tensor.Name}' keeps its data in '{path}', which does not exist.");
        }
        InputFiles.RequireRegularFile(path, $"External data of tensor '{tensor.Name}'");
        return (path, offset, length);
    }
}
