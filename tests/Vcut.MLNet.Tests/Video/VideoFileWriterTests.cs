using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Io;
using Vcut.Runtime.Video;

namespace Vcut.MLNet.Tests.Video;

/// <summary>Choosing the format by extension, atomic writes, PNG frames and MP4 through ffmpeg.</summary>
[TestClass]
public sealed class VideoFileWriterTests
{
    private static readonly Vcut.Runtime.Pipeline.GeneratedVideo Moving =
        VideoTestData.Synthetic(5, 64, 48, (f, c, y, x) => (float)(0.5 + 0.4 * Math.Sin(0.2 * x - 0.1 * y + f + c)));

    [TestMethod]
    public void TheExtensionChoosesTheFormat()
    {
        Assert.AreEqual(VideoFormat.Gif, VideoFileWriter.FormatOf("out/video.gif"));
        Assert.AreEqual(VideoFormat.Gif, VideoFileWriter.FormatOf("OUT.GIF"));
        Assert.AreEqual(VideoFormat.Mp4, VideoFileWriter.FormatOf("/tmp/a.b/video.mp4"));
        Assert.AreEqual(VideoFormat.PngFrames, VideoFileWriter.FormatOf("out/video"));
        Assert.AreEqual(VideoFormat.PngFrames, VideoFileWriter.FormatOf("out/video.d/"));
        var png = Assert.ThrowsExactly<ArgumentException>(() => VideoFileWriter.FormatOf("out/frame.png"));
        StringAssert.Contains(png.Message, "folder");
        var avi = Assert.ThrowsExactly<ArgumentException>(() => VideoFileWriter.FormatOf("out/video.avi"));
        StringAssert.Contains(avi.Message, "'.avi'");
        StringAssert.Contains(avi.Message, ".gif");
        Assert.AreEqual(".gif", VideoFileWriter.ExtensionOf(VideoFormat.Gif));
        Assert.AreEqual("", VideoFileWriter.ExtensionOf(VideoFormat.PngFrames));
    }

    [TestMethod]
    public void GifReplacesTheTargetAndLeavesNoTemporaryFile()
    {
        using var folder = new TempFolder();
        var path = folder.File("video.gif");
        File.WriteAllText(path, "an older file");
        Assert.AreEqual(path, VideoFileWriter.Write(Moving, path));
        CollectionAssert.AreEqual(new[] { "video.gif" }, folder.Entries());
        Assert.AreEqual(5, VideoTestData.DecodeGif(path).Rgb.Count);
    }

    [TestMethod]
    public void CancelledWriteLeavesTheOldFileAndNoTemporary()
    {
        using var folder = new TempFolder();
        var path = folder.File("video.gif");
        File.WriteAllText(path, "old");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsExactly<OperationCanceledException>(() => VideoFileWriter.Write(Moving, path, cancellationToken: cancelled.Token));
        Assert.AreEqual("old", File.ReadAllText(path));
        CollectionAssert.AreEqual(new[] { "video.gif" }, folder.Entries());
    }

    [TestMethod]
    public void PngFramesGoToAFolder()
    {
        using var folder = new TempFolder();
        var target = VideoFileWriter.Write(Moving, folder.File("frames"));
        var names = Directory.GetFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { "frame_000.png", "frame_001.png", "frame_002.png", "frame_003.png", "frame_004.png" }, names);
        var third = RgbImage.Load(Path.Combine(target, "frame_002.png"));
        Assert.AreEqual(64, third.Width);
        CollectionAssert.AreEqual(new[] { "frames" }, folder.Entries(), "no staging folder left");

        File.WriteAllText(Path.Combine(target, "notes.txt"), "mine");
        var e = Assert.ThrowsExactly<IOException>(() => VideoFileWriter.Write(Moving, target));
        StringAssert.Contains(e.Message, "other than frames");
    }

    [TestMethod]
    public void Mp4WithoutFfmpegSaysSoAndSuggestsAGif()
    {
        using var folder = new TempFolder();
        var path = folder.File("video.mp4");
        var options = new VideoWriteOptions { FfmpegPath = folder.File("no-such-ffmpeg") };
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => VideoFileWriter.Write(Moving, path, options));
        StringAssert.Contains(e.Message, "ffmpeg");
        StringAssert.Contains(e.Message, folder.File("video.gif"));
        Assert.ThrowsExactly<InvalidOperationException>(() => VideoFileWriter.EnsureCanWrite(path, options));
        Assert.IsFalse(VideoFileWriter.IsFfmpegAvailable(options));

        // Searching a PATH without ffmpeg gives the same advice.
        var searched = Assert.ThrowsExactly<InvalidOperationException>(
            () => FfmpegMp4Writer.Write(Moving, path, new VideoWriteOptions(), CancellationToken.None, searchPath: folder.Path));
        StringAssert.Contains(searched.Message, "PATH");
        Assert.IsEmpty(folder.Entries(), "nothing written");
        VideoFileWriter.EnsureCanWrite(folder.File("video.gif"), options); // a GIF never needs ffmpeg
    }

    [TestMethod]
    [DataRow(64, 48, 64, 48)]
    [DataRow(33, 17, 34, 18)]
    public void Mp4IsH264Yuv420pWithEveryFrame(int width, int height, int codedWidth, int codedHeight)
    {
        if (!VideoFileWriter.IsFfmpegAvailable() || VideoTestData.OnPath("ffprobe") is null)
        {
            Assert.Inconclusive("ffmpeg/ffprobe are not installed (.ci/run installs them); the no-ffmpeg path is tested separately.");
        }
        var video = VideoTestData.Synthetic(5, width, height, (f, c, y, x) => (float)(0.5 + 0.4 * Math.Sin(0.2 * x - 0.1 * y + f + c)));
        using var folder = new TempFolder();
        var path = VideoFileWriter.Write(video, folder.File("video.mp4"), new VideoWriteOptions { Fps = 7 });
        CollectionAssert.AreEqual(new[] { "video.mp4" }, folder.Entries(), "only the finished file");
        var probe = VideoTestData.Probe(path)!;
        Assert.AreEqual("h264", probe["codec_name"]);
        Assert.AreEqual("yuv420p", probe["pix_fmt"]);
        Assert.AreEqual(5, VideoTestData.Int(probe, "nb_read_frames"));
        Assert.AreEqual(codedWidth, VideoTestData.Int(probe, "width"), "odd sizes are padded to even");
        Assert.AreEqual(codedHeight, VideoTestData.Int(probe, "height"));
        Assert.AreEqual("7/1", probe["avg_frame_rate"]);
    }

    [TestMethod]
    public void AFailingFfmpegIsReportedWithItsErrorAndLeavesNothing()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("The stand-in ffmpeg is a shell script.");
            return;
        }
        using var folder = new TempFolder();
        var fake = folder.File("ffmpeg");
        File.WriteAllText(fake, "#!/bin/sh\necho 'Unknown encoder libx264' >&2\nexit 3\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var e = Assert.ThrowsExactly<IOException>(() => VideoFileWriter.Write(Moving, folder.File("video.mp4"), new VideoWriteOptions { FfmpegPath = fake }));
        StringAssert.Contains(e.Message, "exit code 3");
        StringAssert.Contains(e.Message, "Unknown encoder libx264");
        CollectionAssert.AreEqual(new[] { "ffmpeg" }, folder.Entries(), "no video and no temporary file");
    }

    [TestMethod]
    public void TemporaryNamesAreRecognised()
    {
        var temporary = Path.GetFileName(AtomicFile.TemporaryPathFor("/data/out/cat.gif"));
        Assert.IsTrue(AtomicFile.IsTemporaryOf(temporary, "cat.gif"), temporary);
        Assert.IsFalse(AtomicFile.IsTemporaryOf(temporary, "cat"), "another target");
        Assert.IsFalse(AtomicFile.IsTemporaryOf("cat.gif", "cat.gif"));
        Assert.IsFalse(AtomicFile.IsTemporaryOf(".cat.gif.tmp-notahexguid-notahexguid-notahexgu", "cat.gif"));
    }
}
