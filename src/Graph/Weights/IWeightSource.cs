namespace Vcut.Graph.Weights;

/// <summary>
/// Supplies the values of the parameters a graph builder asks for. A checkpoint reader, a seeded generator
/// and a structure-only source all sit behind this one interface.
/// </summary>
public interface IWeightSource
{
    /// <summary>A short description recorded in the model manifest, e.g. <c>seeded:42</c>.</summary>
    string Description { get; }

    /// <summary>
    /// The values of <paramref name="parameter"/> in row-major order, or <c>null</c> when this source gives
    /// structure only (shapes without data).
    /// </summary>
    /// <exception cref="InvalidDataException">The source has no such parameter or it has another shape.</exception>
    float[]? Get(ParameterSpec parameter);
}
