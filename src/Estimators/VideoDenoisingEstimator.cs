using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 4, denoising (<c>mlContext.Transforms.DenoiseVideo</c>): maps a conditioning latent column
/// (<see cref="ConditioningLatentEstimator"/>) and a conditioning cache column (<see cref="ConditioningCacheEstimator"/>)
/// to the denoised video latents, <c>Vector&lt;Single, F, C, H/8, W/8&gt;</c> (Euler–Karras sampling with v-prediction and
/// frame-wise guidance, docs/svd.md §7 steps 4–6). The initial noise continues the seed's stream after the conditioning image's
/// noise, so the chained stages give the same video as <see cref="VcutVideoEstimator"/>.
/// </summary>
public sealed class VideoDenoisingEstimator : VcutRowEstimator<VideoDenoisingTransformer>
{
    internal VideoDenoisingEstimator(VideoDenoisingOptions options)
        : base(nameof(VideoDenoisingEstimator), Validated(options, o => o.Validate()).OutputColumnName, options)
    {
        Options = options;
    }

    /// <summary>The options the transformer will have.</summary>
    public VideoDenoisingOptions Options { get; }

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => VideoDenoisingTransformer.InputsOf(Options, shapes!);

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => VideoDenoisingTransformer.TypeOf(shapes!);

    private protected override VideoDenoisingTransformer Create(ModelShapes? shapes) => new(Options, shapes!, GeneratorPool.Acquire(Options));
}
