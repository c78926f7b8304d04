using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;
using Vcut.Runtime.Imaging;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="VcutVideoEstimator"/>: adds a video column, <c>Vector&lt;Single, F, 3, H, W&gt;</c> (planar RGB
/// frames in [0, 1], frame-major), computed from each row's image by the whole SVD pipeline. Lazy, thread-safe and
/// disposable as described on <see cref="VcutRowTransformer"/>.
/// </summary>
public sealed class VcutVideoTransformer : VcutRowTransformer
{
    internal const string Kind = "video";

    internal VcutVideoTransformer(string outputColumnName, string inputColumnName, VcutVideoOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(VcutVideoTransformer), options, shapes, lease, [new ImageInputColumn(inputColumnName)], outputColumnName, TypeOf(shapes))
    {
    }

    internal static VectorDataViewType TypeOf(ModelShapes shapes) => new(NumberDataViewType.Single, shapes.VideoDimensions);

    private protected override float[] Compute(object[] inputs, CancellationToken cancellationToken) =>
        Generator.Generate((RgbImage)inputs[0], Options!.Generation, progress: null, cancellationToken).Frames;

    private protected override SavedTransformer Describe() => new(Kind, OutputColumnName, [.. InputColumnNames], Options);
}
