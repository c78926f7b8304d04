using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.MLNet.Mapping;
using Vcut.MLNet.Models;
using Vcut.MLNet.Persistence;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet;

/// <summary>
/// The common behaviour of the Vcut transformers that add one computed vector column to every row.
/// </summary>
/// <remarks>
/// <para><b>Lazy.</b> <see cref="Transform(IDataView)"/> returns at once: it checks the schema and wraps the input. A row's
/// output is computed when a cursor's getter first asks for it, once per row per cursor (every getter and every call
/// of one read the same cached values until the cursor moves), and only the current row is held, so a dataset of many
/// images streams through. Cursors that do not ask for the output column compute nothing. <see cref="RowsComputed"/>
/// counts the computations.</para>
/// <para><b>Thread safety.</b> A transformer may be used from several threads at once, and several cursors over its
/// output (also the parts of a cursor set) may be read concurrently, each on its own thread: the model sessions are
/// shared and thread-safe, every computation has its own buffers. One cursor, like every ML.NET cursor, is for one
/// thread at a time.</para>
/// <para><b>Lifetime.</b> The transformer holds the model's ONNX Runtime sessions (shared with the other Vcut
/// transformers of the same model directory, VCUT mode and execution settings); <see cref="Dispose"/> releases them, as
/// does disposing the <c>TransformerChain</c> that holds it.</para>
/// <para><b>Saving.</b> <c>mlContext.Model.Save</c> saves it (in its place, an ML.NET <c>Expression</c> transform whose text
/// holds its options); after <c>mlContext.Model.Load</c>, <see cref="VcutModelOperations.RestoreVcut"/> puts it back
/// (docs/mlnet.md, "Persistence").</para>
/// </remarks>
public abstract class VcutRowTransformer : ITransformer, IDisposable, IRowFunction, ISavableVcutTransformer
{
    private readonly GeneratorLease? _lease;
    private readonly IReadOnlyList<InputColumn> _inputs;
    private readonly ConditioningInputColumn[] _conditioning;
    private readonly VideoGenerationOptions? _generation;
    private long _rowsComputed;
    private int _disposed;

    private protected VcutRowTransformer(string stageName, VcutOptions? settings, ModelShapes? shapes, GeneratorLease? lease,
        IReadOnlyList<InputColumn> inputs, string outputColumnName, VectorDataViewType outputType)
    {
        StageName = stageName;
        Settings = settings;
        Shapes = shapes;
        _lease = lease;
        _inputs = inputs;
        _conditioning = inputs.OfType<ConditioningInputColumn>().ToArray();
        _generation = settings?.Generation;
        OutputColumnName = outputColumnName;
        OutputType = outputType;
    }

    /// <summary>The names of the input columns, in the order the stage reads them (per-row conditioning columns last).</summary>
    public IReadOnlyList<string> InputColumnNames => _inputs.Select(c => c.Name).ToArray();

    /// <summary>The name of the column the transformer adds.</summary>
    public string OutputColumnName { get; }

    /// <summary>The type of the column the transformer adds: a fixed-size vector of <see cref="float"/> with its dimensions.</summary>
    public VectorDataViewType OutputType { get; }

    /// <summary>How many rows this transformer has computed so far, over all its cursors and rows (a diagnostic of laziness).</summary>
    public long RowsComputed => Interlocked.Read(ref _rowsComputed);

    /// <summary>The model the transformer runs (null for a stage that runs none).</summary>
    public VcutModelInfo? Model => Shapes is null ? null : VcutModelInfo.From(Shapes);

    /// <summary>Always true: the transformer maps each row on its own, so <c>PredictionEngine</c> can use it.</summary>
    public bool IsRowToRowMapper => true;

    private protected VcutOptions? Settings { get; }

    private protected ModelShapes? Shapes { get; }

    private protected VideoGenerator Generator =>
        (Volatile.Read(ref _disposed) == 0 ? _lease?.Generator : null)
        ?? throw new ObjectDisposedException(GetType().Name, $"{StageName} was disposed; its model sessions are released.");

    /// <summary>Where the models run (CPU, or CUDA when a GPU was asked for and started); for tests and diagnostics.</summary>
    internal Vcut.Runtime.Sessions.ExecutionDevice? Device => _lease?.Generator.Device;

    string IRowFunction.StageName => StageName;

    private protected string StageName { get; }

    IReadOnlyList<InputColumn> IRowFunction.Inputs => _inputs;

    string IRowFunction.OutputName => OutputColumnName;

    /// <summary>The input schema plus the output column.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong type (the message names it and what was expected).</exception>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new SchemaBinding(this, inputSchema).OutputSchema;
    }

    /// <summary>A row-to-row mapper for <paramref name="inputSchema"/> (what <c>PredictionEngine</c> uses); lazy like <see cref="Transform(IDataView)"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong type.</exception>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        return new MappedRowMapper(new SchemaBinding(this, inputSchema));
    }

    /// <summary>The input with the output column added, computed lazily row by row.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong type.</exception>
    public IDataView Transform(IDataView input) => Transform(input, CancellationToken.None);

    /// <summary>
    /// As <see cref="Transform(IDataView)"/>; the rows of the result also observe <paramref name="cancellationToken"/>
    /// (besides <see cref="VcutOptions.CancellationToken"/>): once it is cancelled, the running model call stops and a
    /// getter throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong type.</exception>
    public IDataView Transform(IDataView input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new MappedDataView(input, new SchemaBinding(this, input.Schema), cancellationToken);
    }

    float[] IRowFunction.Compute(object[] inputs, long row, CancellationToken cancellationToken)
    {
        var settingsToken = Settings?.CancellationToken ?? CancellationToken.None;
        using var linked = settingsToken.CanBeCanceled && cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(settingsToken, cancellationToken)
            : null;
        var token = linked?.Token ?? (cancellationToken.CanBeCanceled ? cancellationToken : settingsToken);
        token.ThrowIfCancellationRequested();
        var values = Compute(inputs, row, token);
        if (values.Length != OutputType.Size)
        {
            throw new InvalidDataException(
                $"{StageName} computed {values.Length} values for column '{OutputColumnName}', expected {OutputType.Size} ({OutputType}); " +
                "the model's graphs do not match its manifest.");
        }
        Interlocked.Increment(ref _rowsComputed);
        return values;
    }

    /// <summary>One row's output from its inputs (images as <c>RgbImage</c>, vectors as <c>float[]</c>, conditioning values last).</summary>
    private protected abstract float[] Compute(object[] inputs, long row, CancellationToken cancellationToken);

    /// <summary>The video options of one row: the settings with the row's conditioning values (the last inputs) applied.</summary>
    /// <exception cref="InvalidDataException">A row's value is not valid (named with its column and row).</exception>
    private protected VideoGenerationOptions GenerationFor(object[] inputs, long row)
    {
        var options = _generation ?? throw new InvalidOperationException($"{StageName} has no video settings.");
        if (_conditioning.Length == 0)
        {
            return options;
        }
        var first = inputs.Length - _conditioning.Length;
        for (var i = 0; i < _conditioning.Length; i++)
        {
            var value = inputs[first + i];
            options = _conditioning[i].Role switch
            {
                ConditioningRole.Seed => options with { Seed = (ulong)value },
                ConditioningRole.MotionBucketId => options with { MotionBucketId = (float)value },
                ConditioningRole.Fps => options with { Fps = (float)value },
                _ => options with { NoiseAugStrength = (float)value },
            };
        }
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(
                $"{StageName}, row {row}: the per-row settings from column(s) {string.Join(", ", _conditioning.Select(c => $"'{c.Name}'"))} are not valid: {e.Message}", e);
        }
        return options;
    }

    /// <summary>The runtime progress of one row, reported to <see cref="VcutOptions.Progress"/> (null when none is set).</summary>
    private protected IProgress<GenerationProgress>? ProgressFor(long row) =>
        Settings?.Progress is { } progress ? new RowProgress(progress, OutputColumnName, row) : null;

    private protected abstract SavedTransformer Describe();

    SavedTransformer ISavableVcutTransformer.Describe() => Describe();

    void ICanSaveModel.Save(ModelSaveContext ctx) => VcutModelPersistence.Save(this, ctx);

    /// <summary>Releases the model sessions (when no other Vcut transformer shares them).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _lease?.Dispose();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Forwards the runtime's reports of one row, synchronously, on the thread computing it.</summary>
    private sealed class RowProgress(IProgress<VcutProgress> target, string column, long row) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => target.Report(new VcutProgress(column, row, value.Stage, value.Step, value.TotalSteps));
    }
}
