using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Which model a fitted Vcut transformer runs, read from the model directory's <c>vcut-model.json</c>: enough to say what
/// its videos are (a model with seeded weights was never trained: its videos are abstract motion, not the picture moving).
/// </summary>
/// <param name="Directory">The model directory, as a full path.</param>
/// <param name="Preset">The preset it was built from (<c>custom</c> for another configuration).</param>
/// <param name="Weights">Where its weights come from: <c>seeded:SEED</c>, <c>none</c>, or a description of the trained checkpoint.</param>
/// <param name="DefaultFrames">The model's default frames per video.</param>
/// <param name="DefaultHeight">Its default height in pixels.</param>
/// <param name="DefaultWidth">Its default width in pixels.</param>
public sealed record VcutModelInfo(string Directory, string Preset, string Weights, int DefaultFrames, int DefaultHeight, int DefaultWidth)
{
    /// <summary>Whether the weights come from training (a checkpoint), not from a seeded generator or nothing.</summary>
    public bool HasTrainedWeights =>
        !Weights.StartsWith("seeded", StringComparison.OrdinalIgnoreCase) && !string.Equals(Weights, "none", StringComparison.OrdinalIgnoreCase);

    internal static VcutModelInfo From(ModelShapes shapes) =>
        new(shapes.Directory, shapes.Manifest.Preset, shapes.Manifest.Weights, shapes.Manifest.DefaultFrames, shapes.Manifest.DefaultHeight,
            shapes.Manifest.DefaultWidth);
}
