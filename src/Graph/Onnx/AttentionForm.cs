namespace Vcut.Graph.Onnx;

/// <summary>How attention is written into a graph.</summary>
public enum AttentionForm
{
    /// <summary>
    /// MatMul → Softmax → MatMul with Reshape/Transpose head plumbing, as a PyTorch export writes it. Portable to
    /// any ONNX runtime, but it materialises the (tokens × tokens) score matrix of every head.
    /// </summary>
    Plain,

    /// <summary>
    /// ONNX Runtime's fused <c>com.microsoft.MultiHeadAttention</c>: memory-efficient / flash kernels on CUDA and
    /// a tiled kernel on CPU, so full-resolution spatial self-attention fits in memory.
    /// </summary>
    Fused,
}
