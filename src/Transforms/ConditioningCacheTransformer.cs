using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="ConditioningCacheEstimator"/>: adds the flattened conditioning cache, <c>Vector&lt;Single, N&gt;</c>.
/// Lazy, thread-safe and disposable as described on <see cref="VcutRowTransformer"/>.
/// </summary>
public sealed class ConditioningCacheTransformer : VcutRowTransformer
{
    internal const string Kind = "conditioning-cache";

    internal ConditioningCacheTransformer(ConditioningCacheOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(ConditioningCacheTransformer), options, shapes, lease, InputsOf(options, shapes), options.OutputColumnName, TypeOf(shapes))
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
    public ConditioningCacheOptions Options { get; }

    internal static InputColumn[] InputsOf(ConditioningCacheOptions options, ModelShapes shapes) =>
        [new VectorInputColumn(options.EmbeddingColumn, shapes.ProjectionDim, "the CLIP image embedding")];

    internal static VectorDataViewType TypeOf(ModelShapes shapes) => new(NumberDataViewType.Single, shapes.CacheDimensions);

    private protected override float[] Compute(object[] inputs, long row, CancellationToken cancellationToken) =>
        Generator.ComputeCache((float[])inputs[0], GenerationFor(inputs, row), cancellationToken).Values;

    private protected override SavedTransformer Describe() => new(Kind, Options);
}
