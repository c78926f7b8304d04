using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;
using Vcut.Runtime.Imaging;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="VcutVideoEstimator"/>: adds a video column, <c>Vector&lt;Single, F, 3, H, W&gt;</c> (planar RGB
/// frames in [0, 1], frame-major), computed from each row's image by the whole SVD pipeline, with the row's seed,
/// motion bucket, fps and noise augmentation when the options name columns for them. Lazy, thread-safe and disposable
/// as described on <see cref="VcutRowTransformer"/>; <see cref="VcutVideo"/> turns a row's value into frames and files.
/// </summary>
public sealed class VcutVideoTransformer : VcutRowTransformer
{
    internal const string Kind = "video";

    internal VcutVideoTransformer(VcutVideoOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(VcutVideoTransformer), options, shapes, lease, InputsOf(options), options.OutputColumnName, TypeOf(shapes))
    {
        Options = options;
    }

    /// <summary>The options the transformer was fitted with (GPU settings as resolved from the <c>MLContext</c>).</summary>
    public VcutVideoOptions Options { get; }

    internal static InputColumn[] InputsOf(VcutVideoOptions options) =>
    [
        new ImageInputColumn(options.ImageColumn, options.ImageFolder),
        .. ConditioningColumns.For(options, ConditioningRole.Seed, ConditioningRole.MotionBucketId, ConditioningRole.Fps, ConditioningRole.NoiseAugStrength),
    ];

    internal static VectorDataViewType TypeOf(ModelShapes shapes) => new(NumberDataViewType.Single, shapes.VideoDimensions);

    private protected override float[] Compute(object[] inputs, long row, CancellationToken cancellationToken) =>
        Generator.Generate((RgbImage)inputs[0], GenerationFor(inputs, row), ProgressFor(row), cancellationToken).Frames;

    private protected override SavedTransformer Describe() => new(Kind, Options);
}
