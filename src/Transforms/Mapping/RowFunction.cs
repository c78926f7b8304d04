using Microsoft.ML;
using Microsoft.ML.Data;

namespace Vcut.MLNet.Mapping;

/// <summary>What a row-mapping transformer computes: typed input columns to one vector column, one row at a time.</summary>
internal interface IRowFunction
{
    /// <summary>The transformer's name, for messages.</summary>
    string StageName { get; }

    /// <summary>The columns read.</summary>
    IReadOnlyList<InputColumn> Inputs { get; }

    /// <summary>The column added.</summary>
    string OutputName { get; }

    /// <summary>Its type.</summary>
    VectorDataViewType OutputType { get; }

    /// <summary>Computes one row's output from its inputs (in <see cref="Inputs"/> order) at position <paramref name="row"/>; thread-safe.</summary>
    float[] Compute(object[] inputs, long row, CancellationToken cancellationToken);
}

/// <summary>A row function bound to an input schema: the output schema and where the inputs are.</summary>
internal sealed class SchemaBinding
{
    public SchemaBinding(IRowFunction function, DataViewSchema inputSchema)
    {
        Function = function;
        InputSchema = inputSchema;
        InputColumns = function.Inputs.Select(input => input.Find(inputSchema, function.StageName)).ToArray();
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(function.OutputName, function.OutputType);
        OutputSchema = builder.ToSchema();
        OutputIndex = inputSchema.Count;
    }

    public IRowFunction Function { get; }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    /// <summary>The input columns the function reads, in its order.</summary>
    public DataViewSchema.Column[] InputColumns { get; }

    /// <summary>The output column's index in <see cref="OutputSchema"/>; input columns keep their indices.</summary>
    public int OutputIndex { get; }

    /// <summary>The input columns needed to serve <paramref name="columns"/> of the output schema.</summary>
    public IEnumerable<DataViewSchema.Column> InputColumnsFor(IEnumerable<DataViewSchema.Column> columns, out bool outputActive)
    {
        var needed = new Dictionary<int, DataViewSchema.Column>();
        outputActive = false;
        foreach (var column in columns)
        {
            if (column.Index == OutputIndex)
            {
                outputActive = true;
            }
            else if (column.Index < OutputIndex)
            {
                needed[column.Index] = InputSchema[column.Index];
            }
        }
        if (outputActive)
        {
            foreach (var column in InputColumns)
            {
                needed[column.Index] = column;
            }
        }
        return needed.Values;
    }
}

/// <summary>
/// One row's output, computed at most once per input position: every getter of the output column (and every call of
/// each) reads the same cached values until the input moves on. Holds only the current row, so a cursor streams.
/// Not thread-safe, like the cursor or row that owns it.
/// </summary>
internal sealed class RowComputation
{
    private readonly SchemaBinding _binding;
    private readonly DataViewRow _input;
    private readonly Func<object>[] _readers;
    private readonly CancellationToken _cancellationToken;
    private long _position = -1;
    private float[]? _values;

    public RowComputation(SchemaBinding binding, DataViewRow input, CancellationToken cancellationToken)
    {
        _binding = binding;
        _input = input;
        _cancellationToken = cancellationToken;
        _readers = binding.Function.Inputs.Select((column, i) => column.CreateReader(input, binding.InputColumns[i])).ToArray();
    }

    public float[] Current()
    {
        if (_values is null || _position != _input.Position)
        {
            _values = null; // a failed computation must not leave the previous row's values behind
            var inputs = _readers.Select(read => read()).ToArray();
            _values = _binding.Function.Compute(inputs, _input.Position, _cancellationToken);
            _position = _input.Position;
        }
        return _values;
    }

    public Delegate CreateGetter<TValue>(DataViewSchema.Column column)
    {
        if (typeof(TValue) != typeof(VBuffer<float>))
        {
            throw new InvalidOperationException(
                $"Column '{column.Name}' is {column.Type}; read it as VBuffer<Single> (or float[] through ML.NET's typed APIs), not {typeof(TValue).Name}.");
        }
        ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> destination) =>
        {
            var values = Current();
            var editor = VBufferEditor.Create(ref destination, values.Length);
            values.CopyTo(editor.Values);
            destination = editor.Commit();
        };
        return getter;
    }
}
