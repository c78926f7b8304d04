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

    internal ConditioningCacheTransformer(string outputColumnName, string inputColumnName, VcutVideoOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(ConditioningCacheTransformer), options, shapes, lease, InputsOf(inputColumnName, shapes), outputColumnName, TypeOf(shapes))
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

    internal static InputColumn[] InputsOf(string inputColumnName, ModelShapes shapes) =>
        [new VectorInputColumn(inputColumnName, shapes.ProjectionDim, "the CLIP image embedding")];

    internal static VectorDataViewType TypeOf(ModelShapes shapes) => new(NumberDataViewType.Single, shapes.CacheDimensions);

    private protected override float[] Compute(object[] inputs, CancellationToken cancellationToken) =>
        Generator.ComputeCache((float[])inputs[0], Options!.Generation, cancellationToken).Values;

    private protected override SavedTransformer Describe() => new(Kind, OutputColumnName, [.. InputColumnNames], Options);
}
