using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="ConditioningLatentEstimator"/>: adds the conditioning image's VAE latent,
/// <c>Vector&lt;Single, C, H/8, W/8&gt;</c> (with the row's seed and noise augmentation when the options name columns
/// for them). Lazy, thread-safe and disposable as described on <see cref="VcutRowTransformer"/>.
/// </summary>
public sealed class ConditioningLatentTransformer : VcutRowTransformer
{
    internal const string Kind = "conditioning-latent";

    internal ConditioningLatentTransformer(ConditioningLatentOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(ConditioningLatentTransformer), options, shapes, lease, InputsOf(options), options.OutputColumnName, TypeOf(shapes))
    {
        Options = options;
    }

    /// <summary>The options the transformer was fitted with.</summary>
    public ConditioningLatentOptions Options { get; }

    internal static InputColumn[] InputsOf(ConditioningLatentOptions options) =>
    [
        new ImageInputColumn(options.ImageColumn, options.ImageFolder),
        .. ConditioningColumns.For(options, ConditioningRole.Seed, ConditioningRole.NoiseAugStrength),
    ];

    internal static VectorDataViewType TypeOf(ModelShapes shapes) => new(NumberDataViewType.Single, shapes.ConditioningLatentDimensions);

    private protected override float[] Compute(object[] inputs, long row, CancellationToken cancellationToken)
    {
        var progress = ProgressFor(row);
        progress?.Report(new GenerationProgress(GenerationStage.EncodingLatent, 0, 1));
        var latent = Generator.EncodeConditioningLatent((RgbImage)inputs[0], GenerationFor(inputs, row), cancellationToken);
        progress?.Report(new GenerationProgress(GenerationStage.EncodingLatent, 1, 1));
        return latent;
    }

    private protected override SavedTransformer Describe() => new(Kind, Options);
}
