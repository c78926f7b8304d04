using Onnx;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Models;

/// <summary>
/// The parameters stored in a model directory's graphs, read back by state-dict key: a directory built by the
/// project (or converted from a checkpoint) becomes a weight source again, so another implementation of SVD — the
/// TorchSharp networks of the training project — can run on exactly the weights ONNX Runtime runs. float32 and
/// float16 initializers, inline or in external data files, are read; values are returned as float32.
/// </summary>
public sealed class ModelDirectoryWeightSource : IWeightSource
{
    private readonly Dictionary<string, (TensorProto Tensor, string ModelDirectory)> _tensors = new(StringComparer.Ordinal);

    private ModelDirectoryWeightSource(string directory, string description)
    {
        Directory = directory;
        Description = description;
    }

    /// <summary>The model directory.</summary>
    public string Directory { get; }

    /// <inheritdoc />
    public string Description { get; }

    /// <summary>Opens the four graphs of the model directory <paramref name="directory"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">The folder is not a model directory, or a graph cannot be read.</exception>
    public static ModelDirectoryWeightSource Open(string directory)
    {
        var manifest = ModelManifest.Load(directory);
        var source = new ModelDirectoryWeightSource(directory, $"{manifest.Weights} (read from {directory})");
        foreach (var name in ModelNames.All)
        {
            if (!manifest.Models.TryGetValue(name, out var relative))
            {
                continue;
            }
            var path = Path.Combine(directory, relative);
            var model = OnnxModelFile.Read(path);
            foreach (var initializer in model.Graph.Initializer)
            {
                source._tensors.TryAdd(initializer.Name, (initializer, Path.GetDirectoryName(path)!));
            }
        }
        return source;
    }

    /// <inheritdoc />
    public float[] Get(ParameterSpec parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (!_tensors.TryGetValue(parameter.Key, out var entry))
        {
            throw new InvalidDataException($"The model directory '{Directory}' has no parameter '{parameter.Key}'.");
        }
        var tensor = entry.Tensor;
        if (!tensor.Dims.SequenceEqual(parameter.Shape))
        {
            throw new InvalidDataException(
                $"'{parameter.Key}' in '{Directory}' has shape [{string.Join(", ", tensor.Dims)}], expected [{string.Join(", ", parameter.Shape)}].");
        }
        var count = checked((int)parameter.ElementCount);
        var values = new float[count];
        var type = (TensorProto.Types.DataType)tensor.DataType;
        if (type == TensorProto.Types.DataType.Float && tensor.FloatData.Count == count)
        {
            tensor.FloatData.CopyTo(values, 0);
            return values;
        }
        var elementSize = type switch
        {
            TensorProto.Types.DataType.Float => 4,
            TensorProto.Types.DataType.Float16 => 2,
            _ => throw new InvalidDataException($"'{parameter.Key}' in '{Directory}' is stored as {type}; expected float or float16."),
        };
        var bytes = ExternalData.IsExternal(tensor) ? ReadExternal(tensor, entry.ModelDirectory, count * elementSize) : tensor.RawData.ToByteArray();
        if (bytes.Length != count * elementSize)
        {
            throw new InvalidDataException($"'{parameter.Key}' in '{Directory}' holds {bytes.Length} bytes, expected {count * elementSize}.");
        }
        if (elementSize == 4)
        {
            Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        }
        else
        {
            var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes);
            for (var i = 0; i < count; i++)
            {
                values[i] = (float)halves[i];
            }
        }
        return values;
    }

    private byte[] ReadExternal(TensorProto tensor, string modelDirectory, int length)
    {
        var fields = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        var location = fields.GetValueOrDefault("location")
            ?? throw new InvalidDataException($"'{tensor.Name}' in '{Directory}' is external but names no file.");
        var path = Path.GetFullPath(Path.Combine(modelDirectory, location));
        if (!path.StartsWith(Path.GetFullPath(modelDirectory) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"'{tensor.Name}' in '{Directory}' points outside its graph's folder ('{location}').");
        }
        var offset = fields.TryGetValue("offset", out var o) ? long.Parse(o, System.Globalization.CultureInfo.InvariantCulture) : 0;
        using var stream = File.OpenRead(path);
        stream.Seek(offset, SeekOrigin.Begin);
        var bytes = new byte[length];
        stream.ReadExactly(bytes);
        return bytes;
    }
}
