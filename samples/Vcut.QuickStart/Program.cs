// An image to a video in 15 lines with the plain API: the embedded default model, an animated GIF out.
// Usage: dotnet run --project samples/Vcut.QuickStart -- [image] [output.gif|.mp4|folder]
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Video;

var imagePath = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "assets", "sample.png");
var outputPath = args.Length > 1 ? args[1] : "out/quickstart.gif";

using var generator = VideoGenerator.Open(); // the embedded default; VideoGenerator.Open("path/to/model") for another
var options = new VideoGenerationOptions { Steps = 10, Seed = 7 };
var video = await generator.GenerateAsync(RgbImage.Load(imagePath), options);
var written = VideoFileWriter.Write(video, outputPath, new VideoWriteOptions { Fps = options.Fps });
Console.WriteLine($"{video.FrameCount} frames of {video.Width}×{video.Height} written to {written}");
