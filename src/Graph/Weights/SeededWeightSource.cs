namespace Vcut.Graph.Weights;

/// <summary>
/// Deterministic pseudo-random weights. Each parameter draws from its own stream, derived from the seed and
/// its key, so a value never depends on build order. Values are uniform with the variance of a
/// fan-in-scaled initialisation, which keeps activations finite and non-trivial through the whole network.
/// </summary>
public sealed class SeededWeightSource : IWeightSource
{
    // Uniform(-a, a) has standard deviation a/√3; these are the half-widths a.
    private const float BiasHalfWidth = 0.05f;
    private const float NormScaleHalfWidth = 0.2f;
    private const float NormShiftHalfWidth = 0.1f;
    private const float EmbeddingHalfWidth = 0.5f;
    private const float MixFactorHalfWidth = 1.5f;

    /// <summary>Creates a source for <paramref name="seed"/>.</summary>
    public SeededWeightSource(ulong seed) => Seed = seed;

    /// <summary>The seed.</summary>
    public ulong Seed { get; }

    /// <inheritdoc />
    public string Description => $"seeded:{Seed}";

    /// <inheritdoc />
    public float[] Get(ParameterSpec parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var values = new float[checked((int)parameter.ElementCount)];
        Fill(parameter, values);
        return values;
    }

    /// <inheritdoc />
    public bool TryRead(ParameterSpec parameter, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (destination.Length != parameter.ElementCount)
        {
            throw new ArgumentException(
                $"'{parameter.Key}' has {parameter.ElementCount} elements; the destination holds {destination.Length}.", nameof(destination));
        }
        Fill(parameter, destination);
        return true;
    }

    // Generates straight into the destination, so streaming writers need no array per parameter.
    private void Fill(ParameterSpec parameter, Span<float> values)
    {
        var random = new SplitMix64(Seed * 0x9E3779B97F4A7C15UL ^ SplitMix64.Hash(parameter.Key));
        var (center, halfWidth) = parameter.Role switch
        {
            // √3/√fan-in: unit variance gain for a linear map of unit-variance inputs.
            ParameterRole.Weight => (0f, MathF.Sqrt(3f / Math.Max(1, parameter.FanIn))),
            ParameterRole.Bias => (0f, BiasHalfWidth),
            ParameterRole.NormScale => (1f, NormScaleHalfWidth),
            ParameterRole.NormShift => (0f, NormShiftHalfWidth),
            ParameterRole.Embedding => (0f, EmbeddingHalfWidth),
            ParameterRole.MixFactor => (0f, MixFactorHalfWidth),
            _ => throw new ArgumentOutOfRangeException(nameof(parameter), parameter.Role, "Unknown parameter role."),
        };
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = center + halfWidth * random.NextSymmetricSingle();
        }
    }

    float[]? IWeightSource.Get(ParameterSpec parameter) => Get(parameter);
}
