using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 1a, CLIP pre-processing: maps an image column to the CLIP encoder's input, <c>Vector&lt;Single, 3, 224, 224&gt;</c>,
/// exactly as the SVD pipeline prepares it (spec §7 step 1: anti-aliased resize by Gaussian blur then bicubic with
/// aligned corners, then CLIP's mean and standard deviation). Runs no model. ML.NET's <c>ResizeImages</c> and
/// <c>ExtractPixels</c> cannot give these numbers (docs/mlnet.md), so this stage uses the runtime's preprocessor.
/// </summary>
public sealed class ClipImagePreprocessingEstimator : VcutRowEstimator<ClipImagePreprocessingTransformer>
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="outputColumnName">The pixel column to add.</param>
    /// <param name="inputColumnName">The image column to read: MLImage or text (image file paths).</param>
    /// <exception cref="ArgumentException">A blank column name.</exception>
    public ClipImagePreprocessingEstimator(string outputColumnName = VcutColumnNames.ClipPixels, string inputColumnName = VcutColumnNames.Image)
        : base(nameof(ClipImagePreprocessingEstimator), outputColumnName, options: null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        InputColumnName = inputColumnName;
    }

    /// <summary>The image column read.</summary>
    public string InputColumnName { get; }

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => [new ImageInputColumn(InputColumnName)];

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => ClipImagePreprocessingTransformer.Type;

    private protected override ClipImagePreprocessingTransformer Create(ModelShapes? shapes) => new(OutputColumnName, InputColumnName);
}
