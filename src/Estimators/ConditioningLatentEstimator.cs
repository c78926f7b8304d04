using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 2, the conditioning latent: maps an image column to the VAE latent of the conditioning image,
/// <c>Vector&lt;Single, C, H/8, W/8&gt;</c> (Lanczos resize to the video size, [−1, 1], noise augmentation drawn first
/// from the seed's stream, VAE encoder mean; spec §7 step 3).
/// </summary>
public sealed class ConditioningLatentEstimator : VcutRowEstimator<ConditioningLatentTransformer>
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="outputColumnName">The latent column to add.</param>
    /// <param name="inputColumnName">The image column to read: MLImage or text (image file paths).</param>
    /// <param name="options">Model and sampling settings (the size, noise augmentation and seed matter here); null = the defaults.</param>
    /// <exception cref="ArgumentException">A blank column name, or invalid options.</exception>
    public ConditioningLatentEstimator(string outputColumnName = VcutColumnNames.ConditioningLatent, string inputColumnName = VcutColumnNames.Image,
        VcutVideoOptions? options = null)
        : base(nameof(ConditioningLatentEstimator), outputColumnName, options ?? new VcutVideoOptions())
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        InputColumnName = inputColumnName;
    }

    /// <summary>The image column read.</summary>
    public string InputColumnName { get; }

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => [new ImageInputColumn(InputColumnName)];

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => ConditioningLatentTransformer.TypeOf(shapes!);

    private protected override ConditioningLatentTransformer Create(ModelShapes? shapes) =>
        new(OutputColumnName, InputColumnName, Options!, shapes!, GeneratorPool.Acquire(Options!));
}
