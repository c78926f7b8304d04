namespace Vcut.Graph.Weights;

/// <summary>What a parameter is for; a seeded source uses it to pick a sensible scale.</summary>
public enum ParameterRole
{
    /// <summary>A linear or convolution weight (scaled by 1/√fan-in).</summary>
    Weight,
    /// <summary>A linear or convolution bias.</summary>
    Bias,
    /// <summary>The multiplicative weight of a GroupNorm or LayerNorm.</summary>
    NormScale,
    /// <summary>The additive bias of a GroupNorm or LayerNorm.</summary>
    NormShift,
    /// <summary>A learned embedding (class token, position table).</summary>
    Embedding,
    /// <summary>The logit of an AlphaBlender's mixing factor.</summary>
    MixFactor,
}

/// <summary>A parameter the graph needs: its state-dict key, its shape and its role.</summary>
/// <param name="Key">The diffusers / transformers state-dict key, e.g. <c>conv_in.weight</c>.</param>
/// <param name="Shape">The shape as the state dict holds it (torch layout).</param>
/// <param name="Role">What the parameter is for.</param>
/// <param name="FanIn">Inputs feeding one output (for weights); 0 otherwise.</param>
public sealed record ParameterSpec(string Key, long[] Shape, ParameterRole Role, long FanIn = 0)
{
    /// <summary>The number of elements.</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var dim in Shape)
            {
                count *= dim;
            }
            return count;
        }
    }
}
