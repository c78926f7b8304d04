using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 5, VAE decoding: maps a video latents column (<see cref="VideoDenoisingEstimator"/>) to the video,
/// <c>Vector&lt;Single, F, 3, H, W&gt;</c> in [0, 1], decoded in chunks of
/// <see cref="Vcut.Runtime.Pipeline.VideoGenerationOptions.DecodeChunkSize"/> frames (spec §7 step 7).
/// </summary>
public sealed class VaeDecodingEstimator : VcutRowEstimator<VaeDecodingTransformer>
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="outputColumnName">The video column to add.</param>
    /// <param name="inputColumnName">The video latents column to read.</param>
    /// <param name="options">Model and sampling settings (frames, size, decode chunk); null = the defaults.</param>
    /// <exception cref="ArgumentException">A blank column name, or invalid options.</exception>
    public VaeDecodingEstimator(string outputColumnName = VcutColumnNames.Video, string inputColumnName = VcutColumnNames.VideoLatents,
        VcutVideoOptions? options = null)
        : base(nameof(VaeDecodingEstimator), outputColumnName, options ?? new VcutVideoOptions())
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        InputColumnName = inputColumnName;
    }

    /// <summary>The video latents column read.</summary>
    public string InputColumnName { get; }

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => VaeDecodingTransformer.InputsOf(InputColumnName, shapes!);

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => VcutVideoTransformer.TypeOf(shapes!);

    private protected override VaeDecodingTransformer Create(ModelShapes? shapes) =>
        new(OutputColumnName, InputColumnName, Options!, shapes!, GeneratorPool.Acquire(Options!));
}
