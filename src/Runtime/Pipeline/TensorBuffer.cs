using Microsoft.ML.OnnxRuntime;

namespace Vcut.Runtime.Pipeline;

/// <summary>
/// A managed float buffer with an <see cref="OrtValue"/> over it (no copy): allocated once per video and
/// reused by every model call that reads or writes it.
/// </summary>
internal sealed class TensorBuffer : IDisposable
{
    public TensorBuffer(params long[] shape)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            count *= dim;
        }
        Data = new float[checked((int)count)];
        Value = OrtValue.CreateTensorValueFromMemory(Data, shape);
    }

    public float[] Data { get; }

    public Span<float> Span => Data;

    public OrtValue Value { get; }

    public void Dispose() => Value.Dispose();
}
