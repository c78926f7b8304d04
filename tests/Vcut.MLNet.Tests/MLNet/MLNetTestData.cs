using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>A row with an in-memory image, as ML.NET's typed APIs take it.</summary>
public sealed class ImageRow
{
    [ImageType(30, 40)]
    public MLImage Image { get; set; } = null!;
}

/// <summary>A row with an image path.</summary>
public sealed class PathRow
{
    public string Image { get; set; } = "";
}

/// <summary>What a prediction engine returns.</summary>
public sealed class VideoPrediction
{
    public float[] Video { get; set; } = [];
}

internal static class MLNetTestData
{
    /// <summary>Short settings, Image → Video, on the tests' tiny model: the behaviour under test does not depend on size.</summary>
    public static readonly VcutVideoOptions Short = new()
    {
        ModelDirectory = TestModels.Tiny,
        OutputColumnName = "Video",
        InputColumnName = "Image",
        Frames = 2,
        Steps = 2,
        Height = 32,
        Width = 40,
        Seed = 7,
    };

    /// <summary>The runtime's video options that <paramref name="settings"/> give (what VideoGenerator is called with to compare).</summary>
    public static VideoGenerationOptions Generation(VcutOptions settings) => settings.Generation;

    /// <summary>The stage chain, Image → Video, with <paramref name="settings"/>; stage columns named <c>Video.ImageEmbedding</c>….</summary>
    public static VcutStagesOptions Stages(VcutOptions settings) => new(settings) { OutputColumnName = "Video", InputColumnName = "Image" };

    /// <summary>Releases every transformer of a model (chains included).</summary>
    public static void DisposeAll(ITransformer model)
    {
        if (model is IEnumerable<ITransformer> chain)
        {
            foreach (var part in chain)
            {
                DisposeAll(part);
            }
        }
        (model as IDisposable)?.Dispose();
    }

    /// <summary>Every transformer of a model, chains flattened.</summary>
    public static IEnumerable<ITransformer> Flatten(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : [model];

    /// <summary>An exception's message with its inner exceptions'.</summary>
    public static string Messages(Exception e) => e.InnerException is null ? e.Message : e.Message + " ← " + Messages(e.InnerException);

    /// <summary>The same picture as 8-bit RGBA bytes (an MLImage) and as the RgbImage the plain API takes.</summary>
    public static (MLImage MLImage, RgbImage Rgb) Picture(int seed, int width = 40, int height = 30)
    {
        var rgba = new byte[4 * width * height];
        var planar = new float[3 * width * height];
        var plane = width * height;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var i = y * width + x;
                for (var c = 0; c < 3; c++)
                {
                    var value = (byte)(127.5 + 127.5 * Math.Sin(0.3 * x + 0.2 * y + c + 0.7 * seed));
                    rgba[4 * i + c] = value;
                    planar[c * plane + i] = value / 255f;
                }
                rgba[4 * i + 3] = 255;
            }
        }
        return (MLImage.CreateFromPixels(width, height, MLPixelFormat.Rgba32, rgba), RgbImage.FromPixels(planar, width, height));
    }

    public static IDataView Images(MLContext context, int count) =>
        context.Data.LoadFromEnumerable(Enumerable.Range(0, count).Select(i => new ImageRow { Image = Picture(i).MLImage }).ToArray());

    /// <summary>Every row's values of a float vector column, read with a fresh cursor.</summary>
    public static List<float[]> Column(IDataView data, string name)
    {
        var column = data.Schema[name];
        var rows = new List<float[]>();
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            rows.Add(buffer.DenseValues().ToArray());
        }
        return rows;
    }

    /// <summary>ML.NET's estimator-time shape of a schema (its factory is internal to ML.NET; EstimatorChain.Fit calls it).</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static,
            [typeof(DataViewSchema)])!.Invoke(null, [schema])!;

    public static float MaxDifference(float[] a, float[] b)
    {
        Assert.HasCount(a.Length, b);
        return a.Zip(b, (x, y) => MathF.Abs(x - y)).Max();
    }
}
