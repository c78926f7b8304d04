using Microsoft.ML;
using Microsoft.ML.Data;
using Vcut.MLNet;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;

// The ML.NET face of Vcut, end to end on the embedded default model (a tiny SVD with seeded weights: abstract motion,
// seconds per video on one core). Usage: vcut-mlnet-sample [OUTPUT FOLDER]   (default: out/mlnet-sample)
var output = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine("out", "mlnet-sample"));
Directory.CreateDirectory(output);
var assets = Path.Combine(AppContext.BaseDirectory, "assets");

// Three pictures: the bundled sample and two tiles cut from it, as image paths (what a dataset usually holds).
var sample = RgbImage.Load(Path.Combine(assets, "sample.png"));
var names = new List<string> { "sample.png" };
foreach (var (name, x0, y0) in new[] { ("left.png", 0, 0), ("right.png", sample.Width / 2, sample.Height / 2) })
{
    int width = sample.Width / 2, height = sample.Height / 2;
    var tile = new float[3 * width * height];
    for (var c = 0; c < 3; c++)
    {
        for (var y = 0; y < height; y++)
        {
            Array.Copy(sample.Pixels, (c * sample.Height + y0 + y) * sample.Width + x0, tile, (c * height + y) * width, width);
        }
    }
    RgbImage.FromPixels(tile, width, height).SavePng(Path.Combine(output, name));
    names.Add(name);
}
File.Copy(Path.Combine(assets, "sample.png"), Path.Combine(output, "sample.png"), overwrite: true);

var context = new MLContext();
var images = context.Data.LoadFromEnumerable(names.Select(name => new ImageFile { Path = name }).ToArray());

// 1. The one-line pipeline: LoadImages, then image → video. Options: the embedded model, VCUT exact, 8 steps.
var options = new VcutVideoOptions { Generation = new VideoGenerationOptions { Steps = 8, Seed = 42 } };
var pipeline = context.Transforms.LoadImages("Image", output, nameof(ImageFile.Path))
    .Append(context.Transforms.GenerateVideo("Video", "Image", options));
var model = pipeline.Fit(images);                       // checks the schema, opens the model; reads no rows
var videos = model.Transform(images);                   // returns at once: rows are computed when read
var videoColumn = videos.Schema["Video"];
Console.WriteLine($"column 'Video': {videoColumn.Type}");

// Stream the videos: one row at a time, written out and dropped before the next is computed.
var vcut = model.LastTransformer;
using (var cursor = videos.GetRowCursor([videoColumn, videos.Schema[nameof(ImageFile.Path)]]))
{
    var video = cursor.GetGetter<VBuffer<float>>(videoColumn);
    var path = cursor.GetGetter<ReadOnlyMemory<char>>(videos.Schema[nameof(ImageFile.Path)]);
    var dimensions = ((VectorDataViewType)videoColumn.Type).Dimensions;
    int frames = dimensions[0], height = dimensions[2], width = dimensions[3];
    VBuffer<float> values = default;
    ReadOnlyMemory<char> name = default;
    while (cursor.MoveNext())
    {
        video(ref values);
        path(ref name);
        var pixels = values.DenseValues().ToArray();
        var folder = Path.Combine(output, Path.GetFileNameWithoutExtension(name.ToString()));
        Directory.CreateDirectory(folder);
        var size = 3 * height * width;
        for (var f = 0; f < frames; f++)
        {
            RgbImage.FromPixels(pixels[(f * size)..((f + 1) * size)], width, height).SavePng(Path.Combine(folder, $"frame_{f:000}.png"));
        }
        Console.WriteLine($"  {name}: {frames} frames of {width}×{height} → {folder} (rows computed so far: {vcut.RowsComputed})");
    }
}

// 2. Stage by stage: the same video, with every intermediate column to inspect (or replace).
var stages = context.Transforms.LoadImages("Image", output, nameof(ImageFile.Path))
    .Append(context.Transforms.GenerateVideoByStages("Video", "Image", options))
    .Fit(images);
var staged = stages.Transform(images);
foreach (var column in new[] { "ImageEmbedding", "ConditioningLatent", "ConditioningCache", "VideoLatents", "Video" })
{
    Console.WriteLine($"stage column '{column}': {staged.Schema[column].Type}");
}
var oneShot = videos.GetColumn<float[]>("Video").First();
var byStages = staged.GetColumn<float[]>("Video").First();
Console.WriteLine($"first video, stages vs one step: {(oneShot.SequenceEqual(byStages) ? "identical" : "DIFFERENT")}");

// 3. Save and load (SaveWithVcut/LoadWithVcut: ML.NET's zip plus the Vcut transformers' options), then predict one image.
var file = Path.Combine(output, "model.zip");
context.Model.SaveWithVcut(model, images.Schema, file);
var loaded = new MLContext().Model.LoadWithVcut(file, out var inputSchema);
var engine = context.Model.CreatePredictionEngine<ImageFile, VideoPrediction>(loaded, inputSchema);
var predicted = engine.Predict(new ImageFile { Path = "sample.png" });
Console.WriteLine($"saved {file} ({new FileInfo(file).Length} bytes); loaded model's prediction for sample.png: " +
    $"{(predicted.Video.SequenceEqual(oneShot) ? "the same frames" : "DIFFERENT frames")}");

foreach (var part in new ITransformer[] { model, stages, loaded }.SelectMany(t => t is IEnumerable<ITransformer> chain ? chain : [t]))
{
    (part as IDisposable)?.Dispose();
}

/// <summary>A row of the input: an image path relative to the output folder.</summary>
internal sealed class ImageFile
{
    public string Path { get; set; } = "";
}

/// <summary>The prediction: the video column.</summary>
internal sealed class VideoPrediction
{
    public float[] Video { get; set; } = [];
}
