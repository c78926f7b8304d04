using Vcut.MLNet.Tests.Runtime;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Io;

namespace Vcut.MLNet.Tests.Hostile;

/// <summary>Pictures and arrays built to exhaust memory or hang a reader: refused from their headers, before any work.</summary>
[TestClass]
public sealed class HostileImageTests
{
    [TestMethod]
    public void APngBombIsRefusedFromItsHeaderWithoutAllocating()
    {
        using var folder = new TempFolder();
        var bomb = folder.File("bomb.png");
        File.WriteAllBytes(bomb, HostileFiles.PngBomb());
        Assert.IsLessThan(100L, new FileInfo(bomb).Length, "a few dozen bytes");
        RgbImage.ReadSize(folder.File("bomb.png"), 1L << 40); // warm SkiaSharp up, so only the check's allocations count

        // Refused from the header: nothing of the picture is allocated (its speed is measured in docs/hostile-input.md;
        // tests assert no times).
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load(bomb));
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;

        Assert.IsLessThan(1L << 20, bytes, "nothing of the picture is allocated");
        StringAssert.Contains(e.Message, bomb);
        StringAssert.Contains(e.Message, "23000×23000");
        StringAssert.Contains(e.Message, "529 megapixels");
        StringAssert.Contains(e.Message, "limit of 100 megapixels");
        StringAssert.Contains(e.Message, "--max-megapixels");
    }

    [TestMethod]
    public void AValidPictureAboveTheLimitIsRefusedAndLoadsWhenTheLimitIsRaised()
    {
        using var folder = new TempFolder();
        var path = folder.File("black.png");
        File.WriteAllBytes(path, HostileFiles.BlackPng(300, 200));

        Assert.AreEqual((300, 200), RgbImage.ReadSize(path));
        var e = Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load(path, maxPixels: 50_000));
        StringAssert.Contains(e.Message, "300×200");
        StringAssert.Contains(e.Message, "limit of 0.05 megapixels");
        var image = RgbImage.Load(path, maxPixels: 60_000);
        Assert.AreEqual(300, image.Width);
        Assert.AreEqual(0f, image.Pixels.Max());
    }

    [TestMethod]
    public void DevicesPipesAndFoldersAreRefusedWithoutBeingOpened()
    {
        using var folder = new TempFolder();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load(folder.Path));
        StringAssert.Contains(e.Message, "is a folder");
        if (File.Exists("/dev/zero"))
        {
            e = Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load("/dev/zero"));
            StringAssert.Contains(e.Message, "'/dev/zero' is not a regular file");
        }
        var fifo = folder.File("pipe.png");
        if (HostileFiles.TryMakeFifo(fifo))
        {
            // Opening a pipe for reading would wait for a writer forever: the check must not open it.
            var load = Task.Run(() => RgbImage.Load(fifo));
            Assert.AreSame(load, Task.WhenAny(load, Task.Delay(TimeSpan.FromSeconds(10))).Result, "returns at once");
            var error = load.Exception?.InnerException;
            Assert.IsInstanceOfType<InvalidDataException>(error);
            StringAssert.Contains(error.Message, "not a regular file");
        }
        Assert.ThrowsExactly<FileNotFoundException>(() => RgbImage.Load(folder.File("none.png")));
    }
}

/// <summary>.npy files whose headers lie: shapes that overflow, data that is not there, headers without end.</summary>
[TestClass]
public sealed class HostileNpyTests
{
    [TestMethod]
    public void AShapeWhoseProductOverflowsIsRefusedWithTheShape()
    {
        using var folder = new TempFolder();
        var path = folder.File("overflow.npy");
        HostileFiles.Npy(path, "(4294967296, 4294967296, 4)", 0);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "(4294967296, 4294967296, 4)");
        StringAssert.Contains(e.Message, "more than the");
        Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.ReadShape(path));
        // A zero dimension makes the product 0, whatever the others.
        HostileFiles.Npy(path, "(0, 9223372036854775807)", 0);
        Assert.IsEmpty(NpyFile.Read(path).Data);
    }

    [TestMethod]
    public void AShapeTheDataDoesNotHoldIsRefusedBeforeAllocating()
    {
        using var folder = new TempFolder();
        var path = folder.File("lying.npy");
        HostileFiles.Npy(path, "(1000000000,)", 16);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(path));
        Assert.IsLessThan(1L << 20, GC.GetAllocatedBytesForCurrentThread() - allocated, "the 4 GB the header claims are never allocated");
        StringAssert.Contains(e.Message, "has 16 bytes of data but its shape (1000000000,) needs 4000000000");
    }

    [TestMethod]
    public void ReadShapeChecksTheHeaderAndLengthWithoutReadingValues()
    {
        using var folder = new TempFolder();
        var path = folder.File("ok.npy");
        NpyFile.Write(path, new float[24], [2, 3, 4]);
        CollectionAssert.AreEqual(new long[] { 2, 3, 4 }, NpyFile.ReadShape(path));
        Assert.AreEqual("(2, 3, 4)", NpyFile.ShapeText([2, 3, 4]));
        var truncated = folder.File("short.npy");
        File.WriteAllBytes(truncated, File.ReadAllBytes(path)[..^4]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.ReadShape(truncated)).Message, "truncated");
    }

    [TestMethod]
    public void AHeaderLongerThanTheLimitIsRefused()
    {
        using var folder = new TempFolder();
        var path = folder.File("long-header.npy");
        // Version 2.0: a 4-byte header length, here 2 GiB, in a file of a few bytes.
        File.WriteAllBytes(path, [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 2, 0, 0, 0, 0, 0x80, (byte)'{', (byte)'}']);
        var e = Assert.ThrowsExactly<InvalidDataException>(() => NpyFile.Read(path));
        StringAssert.Contains(e.Message, "header of 2,147,483,648 bytes");
    }

    [TestMethod]
    public void APipeIsRefusedWithoutBeingOpened()
    {
        using var folder = new TempFolder();
        var fifo = folder.File("latents.npy");
        if (!HostileFiles.TryMakeFifo(fifo))
        {
            Assert.Inconclusive("No mkfifo here.");
        }
        var read = Task.Run(() => NpyFile.Read(fifo));
        Assert.AreSame(read, Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10))).Result, "returns at once");
        Assert.IsInstanceOfType<InvalidDataException>(read.Exception?.InnerException);
        StringAssert.Contains(read.Exception!.InnerException!.Message, "not a regular file");
    }
}
