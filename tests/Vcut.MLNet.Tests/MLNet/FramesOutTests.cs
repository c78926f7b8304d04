using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;
using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Imaging;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>From the video column to MLImage frames, files, and typed rows.</summary>
[TestClass]
public sealed class FramesOutTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>A typed output row: the video and the image path it came from.</summary>
    public sealed class NamedVideo : VideoRow
    {
        public string Image { get; set; } = "";
    }

    private static byte Quantize(float value) => (byte)MathF.Round(Math.Clamp(value, 0f, 1f) * 255f, MidpointRounding.ToEven);

    [TestMethod]
    public void VideoColumnGivesMLImageFramesOfTheVideosEightBitPixels()
    {
        var context = new MLContext();
        using var transformer = context.Transforms.GenerateVideo(Short).Fit(Images(context, 2));
        var output = transformer.Transform(Images(context, 2));
        var values = Column(output, "Video");
        var videos = output.GetVideos("Video").ToArray();
        Assert.HasCount(2, videos);
        var video = videos[1];
        Assert.AreEqual((2, 32, 40), (video.FrameCount, video.Height, video.Width));
        CollectionAssert.AreEqual(values[1], video.Pixels);
        var frames = video.ToFrames();
        try
        {
            Assert.HasCount(2, frames);
            var frame = frames[1];
            Assert.AreEqual((40, 32, MLPixelFormat.Rgba32), (frame.Width, frame.Height, frame.PixelFormat));
            var plane = 32 * 40;
            var pixels = frame.Pixels;
            for (var i = 0; i < plane; i++)
            {
                for (var c = 0; c < 3; c++)
                {
                    Assert.AreEqual(Quantize(values[1][(3 + c) * plane + i]), pixels[4 * i + c]);
                }
                Assert.AreEqual(255, pixels[4 * i + 3]);
            }
        }
        finally
        {
            foreach (var frame in frames)
            {
                frame.Dispose();
            }
        }
        var notAVideo = Assert.ThrowsExactly<ArgumentException>(() => output.GetVideos("Image"));
        StringAssert.Contains(notAVideo.Message, "Vector<Single, F, 3, H, W>");
    }

    [TestMethod]
    public void SaveVideosWritesOneFilePerRowNamedByAColumnThroughTheRuntimesWriters()
    {
        using var folder = new TempFolder();
        var context = new MLContext();
        var paths = new[] { "cat.png", "dog.png" }.Select((name, i) =>
        {
            Picture(i).Rgb.SavePng(folder.File(name));
            return new PathRow { Image = name };
        }).ToArray();
        var data = context.Data.LoadFromEnumerable(paths);
        using var transformer = context.Transforms.GenerateVideo(Short with { ImageFolder = folder.Path }).Fit(data);
        var output = transformer.Transform(data);
        var values = Column(output, "Video");

        var gifs = output.SaveVideos("Video", folder.File("gifs"), fileNameColumnName: "Image");
        CollectionAssert.AreEqual(new[] { folder.File("gifs/cat.gif"), folder.File("gifs/dog.gif") }, gifs.ToArray());
        using (var codec = SKCodec.Create(gifs[1]))
        {
            Assert.AreEqual(SKEncodedImageFormat.Gif, codec.EncodedFormat);
            Assert.AreEqual(2, codec.FrameCount);
            Assert.AreEqual((40, 32), (codec.Info.Width, codec.Info.Height));
        }

        var pngs = output.SaveVideos("Video", folder.File("frames"), extension: "");
        CollectionAssert.AreEqual(new[] { folder.File("frames/video_000"), folder.File("frames/video_001") }, pngs.ToArray());
        var second = RgbImage.Load(Path.Combine(pngs[1], "frame_001.png"));
        var plane = 32 * 40;
        for (var i = 0; i < 3 * plane; i++)
        {
            Assert.AreEqual(Quantize(values[1][3 * plane + i]) / 255f, second.Pixels[i], $"value {i} of frame 1 of row 1");
        }
        TestContext.WriteLine($"wrote {string.Join(", ", gifs.Concat(pngs).Select(Path.GetFileName))}");
    }

    [TestMethod]
    public void TypedRowClassWorksWithCreateEnumerableAndPredictionEngine()
    {
        using var folder = new TempFolder();
        var context = new MLContext();
        var data = context.Data.LoadFromEnumerable(Enumerable.Range(0, 2).Select(i =>
        {
            var path = folder.File($"{i}.png");
            Picture(i).Rgb.SavePng(path);
            return new PathRow { Image = path };
        }).ToArray());
        using var transformer = context.Transforms.GenerateVideo(Short).Fit(data);
        var output = transformer.Transform(data);
        var expected = Column(output, "Video");

        var rows = context.Data.CreateEnumerable<NamedVideo>(output, reuseRowObject: false).ToArray();
        Assert.HasCount(2, rows);
        Assert.AreEqual(folder.File("1.png"), rows[1].Image, "a derived row reads its own columns too");
        var video = rows[1].ToVideo(output.Schema);
        Assert.AreEqual(2, video.FrameCount);
        CollectionAssert.AreEqual(expected[1], video.Pixels);

        var engine = context.Model.CreatePredictionEngine<PathRow, VideoRow>(transformer);
        var predicted = engine.Predict(new PathRow { Image = folder.File("0.png") }).ToVideo(engine.OutputSchema);
        CollectionAssert.AreEqual(expected[0], predicted.Pixels);
        var file = predicted.Save(folder.File("predicted.gif"), fps: 10);
        Assert.IsTrue(new FileInfo(file).Length > 0);
    }
}
