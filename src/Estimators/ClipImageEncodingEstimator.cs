using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 1, CLIP image encoding: maps an image column to the CLIP image embedding, <c>Vector&lt;Single, 1, D&gt;</c>
/// (the image encoder's <c>image_embeds</c> output as ML.NET's <c>ApplyOnnxModel</c> types it). Built on ML.NET: the
/// pre-processing is <see cref="ClipImagePreprocessingEstimator"/> (the spec's anti-aliased resize, which ML.NET's image
/// transforms cannot reproduce), the encoder call is ML.NET's own <c>ApplyOnnxModel</c> on the model directory's
/// <c>image_encoder/model.onnx</c>. The column names <c>pixel_values</c> and <c>image_embeds</c> (the encoder's own
/// names, which <c>ApplyOnnxModel</c> requires) are used inside and must not be input columns.
/// </summary>
public sealed class ClipImageEncodingEstimator : VcutRowEstimator<ClipImageEncodingTransformer>
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="outputColumnName">The embedding column to add.</param>
    /// <param name="inputColumnName">The image column to read: MLImage or text (image file paths).</param>
    /// <param name="options">The model directory and execution provider; null = the defaults (embedded model, CPU).</param>
    /// <exception cref="ArgumentException">A blank column name, an output named <c>pixel_values</c>, or invalid options.</exception>
    public ClipImageEncodingEstimator(string outputColumnName = VcutColumnNames.ImageEmbedding, string inputColumnName = VcutColumnNames.Image,
        VcutVideoOptions? options = null)
        : base(nameof(ClipImageEncodingEstimator), outputColumnName, options ?? new VcutVideoOptions())
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        if (outputColumnName == ClipImageEncodingTransformer.PixelColumn)
        {
            throw new ArgumentException($"The output column cannot be '{outputColumnName}': this stage uses that name inside.", nameof(outputColumnName));
        }
        InputColumnName = inputColumnName;
    }

    /// <summary>The image column read.</summary>
    public string InputColumnName { get; }

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => [new ImageInputColumn(InputColumnName)];

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => ClipImageEncodingTransformer.TypeOf(shapes!);

    private protected override ClipImageEncodingTransformer Create(ModelShapes? shapes) =>
        new(OutputColumnName, InputColumnName, Options!, shapes!);
}
