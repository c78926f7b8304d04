using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 2, the conditioning latent (<c>mlContext.Transforms.EncodeConditioningLatent</c>): maps an image column to the
/// VAE latent of the conditioning image, <c>Vector&lt;Single, C, H/8, W/8&gt;</c> (Lanczos resize to the video size,
/// [−1, 1], noise augmentation drawn first from the seed's stream, VAE encoder mean; docs/svd.md §7 step 3).
/// </summary>
public sealed class ConditioningLatentEstimator : VcutRowEstimator<ConditioningLatentTransformer>
{
    internal ConditioningLatentEstimator(ConditioningLatentOptions options)
        : base(nameof(ConditioningLatentEstimator), Validated(options, o => o.Validate()).OutputColumnName, options)
    {
        Options = options;
    }

    /// <summary>The options the transformer will have.</summary>
    public ConditioningLatentOptions Options { get; }

    /// <summary>The image column read.</summary>
    public string InputColumnName => Options.ImageColumn;

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => ConditioningLatentTransformer.InputsOf(Options);

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => ConditioningLatentTransformer.TypeOf(shapes!);

    private protected override ConditioningLatentTransformer Create(ModelShapes? shapes) => new(Options, shapes!, GeneratorPool.Acquire(Options));
}
