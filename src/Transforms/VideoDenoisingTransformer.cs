using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="VideoDenoisingEstimator"/>: adds the denoised video latents, <c>Vector&lt;Single, F, C, H/8, W/8&gt;</c>.
/// Lazy, thread-safe and disposable as described on <see cref="VcutRowTransformer"/>.
/// </summary>
public sealed class VideoDenoisingTransformer : VcutRowTransformer
{
    internal const string Kind = "denoising";

    internal VideoDenoisingTransformer(string outputColumnName, string conditioningLatentColumnName, string conditioningCacheColumnName,
        VcutVideoOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(VideoDenoisingTransformer), options, shapes, lease, InputsOf(conditioningLatentColumnName, conditioningCacheColumnName, shapes),
            outputColumnName, TypeOf(shapes))
    {
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

    internal static InputColumn[] InputsOf(string conditioningLatentColumnName, string conditioningCacheColumnName, ModelShapes shapes) =>
    [
        new VectorInputColumn(conditioningLatentColumnName, shapes.ConditioningLatentDimensions.Aggregate(1, (a, b) => a * b),
            $"the conditioning latent, {string.Join('×', shapes.ConditioningLatentDimensions)}"),
        new VectorInputColumn(conditioningCacheColumnName, shapes.CacheWidth,
            $"the conditioning cache for VCUT {shapes.Mode} with {shapes.GuidanceRows} guidance row(s)"),
    ];

    internal static VectorDataViewType TypeOf(ModelShapes shapes) => new(NumberDataViewType.Single, shapes.VideoLatentDimensions);

    private protected override float[] Compute(object[] inputs, CancellationToken cancellationToken)
    {
        var generator = Generator;
        var cache = new ConditioningCache(generator.Vcut, Shapes!.GuidanceRows, generator.CacheEntries, (float[])inputs[1]);
        return generator.Denoise(cache, (float[])inputs[0], Options!.Generation, progress: null, cancellationToken);
    }

    private protected override SavedTransformer Describe() => new(Kind, OutputColumnName, [.. InputColumnNames], Options);
}
