using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 4, denoising: maps a conditioning latent column (<see cref="ConditioningLatentEstimator"/>) and a conditioning
/// cache column (<see cref="ConditioningCacheEstimator"/>) to the denoised video latents,
/// <c>Vector&lt;Single, F, C, H/8, W/8&gt;</c> (Euler–Karras sampling with v-prediction and frame-wise guidance, spec §7
/// steps 4–6). The initial noise continues the seed's stream after the conditioning image's noise, so the chained
/// stages give the same video as <see cref="VcutVideoEstimator"/>.
/// </summary>
public sealed class VideoDenoisingEstimator : VcutRowEstimator<VideoDenoisingTransformer>
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="outputColumnName">The video latents column to add.</param>
    /// <param name="conditioningLatentColumnName">The conditioning latent column to read.</param>
    /// <param name="conditioningCacheColumnName">The conditioning cache column to read.</param>
    /// <param name="options">Model and sampling settings; give every stage the same options. Null = the defaults.</param>
    /// <exception cref="ArgumentException">A blank column name, or invalid options.</exception>
    public VideoDenoisingEstimator(string outputColumnName = VcutColumnNames.VideoLatents,
        string conditioningLatentColumnName = VcutColumnNames.ConditioningLatent,
        string conditioningCacheColumnName = VcutColumnNames.ConditioningCache, VcutVideoOptions? options = null)
        : base(nameof(VideoDenoisingEstimator), outputColumnName, options ?? new VcutVideoOptions())
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conditioningLatentColumnName);
        ArgumentException.ThrowIfNullOrWhiteSpace(conditioningCacheColumnName);
        ConditioningLatentColumnName = conditioningLatentColumnName;
        ConditioningCacheColumnName = conditioningCacheColumnName;
    }

    /// <summary>The conditioning latent column read.</summary>
    public string ConditioningLatentColumnName { get; }

    /// <summary>The conditioning cache column read.</summary>
    public string ConditioningCacheColumnName { get; }

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) =>
        VideoDenoisingTransformer.InputsOf(ConditioningLatentColumnName, ConditioningCacheColumnName, shapes!);

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => VideoDenoisingTransformer.TypeOf(shapes!);

    private protected override VideoDenoisingTransformer Create(ModelShapes? shapes) =>
        new(OutputColumnName, ConditioningLatentColumnName, ConditioningCacheColumnName, Options!, shapes!, GeneratorPool.Acquire(Options!));
}
