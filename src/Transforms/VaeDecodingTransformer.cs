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

    internal VaeDecodingTransformer(VaeDecodingOptions options, ModelShapes shapes, GeneratorLease lease)
        : base(nameof(VaeDecodingTransformer), options, shapes, lease, InputsOf(options, shapes), options.OutputColumnName, VcutVideoTransformer.TypeOf(shapes))
    {
        Options = options;
    }

    /// <summary>The options the transformer was fitted with.</summary>
    public VaeDecodingOptions Options { get; }

    internal static InputColumn[] InputsOf(VaeDecodingOptions options, ModelShapes shapes) =>
    [
        new VectorInputColumn(options.LatentsColumn, shapes.VideoLatentDimensions.Aggregate(1, (a, b) => a * b),
            $"the video latents, {string.Join('×', shapes.VideoLatentDimensions)}"),
    ];

    private protected override float[] Compute(object[] inputs, long row, CancellationToken cancellationToken) =>
        Generator.Decode((float[])inputs[0], GenerationFor(inputs, row), ProgressFor(row), cancellationToken).Frames;

    private protected override SavedTransformer Describe() => new(Kind, Options);
}
