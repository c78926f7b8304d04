using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using Vcut.Graph.Names;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;
using Vcut.Runtime.Sessions;

namespace Vcut.MLNet;

/// <summary>
/// The fitted <see cref="ClipImageEncodingEstimator"/>: adds the CLIP image embedding, <c>Vector&lt;Single, 1, D&gt;</c>.
/// Inside: <see cref="ClipImagePreprocessingTransformer"/> into <c>pixel_values</c>, ML.NET's <c>OnnxTransformer</c> on the
/// image encoder into <c>image_embeds</c>, copied to the output column; both inner columns are dropped. Lazy (ML.NET's
/// transformers and ours compute a row when it is read) and thread-safe; <see cref="Dispose"/> releases the encoder's
/// session, which ML.NET's <c>OnnxTransformer</c> opens on its own (not shared with the other stages).
/// </summary>
public sealed class ClipImageEncodingTransformer : ITransformer, IDisposable, ISavableVcutTransformer
{
    internal const string Kind = "clip-encoding";
    internal const string PixelColumn = GraphPorts.PixelValues;
    internal const string EmbeddingColumn = GraphPorts.ImageEmbeds;

    private readonly ClipImagePreprocessingTransformer _preprocessing;
    private readonly OnnxTransformer _encoder;
    private readonly ITransformer _finish;
    private readonly TransformerChain<ITransformer> _chain;

    internal ClipImageEncodingTransformer(ClipImageEncodingOptions options, ModelShapes shapes)
    {
        var outputColumnName = options.OutputColumnName;
        InputColumnName = options.ImageColumn;
        OutputColumnName = outputColumnName;
        Options = options;
        OutputType = TypeOf(shapes);
        Model = VcutModelInfo.From(shapes);
        var context = new MLContext();
        _preprocessing = new ClipImagePreprocessingTransformer(
            new ClipImagePreprocessingOptions { OutputColumnName = PixelColumn, InputColumnName = InputColumnName, ImageFolder = options.ImageFolder }, options);
        var execution = options.Execution;
        var pixels = Empty(context, PixelColumn, ClipImagePreprocessingTransformer.Type);
        try
        {
            _encoder = context.Transforms.ApplyOnnxModel(new OnnxOptions
            {
                ModelFile = shapes.ImageEncoderPath,
                InputColumns = [PixelColumn],
                OutputColumns = [EmbeddingColumn],
                ShapeDictionary = new Dictionary<string, int[]> { [PixelColumn] = [1, 3, 224, 224] },
                GpuDeviceId = execution.Device == ExecutionDevice.Cuda ? execution.CudaDeviceId : null,
                FallbackToCpu = execution.AllowCpuFallback,
                IntraOpNumThreads = execution.IntraOpThreads > 0 ? execution.IntraOpThreads : null,
            }).Fit(pixels);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"ML.NET's ApplyOnnxModel cannot run the image encoder '{shapes.ImageEncoderPath}': {e.Message}", e);
        }
        var embeds = _encoder.Transform(pixels);
        var copy = outputColumnName == EmbeddingColumn
            ? null
            : context.Transforms.CopyColumns(outputColumnName, EmbeddingColumn).Fit(embeds);
        string[] drop = outputColumnName == EmbeddingColumn ? [PixelColumn] : [PixelColumn, EmbeddingColumn];
        _finish = copy is null
            ? context.Transforms.DropColumns(drop).Fit(embeds)
            : new TransformerChain<ITransformer>(copy, context.Transforms.DropColumns(drop).Fit(copy.Transform(embeds)));
        _chain = new TransformerChain<ITransformer>(_preprocessing, _encoder, _finish);
    }

    internal static VectorDataViewType TypeOf(ModelShapes shapes) => new(NumberDataViewType.Single, shapes.EmbeddingDimensions);

    /// <summary>The options the transformer was fitted with.</summary>
    public ClipImageEncodingOptions Options { get; }

    /// <summary>The model whose image encoder the transformer runs.</summary>
    public VcutModelInfo Model { get; }

    /// <summary>The image column read.</summary>
    public string InputColumnName { get; }

    /// <summary>The embedding column added.</summary>
    public string OutputColumnName { get; }

    /// <summary>The embedding column's type: <c>Vector&lt;Single, 1, D&gt;</c>.</summary>
    public VectorDataViewType OutputType { get; }

    /// <summary>How many images have been pre-processed for the encoder so far (one per row read).</summary>
    public long RowsComputed => _preprocessing.RowsComputed;

    /// <summary>Always true: <c>PredictionEngine</c> can use it.</summary>
    public bool IsRowToRowMapper => true;

    /// <summary>The input schema plus the embedding column.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image column is missing or of the wrong type, or the input uses an inner column name.</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckReserved(inputSchema);
        return _chain.GetOutputSchema(inputSchema);
    }

    /// <summary>A row-to-row mapper for <paramref name="inputSchema"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image column is missing or of the wrong type, or the input uses an inner column name.</exception>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        CheckReserved(inputSchema);
        return ((ITransformer)_chain).GetRowToRowMapper(inputSchema);
    }

    /// <summary>The input with the embedding column added, lazily.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image column is missing or of the wrong type, or the input uses an inner column name.</exception>
    public IDataView Transform(IDataView input) => Transform(input, CancellationToken.None);

    /// <summary>As <see cref="Transform(IDataView)"/>; the pre-processing of the result's rows observes <paramref name="cancellationToken"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The image column is missing or of the wrong type, or the input uses an inner column name.</exception>
    public IDataView Transform(IDataView input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckReserved(input.Schema);
        return _finish.Transform(_encoder.Transform(_preprocessing.Transform(input, cancellationToken)));
    }

    private void CheckReserved(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        foreach (var name in new[] { PixelColumn, EmbeddingColumn })
        {
            if (inputSchema.GetColumnOrNull(name) is not null)
            {
                throw new ArgumentOutOfRangeException(nameof(inputSchema),
                    $"{nameof(ClipImageEncodingTransformer)}: the input has a column '{name}', a name this stage uses inside (the image encoder's own); " +
                    "rename that column first.");
            }
        }
    }

    SavedTransformer ISavableVcutTransformer.Describe() => new(Kind, Options);

    void ICanSaveModel.Save(ModelSaveContext ctx) => VcutModelPersistence.Save(this, ctx);

    /// <summary>Releases the image encoder's session.</summary>
    public void Dispose()
    {
        _encoder.Dispose();
        _preprocessing.Dispose();
    }

    private static IDataView Empty(MLContext context, string column, DataViewType type)
    {
        var definition = SchemaDefinition.Create(typeof(SchemaShapes.OneColumn));
        definition[0].ColumnName = column;
        definition[0].ColumnType = type;
        return context.Data.LoadFromEnumerable(Array.Empty<SchemaShapes.OneColumn>(), definition);
    }
}
