using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 1a, CLIP pre-processing (<c>mlContext.Transforms.PreprocessClipImage</c>): maps an image column to the CLIP
/// encoder's input, <c>Vector&lt;Single, 3, 224, 224&gt;</c>, exactly as the SVD pipeline prepares it (docs/svd.md §7 step 1:
/// anti-aliased resize by Gaussian blur then bicubic with aligned corners, then CLIP's mean and standard deviation). Runs
/// no model. ML.NET's <c>ResizeImages</c> and <c>ExtractPixels</c> cannot give these numbers (docs/mlnet.md), so this
/// stage uses the runtime's preprocessor.
/// </summary>
public sealed class ClipImagePreprocessingEstimator : VcutRowEstimator<ClipImagePreprocessingTransformer>
{
    internal ClipImagePreprocessingEstimator(ClipImagePreprocessingOptions options)
        : base(nameof(ClipImagePreprocessingEstimator), Validated(options, o => o.Validate()).OutputColumnName, settings: null)
    {
        Options = options;
    }

    /// <summary>The options the transformer will have.</summary>
    public ClipImagePreprocessingOptions Options { get; }

    /// <summary>The image column read.</summary>
    public string InputColumnName => Options.ImageColumn;

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => [new ImageInputColumn(Options.ImageColumn, Options.ImageFolder)];

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => ClipImagePreprocessingTransformer.Type;

    private protected override ClipImagePreprocessingTransformer Create(ModelShapes? shapes) => new(Options);
}
