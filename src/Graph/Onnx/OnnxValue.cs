namespace Vcut.Graph.Onnx;

/// <summary>A named value (edge) of an ONNX graph under construction.</summary>
/// <param name="Name">The ONNX value name.</param>
internal readonly record struct OnnxValue(string Name)
{
    /// <summary>An omitted optional input (the empty name).</summary>
    public static OnnxValue None { get; } = new("");

    /// <inheritdoc />
    public override string ToString() => Name;
}
