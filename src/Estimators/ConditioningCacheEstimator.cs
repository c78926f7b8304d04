using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;

namespace Vcut.MLNet;

/// <summary>
/// Stage 3, the conditioning cache: maps a CLIP image embedding column (D values, e.g. from
/// <see cref="ClipImageEncodingEstimator"/>) to what the UNet is conditioned on for the whole video, flattened into
/// <c>Vector&lt;Single, N&gt;</c>: in a VCUT mode the cross-attention constants to_out(to_v(c)) of every cached site
/// (one small model call per video, docs/vcut.md), with VCUT off the CLIP context itself. With guidance the
/// unconditional row comes first. Layout: entry-major, each entry rows × width, in the order of
/// <see cref="Vcut.Runtime.Pipeline.VideoGenerator.CacheEntries"/>.
/// </summary>
public sealed class ConditioningCacheEstimator : VcutRowEstimator<ConditioningCacheTransformer>
{
    /// <summary>Creates the estimator.</summary>
    /// <param name="outputColumnName">The cache column to add.</param>
    /// <param name="inputColumnName">The embedding column to read: a vector of the encoder's projection width.</param>
    /// <param name="options">Model, VCUT mode and sampling settings (guidance decides the rows); null = the defaults.</param>
    /// <exception cref="ArgumentException">A blank column name, or invalid options.</exception>
    public ConditioningCacheEstimator(string outputColumnName = VcutColumnNames.ConditioningCache, string inputColumnName = VcutColumnNames.ImageEmbedding,
        VcutVideoOptions? options = null)
        : base(nameof(ConditioningCacheEstimator), outputColumnName, options ?? new VcutVideoOptions())
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(inputColumnName);
        InputColumnName = inputColumnName;
    }

    /// <summary>The embedding column read.</summary>
    public string InputColumnName { get; }

    private protected override IReadOnlyList<InputColumn> Inputs(ModelShapes? shapes) => ConditioningCacheTransformer.InputsOf(InputColumnName, shapes!);

    private protected override VectorDataViewType OutputType(ModelShapes? shapes) => ConditioningCacheTransformer.TypeOf(shapes!);

    private protected override ConditioningCacheTransformer Create(ModelShapes? shapes) =>
        new(OutputColumnName, InputColumnName, Options!, shapes!, GeneratorPool.Acquire(Options!));
}
