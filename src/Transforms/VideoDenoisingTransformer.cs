using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="VideoDenoisingEstimator"/>: adds the denoised video latents, <c>Vector&lt;Single, F, C, H/8, W/8&gt;</c>
/// (with the row's seed, motion bucket, fps and noise augmentation when the options name columns for them). Lazy,
/// thread-safe and disposable as described on <see cref="VcutRowTransformer"/>.
/// </summary>
public sealed class VideoDenoisingTransformer : VcutRowTransformer
{
    internal const string Kind = "denoising";

    internal VideoDenoisingTransformer(VideoDenoisingOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(VideoDenoisingTransformer), options, shapes, lease, InputsOf(options, shapes), options.OutputColumnName, TypeOf(shapes))
    {
        Options = options;
        try
        {
            StageChecks.CacheMatches(Generator, shapes);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The options the transformer was fitted with.</summary>
    public VideoDenoisingOptions Options { get; }

    internal static InputColumn[] InputsOf(VideoDenoisingOptions options, ModelShapes shapes) =>
    [
        new VectorInputColumn(options.ConditioningLatentColumnName, shapes.ConditioningLatentDimensions.Aggregate(1, (a, b) => a * b),
            $"the conditioning latent, {string.Join('×', shapes.ConditioningLatentDimensions)}"),
        new VectorInputColumn(options.ConditioningCacheColumnName, shapes.CacheWidth,
            $"the conditioning cache for VCUT {shapes.Mode} with {shapes.GuidanceRows} guidance row(s)"),
        .. ConditioningColumns.For(options, ConditioningRole.Seed, ConditioningRole.MotionBucketId, ConditioningRole.Fps, ConditioningRole.NoiseAugStrength),
    ];

    internal static VectorDataViewType TypeOf(ModelShapes shapes) => new(NumberDataViewType.Single, shapes.VideoLatentDimensions);

    private protected override float[] Compute(object[] inputs, long row, CancellationToken cancellationToken)
    {
        var generator = Generator;
        var cache = new ConditioningCache(generator.Vcut, Shapes!.GuidanceRows, generator.CacheEntries, (float[])inputs[1]);
        return generator.Denoise(cache, (float[])inputs[0], GenerationFor(inputs, row), ProgressFor(row), cancellationToken);
    }

    private protected override SavedTransformer Describe() => new(Kind, Options);
}
