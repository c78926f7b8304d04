using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 5, VAE decoding (<c>mlContext.Transforms.DecodeVideo</c>): maps a video latents column
/// (<see cref="VideoDenoisingEstimator"/>) to the video, <c>Vector&lt;Single, F, 3, H, W&gt;</c> in [0, 1], decoded in
/// chunks of <see cref="VcutOptions.DecodeChunkSize"/> frames (docs/svd.md §7 step 7).
/// </summary>
public sealed class VaeDecodingEstimator : VcutRowEstimator<VaeDecodingTransformer>
{
    internal VaeDecodingEstimator(VaeDecodingOptions options)
        : base(nameof(VaeDecodingEstimator), Validated(options, o => o.Validate()).OutputColumnName, options)
    {
        Options = options;
    }

    /// <summary>The options the transformer will have.</summary>
    public VaeDecodingOptions Options { get; }

    /// <summary>The video latents column read.</summary>
    public string InputColumnName => Options.LatentsColumn;

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => VaeDecodingTransformer.InputsOf(Options, shapes!);

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => VcutVideoTransformer.TypeOf(shapes!);

    private protected override VaeDecodingTransformer Create(ModelShapes? shapes) => new(Options, shapes!, GeneratorPool.Acquire(Options));
}
