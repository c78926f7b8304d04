using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Vcut.Runtime.Imaging;

namespace Vcut.MLNet.Mapping;

/// <summary>What a stage reads from one input column, and how it checks the column's type.</summary>
internal abstract record InputColumn(string Name)
{
    /// <summary>What the column must be, for error messages.</summary>
    public abstract string Expected { get; }

    /// <summary>Whether <paramref name="type"/> is acceptable.</summary>
    public abstract bool Accepts(DataViewType type);

    /// <summary>Whether an estimator-time column shape is acceptable (shapes carry no vector sizes).</summary>
    public abstract bool Accepts(SchemaShape.Column column);

    /// <summary>A reader of the column's value at the current row of <paramref name="row"/>.</summary>
    public abstract Func<object> CreateReader(DataViewRow row, DataViewSchema.Column column);

    /// <summary>Finds the column in <paramref name="schema"/> and checks its type.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column, or a column of another type (ML.NET's own schema-mismatch exception type).</exception>
    public DataViewSchema.Column Find(DataViewSchema schema, string stage)
    {
        if (schema.GetColumnOrNull(Name) is not { } column)
        {
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"{stage}: input column '{Name}' not found; expected {Expected}. The input has: {Describe(schema)}.");
        }
        if (!Accepts(column.Type))
        {
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"{stage}: input column '{Name}' is {column.Type}; expected {Expected}.");
        }
        return column;
    }

    /// <summary>Finds the column in an estimator's input shape and checks its kind and item type.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column, or a column of another kind or item type.</exception>
    public void Check(SchemaShape shape, string stage)
    {
        var found = shape.Where(c => c.Name == Name).ToArray();
        if (found.Length == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(shape),
                $"{stage}: input column '{Name}' not found; expected {Expected}. The input has: {string.Join(", ", shape.Select(c => $"'{c.Name}'"))}.");
        }
        var column = found[^1];
        if (!Accepts(column))
        {
            throw new ArgumentOutOfRangeException(nameof(shape),
                $"{stage}: input column '{Name}' is {Describe(column)}; expected {Expected}.");
        }
    }

    private static string Describe(SchemaShape.Column column) => column.Kind switch
    {
        SchemaShape.Column.VectorKind.Scalar => $"{column.ItemType}{(column.IsKey ? " (key)" : "")}",
        SchemaShape.Column.VectorKind.Vector => $"a vector of {column.ItemType}",
        _ => $"a variable-length vector of {column.ItemType}",
    };

    private static string Describe(DataViewSchema schema) =>
        schema.Count == 0 ? "no columns" : string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' ({c.Type})"));
}

/// <summary>An image: an <see cref="MLImage"/> column (what <c>LoadImages</c> makes) or a text column of image file paths.</summary>
internal sealed record ImageInputColumn(string Name) : InputColumn(Name)
{
    public override string Expected => "an image column (MLImage, as LoadImages makes) or a text column of image file paths";

    public override bool Accepts(DataViewType type) => type is ImageDataViewType or TextDataViewType;

    public override bool Accepts(SchemaShape.Column column) =>
        column.Kind == SchemaShape.Column.VectorKind.Scalar && column.ItemType is ImageDataViewType or TextDataViewType;

    public override Func<object> CreateReader(DataViewRow row, DataViewSchema.Column column)
    {
        if (column.Type is TextDataViewType)
        {
            var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> path = default;
            return () =>
            {
                getter(ref path);
                var text = path.ToString();
                if (string.IsNullOrWhiteSpace(text))
                {
                    throw new InvalidDataException($"Column '{Name}', row {row.Position}: the image path is empty.");
                }
                return RgbImage.Load(text);
            };
        }
        var images = row.GetGetter<MLImage>(column);
        MLImage? image = null;
        return () =>
        {
            images(ref image!);
            if (image is null)
            {
                throw new InvalidDataException($"Column '{Name}', row {row.Position}: no image (the MLImage is missing; did LoadImages find the file?).");
            }
            return ToRgb(image, Name);
        };
    }

    /// <summary>The 8-bit RGB samples of <paramref name="image"/> divided by 255, planar; alpha is dropped.</summary>
    internal static RgbImage ToRgb(MLImage image, string column)
    {
        int red, blue;
        switch (image.PixelFormat)
        {
            case MLPixelFormat.Rgba32:
                (red, blue) = (0, 2);
                break;
            case MLPixelFormat.Bgra32:
                (red, blue) = (2, 0);
                break;
            default:
                throw new InvalidDataException($"Column '{column}': an MLImage in pixel format {image.PixelFormat}; expected Rgba32 or Bgra32.");
        }
        var pixels = image.Pixels;
        int width = image.Width, height = image.Height, plane = width * height;
        if (pixels.Length != 4 * plane)
        {
            throw new InvalidDataException($"Column '{column}': an MLImage of {width}×{height} with {pixels.Length} bytes; expected {4 * plane}.");
        }
        var planar = new float[3 * plane];
        for (var i = 0; i < plane; i++)
        {
            planar[i] = pixels[4 * i + red] / 255f;
            planar[plane + i] = pixels[4 * i + 1] / 255f;
            planar[2 * plane + i] = pixels[4 * i + blue] / 255f;
        }
        return RgbImage.FromPixels(planar, width, height);
    }
}

/// <summary>A fixed-size vector of <see cref="float"/> with <see cref="Size"/> values (any dimensions that multiply to it).</summary>
internal sealed record VectorInputColumn(string Name, int Size, string Meaning) : InputColumn(Name)
{
    public override string Expected => $"a vector of {Size} Single values ({Meaning})";

    public override bool Accepts(DataViewType type) =>
        type is VectorDataViewType vector && vector.ItemType == NumberDataViewType.Single && vector.Size == Size;

    public override bool Accepts(SchemaShape.Column column) =>
        column.Kind == SchemaShape.Column.VectorKind.Vector && column.ItemType == NumberDataViewType.Single && !column.IsKey;

    public override Func<object> CreateReader(DataViewRow row, DataViewSchema.Column column)
    {
        var getter = row.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        return () =>
        {
            getter(ref buffer);
            var values = new float[Size];
            buffer.CopyTo(values);
            return values;
        };
    }
}
