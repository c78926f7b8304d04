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

/// <summary>
/// An image: an <see cref="MLImage"/> column (what <c>LoadImages</c> makes) or a text column of image file paths, read
/// from <paramref name="ImageFolder"/> when relative (as <c>LoadImages</c> does; null = the current directory).
/// </summary>
internal sealed record ImageInputColumn(string Name, string? ImageFolder = null) : InputColumn(Name)
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
                return RgbImage.Load(string.IsNullOrWhiteSpace(ImageFolder) ? text : Path.Combine(ImageFolder, text));
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

/// <summary>A per-row conditioning value: which setting a column overrides for its row.</summary>
internal enum ConditioningRole
{
    /// <summary>The seed of the noise (an integer).</summary>
    Seed,
    /// <summary>The motion bucket id.</summary>
    MotionBucketId,
    /// <summary>The conditioning frames per second.</summary>
    Fps,
    /// <summary>The noise augmentation strength.</summary>
    NoiseAugStrength,
}

/// <summary>
/// A scalar column holding one conditioning setting per row: any integer type for the seed (read exactly, as
/// <see cref="ulong"/>; negative values are refused when read), any numeric type for the others (read as <see cref="float"/>).
/// </summary>
internal sealed record ConditioningInputColumn(string Name, ConditioningRole Role) : InputColumn(Name)
{
    private static readonly Type[] Integers = [typeof(sbyte), typeof(byte), typeof(short), typeof(ushort), typeof(int), typeof(uint), typeof(long), typeof(ulong)];

    public override string Expected => Role == ConditioningRole.Seed
        ? "a scalar integer column (the per-row seed: SByte, Byte, Int16, UInt16, Int32, UInt32, Int64 or UInt64)"
        : $"a scalar numeric column (the per-row {Meaning}: Single, Double or an integer type)";

    private string Meaning => Role switch
    {
        ConditioningRole.MotionBucketId => "motion bucket id",
        ConditioningRole.Fps => "conditioning fps",
        _ => "noise augmentation strength",
    };

    public override bool Accepts(DataViewType type) =>
        type is NumberDataViewType number && (Role != ConditioningRole.Seed || Integers.Contains(number.RawType));

    public override bool Accepts(SchemaShape.Column column) =>
        column.Kind == SchemaShape.Column.VectorKind.Scalar && !column.IsKey && Accepts(column.ItemType);

    public override Func<object> CreateReader(DataViewRow row, DataViewSchema.Column column)
    {
        if (Role == ConditioningRole.Seed)
        {
            var integer = Integer(row, column);
            return () =>
            {
                var (negative, value) = integer();
                return negative
                    ? throw new InvalidDataException($"Column '{Name}', row {row.Position}: the seed is negative; expected a value from 0 to {ulong.MaxValue}.")
                    : value;
            };
        }
        var real = Real(row, column);
        return () => real();
    }

    private static Func<(bool Negative, ulong Value)> Integer(DataViewRow row, DataViewSchema.Column column) => column.Type.RawType switch
    {
        var t when t == typeof(sbyte) => Read<sbyte, (bool, ulong)>(row, column, v => (v < 0, v < 0 ? 0UL : (ulong)v)),
        var t when t == typeof(byte) => Read<byte, (bool, ulong)>(row, column, v => (false, v)),
        var t when t == typeof(short) => Read<short, (bool, ulong)>(row, column, v => (v < 0, v < 0 ? 0UL : (ulong)v)),
        var t when t == typeof(ushort) => Read<ushort, (bool, ulong)>(row, column, v => (false, v)),
        var t when t == typeof(int) => Read<int, (bool, ulong)>(row, column, v => (v < 0, v < 0 ? 0UL : (ulong)v)),
        var t when t == typeof(uint) => Read<uint, (bool, ulong)>(row, column, v => (false, v)),
        var t when t == typeof(long) => Read<long, (bool, ulong)>(row, column, v => (v < 0, v < 0 ? 0UL : (ulong)v)),
        _ => Read<ulong, (bool, ulong)>(row, column, v => (false, v)),
    };

    private static Func<float> Real(DataViewRow row, DataViewSchema.Column column) => column.Type.RawType switch
    {
        var t when t == typeof(float) => Read<float, float>(row, column, v => v),
        var t when t == typeof(double) => Read<double, float>(row, column, v => (float)v),
        var t when t == typeof(sbyte) => Read<sbyte, float>(row, column, v => v),
        var t when t == typeof(byte) => Read<byte, float>(row, column, v => v),
        var t when t == typeof(short) => Read<short, float>(row, column, v => v),
        var t when t == typeof(ushort) => Read<ushort, float>(row, column, v => v),
        var t when t == typeof(int) => Read<int, float>(row, column, v => v),
        var t when t == typeof(uint) => Read<uint, float>(row, column, v => v),
        var t when t == typeof(long) => Read<long, float>(row, column, v => v),
        _ => Read<ulong, float>(row, column, v => v),
    };

    private static Func<TResult> Read<TValue, TResult>(DataViewRow row, DataViewSchema.Column column, Func<TValue, TResult> convert)
    {
        var getter = row.GetGetter<TValue>(column);
        TValue value = default!;
        return () =>
        {
            getter(ref value);
            return convert(value);
        };
    }
}

/// <summary>The per-row conditioning columns a stage reads: those its settings name, in the order of the roles given.</summary>
internal static class ConditioningColumns
{
    public static IEnumerable<InputColumn> For(VcutOptions settings, params ConditioningRole[] roles)
    {
        foreach (var role in roles)
        {
            var name = role switch
            {
                ConditioningRole.Seed => settings.SeedColumnName,
                ConditioningRole.MotionBucketId => settings.MotionBucketIdColumnName,
                ConditioningRole.Fps => settings.FpsColumnName,
                _ => settings.NoiseAugStrengthColumnName,
            };
            if (name is not null)
            {
                yield return new ConditioningInputColumn(name, role);
            }
        }
    }
}
