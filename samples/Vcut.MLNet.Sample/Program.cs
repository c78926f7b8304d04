using Microsoft.ML;
using Vcut.MLNet;

// Image to video with ML.NET, end to end on the embedded default model: a dataset of pictures with their own seed and
// motion, LoadImages → GenerateVideo, typed output rows, the stages, plain Save and Load, a PredictionEngine.
// Usage: vcut-mlnet-sample [OUTPUT FOLDER]   (default: out/mlnet-sample)
var output = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine("out", "mlnet-sample"));
Directory.CreateDirectory(output);
var imageFolder = Path.Combine(AppContext.BaseDirectory, "assets");

var mlContext = new MLContext();
var data = mlContext.Data.LoadFromEnumerable(new[]
{
    new ImageInput { ImagePath = "sample.png", Seed = 1, MotionBucket = 127 },
    new ImageInput { ImagePath = "sample.png", Seed = 2, MotionBucket = 127 },
    new ImageInput { ImagePath = "sample.png", Seed = 1, MotionBucket = 255 },
});

// 1. LoadImages, then image → video. Each row's seed and motion bucket come from its columns; 8 steps to stay quick.
var settings = new VcutVideoOptions
{
    OutputColumnName = "Video",
    InputColumnName = "Image",
    Steps = 8,
    SeedColumnName = nameof(ImageInput.Seed),
    MotionBucketIdColumnName = nameof(ImageInput.MotionBucket),
};
var pipeline = mlContext.Transforms.LoadImages("Image", imageFolder, nameof(ImageInput.ImagePath))
    .Append(mlContext.Transforms.GenerateVideo(settings));
using var model = pipeline.Fit(data);                  // checks the schema, opens the model; reads no rows
if (model.LastTransformer.Model is { } about)
{
    Console.WriteLine(about.HasTrainedWeights
        ? $"model: the embedded default, {about.Preset} preset with trained weights ({about.Weights}): each video animates its picture, as well as a model this size learned to"
        : $"model: the embedded default, {about.Preset} preset with seeded weights ({about.Weights}), never trained: its videos are abstract coloured motion, not the picture moving");
}

var videos = model.Transform(data);                     // returns at once: a row's video is computed when it is read
Console.WriteLine($"column 'Video': {videos.Schema["Video"].Type}");

// Typed rows, one at a time: each video is written as a GIF before the next is computed.
foreach (var row in mlContext.Data.CreateEnumerable<VideoOutput>(videos, reuseRowObject: false))
{
    var video = row.ToVideo(videos.Schema);
    var file = video.Save(Path.Combine(output, $"{Path.GetFileNameWithoutExtension(row.ImagePath)}-seed{row.Seed}-motion{row.MotionBucket}.gif"));
    using var firstFrame = video.GetFrame(0);           // an MLImage, for ML.NET's image transforms
    Console.WriteLine($"  {row.ImagePath}, seed {row.Seed}, motion bucket {row.MotionBucket}: {video.FrameCount} frames of " +
        $"{firstFrame.Width}×{firstFrame.Height} → {file}");
}

// 2. Stage by stage: the same video, with every intermediate column (Video.ImageEmbedding, …) to inspect or replace.
using var stages = mlContext.Transforms.LoadImages("Image", imageFolder, nameof(ImageInput.ImagePath))
    .Append(mlContext.Transforms.GenerateVideoByStages(new VcutStagesOptions(settings) { OutputColumnName = "Video", InputColumnName = "Image" }))
    .Fit(data);
var staged = stages.Transform(data);
foreach (var column in staged.Schema.Where(c => c.Name.StartsWith("Video", StringComparison.Ordinal)))
{
    Console.WriteLine($"stage column '{column.Name}': {column.Type}");
}
var oneStep = videos.GetVideos("Video").First();
var byStages = staged.GetVideos("Video").First();
Console.WriteLine($"first video, stages vs one step: {(oneStep.Pixels.SequenceEqual(byStages.Pixels) ? "identical" : "DIFFERENT")}");

// 3. ML.NET's own Save and Load; RestoreVcut opens the Vcut models of the loaded pipeline. Then predict one picture.
var modelFile = Path.Combine(output, "model.zip");
mlContext.Model.Save(model, data.Schema, modelFile);
var loadContext = new MLContext();
var loaded = loadContext.Model.RestoreVcut(loadContext.Model.Load(modelFile, out var inputSchema));
using (var engine = loadContext.Model.CreatePredictionEngine<ImageInput, VideoOutput>(loaded, inputSchema))
{
    var prediction = engine.Predict(new ImageInput { ImagePath = "sample.png", Seed = 1, MotionBucket = 127 });
    var predicted = prediction.ToVideo(engine.OutputSchema);
    var frames = predicted.Save(Path.Combine(output, "predicted"));     // no extension: a folder of PNG frames
    Console.WriteLine($"saved {modelFile} ({new FileInfo(modelFile).Length} bytes); the loaded model's prediction for sample.png, seed 1: " +
        $"{(predicted.Pixels.SequenceEqual(oneStep.Pixels) ? "the same frames" : "DIFFERENT frames")} → {frames}");
}
(loaded as IDisposable)?.Dispose();

/// <summary>A row of the input: an image path (relative to the image folder) and its conditioning.</summary>
internal sealed class ImageInput
{
    public string ImagePath { get; set; } = "";

    public ulong Seed { get; set; }

    public float MotionBucket { get; set; }
}

/// <summary>A row of the output: the video (from <see cref="VideoRow"/>) and the input columns it came with.</summary>
internal sealed class VideoOutput : VideoRow
{
    public string ImagePath { get; set; } = "";

    public ulong Seed { get; set; }

    public float MotionBucket { get; set; }
}
