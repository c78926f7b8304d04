using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 1, CLIP image encoding (<c>mlContext.Transforms.EncodeClipImage</c>): maps an image column to the CLIP image
/// embedding, <c>Vector&lt;Single, 1, D&gt;</c> (the image encoder's <c>image_embeds</c> output as ML.NET's
/// <c>ApplyOnnxModel</c> types it). Built on ML.NET: the pre-processing is <see cref="ClipImagePreprocessingEstimator"/>
/// (the SVD pipeline's anti-aliased resize, docs/svd.md §7 step 1, which ML.NET's image transforms cannot reproduce), the encoder call is ML.NET's own
/// <c>ApplyOnnxModel</c> on the model directory's <c>image_encoder/model.onnx</c>, with the options' GPU settings. The
/// column names <c>pixel_values</c> and <c>image_embeds</c> (the encoder's own names, which <c>ApplyOnnxModel</c>
/// requires) are used inside and must not be input columns.
/// </summary>
public sealed class ClipImageEncodingEstimator : VcutRowEstimator<ClipImageEncodingTransformer>
{
    internal ClipImageEncodingEstimator(ClipImageEncodingOptions options)
        : base(nameof(ClipImageEncodingEstimator), Validated(options, o => o.Validate()).OutputColumnName, options)
    {
        Options = options;
    }

    /// <summary>The options the transformer will have.</summary>
    public ClipImageEncodingOptions Options { get; }

    /// <summary>The image column read.</summary>
    public string InputColumnName => Options.ImageColumn;

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => [new ImageInputColumn(Options.ImageColumn, Options.ImageFolder)];

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => ClipImageEncodingTransformer.TypeOf(shapes!);

    private protected override ClipImageEncodingTransformer Create(ModelShapes? shapes) => new(Options, shapes!);
}
