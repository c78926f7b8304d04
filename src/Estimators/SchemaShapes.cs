using Microsoft.ML;
using Microsoft.ML.Data;

namespace Vcut.MLNet;

/// <summary>
/// Estimator-time schemas. <see cref="SchemaShape.Column"/> has no public constructor, so a new column's shape is made
/// by ML.NET itself: a do-nothing <c>CustomMapping</c> estimator whose output schema definition names the column and
/// gives its type adds it to the input shape (replacing a column of the same name), exactly as ML.NET's own estimators do.
/// </summary>
internal static class SchemaShapes
{
    /// <summary><paramref name="input"/> with the column <paramref name="name"/> of <paramref name="type"/> added or replaced.</summary>
    public static SchemaShape WithColumn(SchemaShape input, string name, DataViewType type)
    {
        var definition = SchemaDefinition.Create(typeof(OneColumn));
        definition[0].ColumnName = name;
        definition[0].ColumnType = type;
        var shaper = new MLContext().Transforms.CustomMapping<NoColumns, OneColumn>(static (_, _) => { }, contractName: null,
            outputSchemaDefinition: definition);
        return shaper.GetOutputSchema(input);
    }

    /// <summary>A row type without columns: the shaper reads nothing.</summary>
    internal sealed class NoColumns;

    /// <summary>A row type with one vector column, renamed and retyped by a schema definition.</summary>
    internal sealed class OneColumn
    {
        /// <summary>The column.</summary>
        public float[] Value = [];
    }
}
