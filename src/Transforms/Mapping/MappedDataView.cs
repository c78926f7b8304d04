using Microsoft.ML;
using Microsoft.ML.Data;

namespace Vcut.MLNet.Mapping;

/// <summary>
/// The lazy result of a Vcut transformer: the input's rows with one column added. Creating it computes nothing; a
/// row's output is computed when a cursor's getter first asks for it, once per row per cursor.
/// </summary>
internal sealed class MappedDataView(IDataView input, SchemaBinding binding, CancellationToken cancellationToken) : IDataView
{
    public bool CanShuffle => input.CanShuffle;

    public DataViewSchema Schema => binding.OutputSchema;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var inputColumns = binding.InputColumnsFor(columnsNeeded, out var outputActive);
        return new MappedCursor(binding, input.GetRowCursor(inputColumns, rand), outputActive, cancellationToken);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        // The input's split, each part mapped by its own cursor: ML.NET may read them on several threads, which the
        // shared generator allows.
        var inputColumns = binding.InputColumnsFor(columnsNeeded, out var outputActive);
        return input.GetRowCursorSet(inputColumns, n, rand)
            .Select(cursor => (DataViewRowCursor)new MappedCursor(binding, cursor, outputActive, cancellationToken))
            .ToArray();
    }
}

/// <summary>A cursor over a <see cref="MappedDataView"/>: the input cursor's columns plus the computed one.</summary>
internal sealed class MappedCursor : DataViewRowCursor
{
    private readonly SchemaBinding _binding;
    private readonly DataViewRowCursor _input;
    private readonly bool _outputActive;
    private readonly RowComputation? _computation;

    public MappedCursor(SchemaBinding binding, DataViewRowCursor input, bool outputActive, CancellationToken cancellationToken)
    {
        _binding = binding;
        _input = input;
        _outputActive = outputActive;
        _computation = outputActive ? new RowComputation(binding, input, cancellationToken) : null;
    }

    public override DataViewSchema Schema => _binding.OutputSchema;

    public override long Position => _input.Position;

    public override long Batch => _input.Batch;

    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool MoveNext() => _input.MoveNext();

    public override bool IsColumnActive(DataViewSchema.Column column) =>
        column.Index == _binding.OutputIndex ? _outputActive : _input.IsColumnActive(_binding.InputSchema[column.Index]);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
        RowGetters.Get<TValue>(_binding, _input, _computation, column);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _input.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>A single mapped row over an input row, for <see cref="IRowToRowMapper"/> (what <c>PredictionEngine</c> uses).</summary>
internal sealed class MappedRow : DataViewRow
{
    private readonly SchemaBinding _binding;
    private readonly DataViewRow _input;
    private readonly bool _outputActive;
    private readonly RowComputation? _computation;

    public MappedRow(SchemaBinding binding, DataViewRow input, bool outputActive)
    {
        _binding = binding;
        _input = input;
        _outputActive = outputActive;
        _computation = outputActive ? new RowComputation(binding, input, CancellationToken.None) : null;
    }

    public override DataViewSchema Schema => _binding.OutputSchema;

    public override long Position => _input.Position;

    public override long Batch => _input.Batch;

    public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

    public override bool IsColumnActive(DataViewSchema.Column column) =>
        column.Index == _binding.OutputIndex ? _outputActive : _input.IsColumnActive(_binding.InputSchema[column.Index]);

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
        RowGetters.Get<TValue>(_binding, _input, _computation, column);
}

internal static class RowGetters
{
    public static ValueGetter<TValue> Get<TValue>(SchemaBinding binding, DataViewRow input, RowComputation? computation, DataViewSchema.Column column)
    {
        if (column.Index < binding.OutputIndex)
        {
            return input.GetGetter<TValue>(binding.InputSchema[column.Index]);
        }
        if (column.Index != binding.OutputIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(column), $"Column index {column.Index} is not in this schema ({binding.OutputSchema.Count} columns).");
        }
        if (computation is null)
        {
            throw new InvalidOperationException($"Column '{column.Name}' is not active: ask for it when the cursor is created.");
        }
        return (ValueGetter<TValue>)computation.CreateGetter<TValue>(column);
    }
}

/// <summary>The <see cref="IRowToRowMapper"/> of a Vcut transformer.</summary>
internal sealed class MappedRowMapper(SchemaBinding binding) : IRowToRowMapper
{
    public DataViewSchema InputSchema => binding.InputSchema;

    public DataViewSchema OutputSchema => binding.OutputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) =>
        binding.InputColumnsFor(dependingColumns, out _);

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        binding.InputColumnsFor(activeColumns, out var outputActive);
        return new MappedRow(binding, input, outputActive);
    }
}
