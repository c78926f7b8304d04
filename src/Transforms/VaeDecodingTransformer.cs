using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="VaeDecodingEstimator"/>: adds the video, <c>Vector&lt;Single, F, 3, H, W&gt;</c> in [0, 1].
/// Lazy, thread-safe and disposable as described on <see cref="VcutRowTransformer"/>.
/// </summary>
public sealed class VaeDecodingTransformer : VcutRowTransformer
{
    internal const string Kind = "vae-decoding";

    internal VaeDecodingTransformer(string outputColumnName, string inputColumnName, VcutVideoOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(VaeDecodingTransformer), options, shapes, lease, InputsOf(inputColumnName, shapes), outputColumnName, VcutVideoTransformer.TypeOf(shapes))
    {
    }

    internal static InputColumn[] InputsOf(string inputColumnName, ModelShapes shapes) =>
    [
        new VectorInputColumn(inputColumnName, shapes.VideoLatentDimensions.Aggregate(1, (a, b) => a * b),
            $"the video latents, {string.Join('×', shapes.VideoLatentDimensions)}"),
    ];

    private protected override float[] Compute(object[] inputs, CancellationToken cancellationToken) =>
        Generator.Decode((float[])inputs[0], Options!.Generation, progress: null, cancellationToken).Frames;

    private protected override SavedTransformer Describe() => new(Kind, OutputColumnName, [.. InputColumnNames], Options);
}
