using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Video;

namespace Vcut.MLNet.Tests.Video;

/// <summary>The GIF encoder, checked by decoding its files with SkiaSharp and, when installed, ffprobe.</summary>
[TestClass]
public sealed class GifEncoderTests
{
    private static string WriteGif(TempFolder folder, GeneratedVideo video, VideoWriteOptions? options = null, string name = "video.gif") =>
        VideoFileWriter.Write(video, folder.File(name), options);

    // A smooth, moving pattern with thousands of colours: needs a median-cut palette and dithering.
    private static GeneratedVideo Smooth(int frames = 6, int width = 64, int height = 48) =>
        VideoTestData.Synthetic(frames, width, height,
            (f, c, y, x) => (float)(0.5 + 0.45 * Math.Sin(0.11 * x + 0.07 * y + 0.6 * f + 2.1 * c)));

    [TestMethod]
    public void FewColoursRoundTripExactlyWithSizeFramesAndDelays()
    {
        // 5 colours, an odd size: the exact palette is used, so decoding gives back the very bytes.
        float[][] colors = [[0, 0, 0], [1, 1, 1], [1, 0, 0], [0.2f, 0.6f, 1], [0.5f, 0.5f, 0.25f]];
        var video = VideoTestData.Synthetic(3, 17, 11, (f, c, y, x) => colors[(x + 2 * y + f) % colors.Length][c]);
        using var folder = new TempFolder();
        var gif = VideoTestData.DecodeGif(WriteGif(folder, video, new VideoWriteOptions { Fps = 7 }));

        Assert.AreEqual(17, gif.Width);
        Assert.AreEqual(11, gif.Height);
        Assert.HasCount(3, gif.Rgb);
        for (var f = 0; f < 3; f++)
        {
            CollectionAssert.AreEqual(VideoTestData.ExpectedRgb(video, f), gif.Rgb[f], $"frame {f}");
        }
        CollectionAssert.AreEqual(new[] { 140, 150, 140 }, gif.DurationsMs, "7 fps as 14, 15, 14 hundredths");
        Assert.AreEqual(-1, gif.RepetitionCount, "loops forever (NETSCAPE2.0 loop count 0)");
    }

    [TestMethod]
    public void AllLzwCodeWidthsAndTableResetsDecode()
    {
        // 256 colours in noise: 8-bit indices, codes grow to 12 bits and the table fills and restarts many times.
        var random = new Vcut.Graph.Weights.SplitMix64(5);
        var colorOf = Enumerable.Range(0, 256).Select(i => new[] { i / 255f, (i * 7 % 256) / 255f, (255 - i) / 255f }).ToArray();
        var index = new int[2 * 150 * 201];
        for (var i = 0; i < index.Length; i++)
        {
            // Runs of a few pixels, so codes of every length appear, not only single pixels.
            index[i] = i % 3 == 0 ? (int)(random.NextUInt64() % 256) : index[i - 1];
        }
        var video = VideoTestData.Synthetic(2, 201, 150, (f, c, y, x) => colorOf[index[(f * 150 + y) * 201 + x]][c]);
        using var folder = new TempFolder();
        var gif = VideoTestData.DecodeGif(WriteGif(folder, video));
        for (var f = 0; f < 2; f++)
        {
            CollectionAssert.AreEqual(VideoTestData.ExpectedRgb(video, f), gif.Rgb[f], $"frame {f}");
        }
    }

    [TestMethod]
    public void OneColourAndOnePixelVideosDecode()
    {
        using var folder = new TempFolder();
        var flat = VideoTestData.Synthetic(2, 8, 8, (_, c, _, _) => c / 2f);
        var gif = VideoTestData.DecodeGif(WriteGif(folder, flat, name: "flat.gif"));
        CollectionAssert.AreEqual(VideoTestData.ExpectedRgb(flat, 1), gif.Rgb[1]);
        var dot = VideoTestData.Synthetic(1, 1, 1, (_, c, _, _) => c / 3f);
        gif = VideoTestData.DecodeGif(WriteGif(folder, dot, name: "dot.gif"));
        CollectionAssert.AreEqual(VideoTestData.ExpectedRgb(dot, 0), gif.Rgb[0]);
    }

    [TestMethod]
    [DataRow(GifDithering.FloydSteinberg)]
    [DataRow(GifDithering.Ordered)]
    [DataRow(GifDithering.None)]
    public void ManyColoursDecodeCloseToTheInput(GifDithering dithering)
    {
        var video = Smooth();
        using var folder = new TempFolder();
        var gif = VideoTestData.DecodeGif(WriteGif(folder, video, new VideoWriteOptions { GifDithering = dithering }));
        Assert.HasCount(video.FrameCount, gif.Rgb);
        for (var f = 0; f < video.FrameCount; f++)
        {
            var expected = VideoTestData.ExpectedRgb(video, f);
            var actual = gif.Rgb[f];
            var meanError = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Average();
            // Dithering trades per-pixel error for the right local average: compare 4×4 block means too.
            var blockError = BlockMeans(expected, video.Width, video.Height).Zip(BlockMeans(actual, video.Width, video.Height), (a, b) => Math.Abs(a - b)).Max();
            Assert.IsLessThanOrEqualTo(4.0, meanError, $"frame {f}: mean |error| in 8-bit steps");
            Assert.IsLessThanOrEqualTo(dithering == GifDithering.None ? 12.0 : 6.0, blockError, $"frame {f}: worst 4×4 block mean error");
        }
    }

    private static double[] BlockMeans(byte[] rgb, int width, int height)
    {
        var means = new List<double>();
        for (var by = 0; by + 4 <= height; by += 4)
        {
            for (var bx = 0; bx + 4 <= width; bx += 4)
            {
                for (var c = 0; c < 3; c++)
                {
                    double sum = 0;
                    for (var y = by; y < by + 4; y++)
                    {
                        for (var x = bx; x < bx + 4; x++)
                        {
                            sum += rgb[3 * (y * width + x) + c];
                        }
                    }
                    means.Add(sum / 16);
                }
            }
        }
        return [.. means];
    }

    [TestMethod]
    public void FrameDelaysKeepTheAverageRate()
    {
        CollectionAssert.AreEqual(new[] { 14, 15, 14, 14, 14, 15, 14 }, GifEncoder.FrameDelays(7, 7));
        Assert.AreEqual(100, GifEncoder.FrameDelays(7, 7).Sum(), "7 frames at 7 fps last one second");
        Assert.AreEqual(400, GifEncoder.FrameDelays(100, 25).Sum(), "25 fps: 4 hundredths each");
        Assert.IsTrue(GifEncoder.FrameDelays(10, 120).All(d => d == 2), "above 50 fps the delay stays at the 2 hundredths viewers honour");
    }

    [TestMethod]
    public void FfprobeDecodesEveryFrame()
    {
        var video = Smooth(frames: 9, width: 40, height: 24);
        using var folder = new TempFolder();
        var path = WriteGif(folder, video);
        var probe = VideoTestData.Probe(path);
        if (probe is null)
        {
            Assert.Inconclusive("ffprobe is not installed (.ci/run installs ffmpeg); SkiaSharp decoding is checked by the other tests.");
        }
        Assert.AreEqual("gif", probe["codec_name"]);
        Assert.AreEqual(9, VideoTestData.Int(probe, "nb_read_frames"));
        Assert.AreEqual(40, VideoTestData.Int(probe, "width"));
        Assert.AreEqual(24, VideoTestData.Int(probe, "height"));
    }

    [TestMethod]
    public void RejectsEmptyAndOversizedVideos()
    {
        using var stream = new MemoryStream();
        var empty = new GeneratedVideo([], 0, 8, 8, new GenerationStatistics(new Dictionary<string, IReadOnlyList<TimeSpan>>(), TimeSpan.Zero, TimeSpan.Zero, 1));
        Assert.ThrowsExactly<ArgumentException>(() => GifEncoder.Encode(empty, stream));
        var wide = new GeneratedVideo(new float[3 * 65536], 1, 1, 65536, empty.Statistics);
        var e = Assert.ThrowsExactly<ArgumentException>(() => GifEncoder.Encode(wide, stream));
        StringAssert.Contains(e.Message, "65535");
        Assert.ThrowsExactly<ArgumentException>(() => GifEncoder.Encode(Smooth(1, 8, 8), stream, new VideoWriteOptions { Fps = 0 }));
    }
}
