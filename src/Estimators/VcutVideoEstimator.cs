using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Image to video in one step: maps an image column (<c>MLImage</c> from <c>LoadImages</c>, or image paths) to a video
/// column of <c>Vector&lt;Single, F, 3, H, W&gt;</c>, frames in [0, 1], the same frames
/// <see cref="Vcut.Runtime.Pipeline.VideoGenerator.Generate"/> gives for the same image and options. With no arguments:
/// the embedded default model with VCUT exact, columns <c>Image</c> → <c>Video</c>.
/// </summary>
public sealed class VcutVideoEstimator : VcutRowEstimator<VcutVideoTransformer>
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="outputColumnName">The video column to add.</param>
    /// <param name="inputColumnName">The image column to read: MLImage or text (image file paths).</param>
    /// <param name="options">Model, VCUT mode, execution and sampling settings; null = the defaults (embedded model, VCUT exact, SVD's sampling defaults).</param>
    /// <exception cref="ArgumentException">A blank column name, or invalid options (named in the message).</exception>
    public VcutVideoEstimator(string outputColumnName = VcutColumnNames.Video, string inputColumnName = VcutColumnNames.Image,
        VcutVideoOptions? options = null)
        : base(nameof(VcutVideoEstimator), outputColumnName, options ?? new VcutVideoOptions())
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        InputColumnName = inputColumnName;
    }

    /// <summary>The image column read.</summary>
    public string InputColumnName { get; }

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => [new ImageInputColumn(InputColumnName)];

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => VcutVideoTransformer.TypeOf(shapes!);

    private protected override VcutVideoTransformer Create(ModelShapes? shapes) =>
        new(OutputColumnName, InputColumnName, Options!, shapes!, GeneratorPool.Acquire(Options!));
}
