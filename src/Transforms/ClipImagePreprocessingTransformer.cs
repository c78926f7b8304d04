using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Persistence;
using Vcut.Runtime.Imaging;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="ClipImagePreprocessingEstimator"/>: adds the CLIP encoder's input, <c>Vector&lt;Single, 3, 224, 224&gt;</c>,
/// computed from each row's image by <see cref="ClipImagePreprocessor"/>. Lazy and thread-safe as described on
/// <see cref="VcutRowTransformer"/>; holds no model.
/// </summary>
public sealed class ClipImagePreprocessingTransformer : VcutRowTransformer
{
    internal const string Kind = "clip-preprocessing";

    internal static readonly VectorDataViewType Type = new(NumberDataViewType.Single, 3, ClipImagePreprocessor.Size, ClipImagePreprocessor.Size);

    /// <param name="options">The columns and image folder.</param>
    /// <param name="settings">Inside the CLIP encoding stage: that stage's settings, whose cancellation token the rows observe.</param>
    internal ClipImagePreprocessingTransformer(ClipImagePreprocessingOptions options, VcutOptions? settings = null)
        : base(nameof(ClipImagePreprocessingTransformer), settings, shapes: null, lease: null,
            [new ImageInputColumn(options.ImageColumn, options.ImageFolder)], options.OutputColumnName, Type)
    {
        Options = options;
    }

    /// <summary>The options the transformer was fitted with.</summary>
    public ClipImagePreprocessingOptions Options { get; }

    private protected override float[] Compute(object[] inputs, long row, CancellationToken cancellationToken) =>
        ClipImagePreprocessor.Preprocess((RgbImage)inputs[0]);

    private protected override SavedTransformer Describe() => new(Kind, Options);
}
