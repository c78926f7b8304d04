using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Image to video in one step (<c>mlContext.Transforms.GenerateVideo</c>): maps an image column (<c>MLImage</c> from
/// <c>LoadImages</c>, or image paths) to a video column of <c>Vector&lt;Single, F, 3, H, W&gt;</c>, frames in [0, 1], the
/// same frames <see cref="Vcut.Runtime.Pipeline.VideoGenerator.Generate"/> gives for the same image and settings (and, per
/// row, the seed, motion bucket, fps and noise augmentation of the columns the options name).
/// </summary>
public sealed class VcutVideoEstimator : VcutRowEstimator<VcutVideoTransformer>
{
    /// <summary>
    /// The design's one-line form, <c>LoadImages("Image", …).Append(new VcutVideoEstimator())</c>: the
    /// <see cref="VcutColumnNames.Image"/> column in, <see cref="VcutColumnNames.Video"/> out, on the embedded default
    /// model with the default settings. The device is the CPU; <c>mlContext.Transforms.GenerateVideo</c> takes the
    /// <c>MLContext</c>'s GPU settings.
    /// </summary>
    public VcutVideoEstimator()
        : this(new VcutVideoOptions { OutputColumnName = VcutColumnNames.Video, InputColumnName = VcutColumnNames.Image })
    {
    }

    /// <summary>Image to video with every setting in <paramref name="options"/> (the device as the options say).</summary>
    /// <exception cref="ArgumentException">A blank column name or an invalid setting (named in the message).</exception>
    public VcutVideoEstimator(VcutVideoOptions options)
        : base(nameof(VcutVideoEstimator), Validated(options, o => o.Validate()).OutputColumnName, options)
    {
        Options = options;
    }

    /// <summary>The options the transformer will have.</summary>
    public VcutVideoOptions Options { get; }

    /// <summary>The image column read.</summary>
    public string InputColumnName => Options.ImageColumn;

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => VcutVideoTransformer.InputsOf(Options);

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => VcutVideoTransformer.TypeOf(shapes!);

    private protected override VcutVideoTransformer Create(ModelShapes? shapes) => new(Options, shapes!, GeneratorPool.Acquire(Options));
}
