using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Vcut.Runtime.Pipeline;

/// <summary>
/// float16 copies of float32 buffers for a UNet whose ports are float16 (recorded in the manifest,
/// <see cref="Vcut.Graph.Models.UNetPorts"/>): each buffer and its <see cref="OrtValue"/> are allocated once per video;
/// per step only the values are converted (the inputs that change before the call, the output after it).
/// </summary>
internal sealed class Float16Boundary : IDisposable
{
    private readonly List<(float[] Source, Float16[] Target)> _perStepInputs = [];
    private readonly List<(Float16[] Source, float[] Target)> _outputs = [];
    private readonly List<OrtValue> _values = [];

    /// <summary>A float16 input over a copy of <paramref name="source"/>: converted now, and before every call when <paramref name="perStep"/>.</summary>
    public OrtValue Input(float[] source, long[] shape, bool perStep)
    {
        var target = new Float16[source.Length];
        Convert(source, target);
        if (perStep)
        {
            _perStepInputs.Add((source, target));
        }
        return Track(OrtValue.CreateTensorValueFromMemory(target, shape));
    }

    /// <summary>A float16 output whose values are converted into <paramref name="target"/> after every call.</summary>
    public OrtValue Output(float[] target, long[] shape)
    {
        var source = new Float16[target.Length];
        _outputs.Add((source, target));
        return Track(OrtValue.CreateTensorValueFromMemory(source, shape));
    }

    /// <summary>Converts the per-step inputs (before a UNet call).</summary>
    public void BeforeCall()
    {
        foreach (var (source, target) in _perStepInputs)
        {
            Convert(source, target);
        }
    }

    /// <summary>Converts the outputs back to float32 (after a UNet call).</summary>
    public void AfterCall()
    {
        foreach (var (source, target) in _outputs)
        {
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(source.AsSpan()), target);
        }
    }

    private static void Convert(float[] source, Float16[] target) =>
        TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<Float16, Half>(target.AsSpan()));

    private OrtValue Track(OrtValue value)
    {
        _values.Add(value);
        return value;
    }

    public void Dispose()
    {
        foreach (var value in _values)
        {
            value.Dispose();
        }
        _values.Clear();
    }
}
