namespace Vcut.Graph.Weights;

/// <summary>
/// Supplies the values of the parameters a graph builder asks for. A checkpoint reader, a seeded generator
/// and a structure-only source all sit behind this one interface.
/// </summary>
/// <remarks>
/// Writers that stream parameters to disk call <see cref="TryRead"/> with a reusable buffer, so a source that can
/// decode straight into it (a memory-mapped checkpoint, a generator) never allocates a copy per parameter. The
/// default implementation goes through <see cref="Get"/>, so a source only has to implement <see cref="Get"/>.
/// </remarks>
public interface IWeightSource
{
    /// <summary>A short description recorded in the model manifest, e.g. <c>seeded:42</c>.</summary>
    string Description { get; }

    /// <summary>
    /// Whether this source gives values at all; <c>false</c> for a structure-only source (shapes without data),
    /// so writers need not allocate buffers for it.
    /// </summary>
    bool ProvidesValues => true;

    /// <summary>
    /// The values of <paramref name="parameter"/> in row-major order, or <c>null</c> when this source gives
    /// structure only (shapes without data).
    /// </summary>
    /// <exception cref="InvalidDataException">The source has no such parameter or it has another shape.</exception>
    float[]? Get(ParameterSpec parameter);

    /// <summary>
    /// Writes the values of <paramref name="parameter"/> in row-major order into <paramref name="destination"/>,
    /// which holds exactly <see cref="ParameterSpec.ElementCount"/> elements. Returns <c>false</c>, leaving
    /// <paramref name="destination"/> untouched, when this source gives structure only.
    /// </summary>
    /// <exception cref="InvalidDataException">The source has no such parameter, it has another shape, or the source gave the wrong number of values.</exception>
    bool TryRead(ParameterSpec parameter, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var values = Get(parameter);
        if (values is null)
        {
            return false;
        }
        if (values.LongLength != destination.Length)
        {
            throw new InvalidDataException(
                $"Weight source '{Description}' gave {values.LongLength} values for '{parameter.Key}', expected {destination.Length} (shape [{string.Join(", ", parameter.Shape)}]).");
        }
        values.CopyTo(destination);
        return true;
    }
}
