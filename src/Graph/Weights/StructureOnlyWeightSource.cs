namespace Vcut.Graph.Weights;

/// <summary>
/// Gives shapes without data: the graph is complete for analysis (parameter and MAC counts) of full-size
/// models without allocating gigabytes, but it cannot be run.
/// </summary>
public sealed class StructureOnlyWeightSource : IWeightSource
{
    /// <summary>The shared instance.</summary>
    public static StructureOnlyWeightSource Instance { get; } = new();

    /// <inheritdoc />
    public string Description => "none";

    /// <inheritdoc />
    public bool ProvidesValues => false;

    /// <inheritdoc />
    public float[]? Get(ParameterSpec parameter) => null;

    /// <inheritdoc />
    public bool TryRead(ParameterSpec parameter, Span<float> destination) => false;
}
