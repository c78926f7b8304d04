using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 3, the conditioning cache (<c>mlContext.Transforms.ComputeConditioningCache</c>): maps a CLIP image embedding
/// column (D values, e.g. from <see cref="ClipImageEncodingEstimator"/>) to what the UNet is conditioned on for the whole
/// video, flattened into <c>Vector&lt;Single, N&gt;</c>: in a VCUT mode the cross-attention constants to_out(to_v(c)) of
/// every cached site (one small model call per video, docs/vcut.md), with VCUT off the CLIP context itself. With
/// guidance the unconditional row comes first. Layout: entry-major, each entry rows × width, in the order of
/// <see cref="Vcut.Runtime.Pipeline.VideoGenerator.CacheEntries"/>.
/// </summary>
public sealed class ConditioningCacheEstimator : VcutRowEstimator<ConditioningCacheTransformer>
{
    internal ConditioningCacheEstimator(ConditioningCacheOptions options)
        : base(nameof(ConditioningCacheEstimator), Validated(options, o => o.Validate()).OutputColumnName, options)
    {
        Options = options;
    }

    /// <summary>The options the transformer will have.</summary>
    public ConditioningCacheOptions Options { get; }

    /// <summary>The embedding column read.</summary>
    public string InputColumnName => Options.EmbeddingColumn;

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => ConditioningCacheTransformer.InputsOf(Options, shapes!);

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => ConditioningCacheTransformer.TypeOf(shapes!);

    private protected override ConditioningCacheTransformer Create(ModelShapes? shapes) => new(Options, shapes!, GeneratorPool.Acquire(Options));
}
