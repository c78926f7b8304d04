using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;
using Vcut.Runtime.Imaging;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="ConditioningLatentEstimator"/>: adds the conditioning image's VAE latent,
/// <c>Vector&lt;Single, C, H/8, W/8&gt;</c>. Lazy, thread-safe and disposable as described on <see cref="VcutRowTransformer"/>.
/// </summary>
public sealed class ConditioningLatentTransformer : VcutRowTransformer
{
    internal const string Kind = "conditioning-latent";

    internal ConditioningLatentTransformer(string outputColumnName, string inputColumnName, VcutVideoOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(ConditioningLatentTransformer), options, shapes, lease, [new ImageInputColumn(inputColumnName)], outputColumnName, TypeOf(shapes))
    {
    }

    internal static VectorDataViewType TypeOf(ModelShapes shapes) => new(NumberDataViewType.Single, shapes.ConditioningLatentDimensions);

    private protected override float[] Compute(object[] inputs, CancellationToken cancellationToken) =>
        Generator.EncodeConditioningLatent((RgbImage)inputs[0], Options!.Generation, cancellationToken);

    private protected override SavedTransformer Describe() => new(Kind, OutputColumnName, [.. InputColumnNames], Options);
}
