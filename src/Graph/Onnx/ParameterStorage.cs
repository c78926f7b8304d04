using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Onnx;

/// <summary>
/// How a graph's parameters are stored: their element type (<see cref="GraphPrecision"/>) and where their bytes go,
/// inline in each initializer's <c>raw_data</c> or appended to an <see cref="ExternalDataWriter"/>'s file as each
/// parameter is produced. In the external case no tensor data stays in memory: one parameter at a time passes
/// through a reused buffer, so a 6 GB UNet converts in the memory of its largest tensor.
/// </summary>
internal sealed class ParameterStorage
{
    private float[] _values = [];
    private Half[] _halves = [];

    /// <summary>Stores parameters at <paramref name="precision"/>, in <paramref name="external"/>'s file when given, inline otherwise.</summary>
    public ParameterStorage(GraphPrecision precision = GraphPrecision.Float32, ExternalDataWriter? external = null)
    {
        _ = precision.ElementType(); // validates the enum value
        Precision = precision;
        External = external;
    }

    /// <summary>The element type of parameters and computation.</summary>
    public GraphPrecision Precision { get; }

    /// <summary>The external data file, or <c>null</c> for inline storage.</summary>
    public ExternalDataWriter? External { get; }

    /// <summary>Parameters whose values were stored.</summary>
    public int ParametersStored { get; private set; }

    /// <summary>Elements whose values were stored.</summary>
    public long ElementsStored { get; private set; }

    /// <summary>Bytes of parameter data stored (without external-data padding).</summary>
    public long BytesStored { get; private set; }

    /// <summary>Raised for every parameter the graph declares, with or without values, before they are stored.</summary>
    public event Action<ParameterSpec>? Declared;

    /// <summary>Raised after each parameter's values were stored, with the parameter and its byte count (for progress displays).</summary>
    public event Action<ParameterSpec, long>? Stored;

    /// <summary>
    /// Sizes the reused buffers for parameters of up to <paramref name="elements"/> elements at once, so they are
    /// allocated once instead of growing (and leaving garbage) parameter by parameter.
    /// </summary>
    public void Reserve(long elements)
    {
        var count = checked((int)elements);
        if (_values.Length < count)
        {
            _values = new float[count];
        }
        if (Precision == GraphPrecision.Float16 && _halves.Length < count)
        {
            _halves = new Half[count];
        }
    }

    /// <summary>
    /// Fills <paramref name="tensor"/> (already named, typed and shaped) with the values of <paramref name="spec"/>
    /// from <paramref name="weights"/>; leaves it without data when the source is structure-only.
    /// </summary>
    /// <exception cref="InvalidDataException">The source cannot give the parameter, or (float16) a value is beyond float16's range.</exception>
    public void Store(TensorProto tensor, ParameterSpec spec, IWeightSource weights)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(weights);
        Declared?.Invoke(spec);
        if (!weights.ProvidesValues)
        {
            return;
        }
        var count = checked((int)spec.ElementCount);
        if (_values.Length < count)
        {
            _values = new float[count]; // grows to the largest parameter, then is reused
        }
        var values = _values.AsSpan(0, count);
        if (!weights.TryRead(spec, values))
        {
            return;
        }
        ReadOnlySpan<byte> bytes;
        if (Precision == GraphPrecision.Float32)
        {
            bytes = MemoryMarshal.AsBytes(values);
        }
        else
        {
            if (_halves.Length < count)
            {
                _halves = new Half[count];
            }
            var halves = _halves.AsSpan(0, count);
            ToHalf(values, halves, spec, weights);
            bytes = MemoryMarshal.AsBytes(halves);
        }
        if (External is { } external)
        {
            external.Write(tensor, bytes);
        }
        else
        {
            tensor.RawData = ByteString.CopyFrom(bytes);
        }
        ParametersStored++;
        ElementsStored += count;
        BytesStored += bytes.Length;
        Stored?.Invoke(spec, bytes.Length);
    }

    private static void ToHalf(ReadOnlySpan<float> values, Span<Half> halves, ParameterSpec spec, IWeightSource weights)
    {
        for (var i = 0; i < values.Length; i++)
        {
            var half = (Half)values[i];
            // Rounding to nearest is the conversion everyone uses; silently turning a large weight into ±∞ is not.
            if (Half.IsInfinity(half) && float.IsFinite(values[i]))
            {
                throw new InvalidDataException(
                    $"Parameter '{spec.Key}' from '{weights.Description}' holds {values[i]} at element {i}, beyond float16's range (±65504); convert it to float32 instead.");
            }
            halves[i] = half;
        }
    }
}
