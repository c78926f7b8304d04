using Onnx;

namespace Vcut.Graph.Onnx;

/// <summary>The element type of a graph's parameters and of its computation.</summary>
public enum GraphPrecision
{
    /// <summary>float32 parameters and computation (the reference).</summary>
    Float32,

    /// <summary>
    /// float16 parameters and computation with float32 graph inputs and outputs (Cast nodes at the boundaries), as
    /// published SVD exports are. Statistics stay in float32 where float16 would lose them: GroupNorm is computed
    /// in float32 (Cast around its InstanceNormalization), LayerNormalization keeps its default float32
    /// <c>stash_type</c>, and sinusoidal embeddings are computed in float32 before the cast, as diffusers does.
    /// </summary>
    Float16,
}

/// <summary>Helpers for <see cref="GraphPrecision"/>.</summary>
internal static class GraphPrecisionExtensions
{
    /// <summary>The ONNX element type of parameters and activations at this precision.</summary>
    public static TensorProto.Types.DataType ElementType(this GraphPrecision precision) => precision switch
    {
        GraphPrecision.Float32 => TensorProto.Types.DataType.Float,
        GraphPrecision.Float16 => TensorProto.Types.DataType.Float16,
        _ => throw new ArgumentOutOfRangeException(nameof(precision), precision, "Unknown precision."),
    };

    /// <summary>Bytes per element at this precision.</summary>
    public static int BytesPerElement(this GraphPrecision precision) => precision == GraphPrecision.Float16 ? 2 : 4;
}
