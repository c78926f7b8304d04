using System.Runtime.InteropServices;
using SkiaSharp;
using Vcut.Runtime.Imaging;

namespace Vcut.MLNet.Tests.Runtime;

[TestClass]
public sealed class RgbImageTests
{
    private static float[] Pattern(int width, int height)
    {
        // Multiples of 1/255, so a PNG round trip is exact.
        var pixels = new float[3 * width * height];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (i * 37 % 256) / 255f;
        }
        return pixels;
    }

    // Encodes raw pixels with SkiaSharp (independently of RgbImage) to make test files of a given colour type.
    private static byte[] Encode(byte[] pixels, SKImageInfo info, SKEncodedImageFormat format, int quality = 100)
    {
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var data = pixmap.Encode(format, quality);
            Assert.IsNotNull(data, "test image encoding failed");
            return data.ToArray();
        }
        finally
        {
            handle.Free();
        }
    }

    [TestMethod]
    public void FromPixelsCopiesAndKeepsTheLayout()
    {
        var planar = Pattern(3, 2);
        var image = RgbImage.FromPixels(planar, 3, 2);
        planar[0] = 0.5f;
        Assert.AreEqual(3, image.Width);
        Assert.AreEqual(2, image.Height);
        Assert.AreEqual(0f, image.Pixels[0]);
        Assert.HasCount(18, image.Pixels);
    }

    [TestMethod]
    public void FromPixelsRejectsBadInput()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => RgbImage.FromPixels(new float[0], 0, 1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => RgbImage.FromPixels(new float[0], 1, 0));
        Assert.ThrowsExactly<ArgumentException>(() => RgbImage.FromPixels(new float[17], 3, 2));
        var nan = new float[3];
        nan[1] = float.NaN;
        Assert.ThrowsExactly<ArgumentException>(() => RgbImage.FromPixels(nan, 1, 1));
        Assert.ThrowsExactly<ArgumentException>(() => RgbImage.FromPixels([0f, 1.01f, 0f], 1, 1));
        Assert.ThrowsExactly<ArgumentException>(() => RgbImage.FromPixels([0f, -0.01f, 0f], 1, 1));
        Assert.ThrowsExactly<ArgumentNullException>(() => RgbImage.FromPixels(null!, 1, 1));
    }

    [TestMethod]
    public void PngRoundTripIsExactForEightBitValues()
    {
        using var folder = new TempFolder();
        var path = folder.File("a.png");
        var original = RgbImage.FromPixels(Pattern(7, 5), 7, 5);
        original.SavePng(path);
        var loaded = RgbImage.Load(path);
        Assert.AreEqual(7, loaded.Width);
        Assert.AreEqual(5, loaded.Height);
        TestData.AssertClose(original.Pixels, loaded.Pixels, 1e-7f, "png round trip");
        CollectionAssert.AreEqual(new[] { "a.png" }, folder.Entries(), "no temporary files left behind");
    }

    [TestMethod]
    public void SavePngRoundsHalfToEvenAndOverwritesAtomically()
    {
        using var folder = new TempFolder();
        var path = folder.File("b.png");
        File.WriteAllText(path, "old content");
        // 0.5·255 = 127.5 → 128 (even); 0.3·255 = 76.5 → 76 (even); 1/510·255 = 0.5 → 0.
        RgbImage.FromPixels([0.5f, 0.3f, 1f / 510f], 1, 1).SavePng(path);
        var loaded = RgbImage.Load(path);
        Assert.AreEqual(128 / 255f, loaded.Pixels[0], 1e-7f);
        Assert.AreEqual(76 / 255f, loaded.Pixels[1], 1e-7f);
        Assert.AreEqual(0f, loaded.Pixels[2]);
        CollectionAssert.AreEqual(new[] { "b.png" }, folder.Entries());
    }

    [TestMethod]
    public void SavePngIntoAMissingFolderFailsWithoutLeavingFiles()
    {
        using var folder = new TempFolder();
        var image = RgbImage.FromPixels(Pattern(2, 2), 2, 2);
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => image.SavePng(folder.File("missing/c.png")));
        Assert.IsEmpty(folder.Entries());
    }

    [TestMethod]
    public void GrayscalePngBecomesThreeEqualChannels()
    {
        using var folder = new TempFolder();
        var path = folder.File("gray.png");
        byte[] gray = [0, 64, 128, 255, 10, 200];
        var png = Encode(gray, new SKImageInfo(3, 2, SKColorType.Gray8, SKAlphaType.Opaque), SKEncodedImageFormat.Png);
        Assert.AreEqual(0, png[25], "the test file must really be a grayscale PNG (IHDR colour type 0)");
        File.WriteAllBytes(path, png);
        var image = RgbImage.Load(path);
        var expected = gray.Select(g => g / 255f).ToArray();
        for (var c = 0; c < 3; c++)
        {
            TestData.AssertClose(expected, image.Pixels.AsSpan(c * 6, 6).ToArray(), 1e-7f, $"channel {c}");
        }
    }

    [TestMethod]
    public void AlphaIsDroppedWithoutPremultiplying()
    {
        using var folder = new TempFolder();
        var path = folder.File("alpha.png");
        byte[] rgba = [200, 100, 50, 128, 10, 20, 30, 255];
        var png = Encode(rgba, new SKImageInfo(2, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul), SKEncodedImageFormat.Png);
        Assert.AreEqual(6, png[25], "the test file must really be an RGBA PNG (IHDR colour type 6)");
        File.WriteAllBytes(path, png);
        var image = RgbImage.Load(path);
        float[] expected = [200 / 255f, 10 / 255f, 100 / 255f, 20 / 255f, 50 / 255f, 30 / 255f];
        TestData.AssertClose(expected, image.Pixels, 1e-7f, "RGB of an RGBA image");
    }

    [TestMethod]
    public void JpegLoadsCloseToItsSource()
    {
        using var folder = new TempFolder();
        var path = folder.File("flat.jpg");
        const int size = 16;
        var rgba = new byte[size * size * 4];
        for (var i = 0; i < size * size; i++)
        {
            (rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2], rgba[4 * i + 3]) = ((byte)180, (byte)90, (byte)30, (byte)255);
        }
        File.WriteAllBytes(path, Encode(rgba, new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque), SKEncodedImageFormat.Jpeg, 95));
        var image = RgbImage.Load(path);
        Assert.AreEqual(size, image.Width);
        Assert.AreEqual(size, image.Height);
        float[] expected = [180 / 255f, 90 / 255f, 30 / 255f];
        for (var c = 0; c < 3; c++)
        {
            // JPEG is lossy (chroma subsampling, quantisation); a flat colour survives within a few levels.
            Assert.AreEqual(expected[c], image.Pixels[c * size * size + 77], 6 / 255f, $"channel {c}");
        }
    }

    [TestMethod]
    public void MissingFileIsFileNotFoundNamingThePath()
    {
        using var folder = new TempFolder();
        var path = folder.File("nothing.png");
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => RgbImage.Load(path));
        Assert.Contains(path, e.Message);
    }

    [TestMethod]
    public void UndecodableFilesAreInvalidDataNamingThePath()
    {
        using var folder = new TempFolder();
        var text = folder.File("text.png");
        File.WriteAllText(text, "this is not an image");
        Assert.Contains(text, Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load(text)).Message);

        var empty = folder.File("empty.jpg");
        File.WriteAllBytes(empty, []);
        Assert.Contains(empty, Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load(empty)).Message);

        var truncated = folder.File("truncated.png");
        var png = Encode(Enumerable.Range(0, 64 * 64 * 4).Select(i => (byte)(i * 7919 >> 3)).ToArray(),
            new SKImageInfo(64, 64, SKColorType.Rgba8888, SKAlphaType.Unpremul), SKEncodedImageFormat.Png);
        File.WriteAllBytes(truncated, png[..(png.Length / 2)]);
        Assert.Contains(truncated, Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load(truncated)).Message);
    }

    [TestMethod]
    public void ZeroPixelImageIsInvalidData()
    {
        using var folder = new TempFolder();
        var path = folder.File("zero.bmp");
        // A well-formed 24-bit BMP header declaring 0×0 pixels.
        var bmp = new byte[54];
        "BM"u8.CopyTo(bmp);
        BitConverter.GetBytes(54).CopyTo(bmp, 2);
        BitConverter.GetBytes(54).CopyTo(bmp, 10);
        BitConverter.GetBytes(40).CopyTo(bmp, 14);
        BitConverter.GetBytes((short)1).CopyTo(bmp, 26);
        BitConverter.GetBytes((short)24).CopyTo(bmp, 28);
        File.WriteAllBytes(path, bmp);
        Assert.Contains(path, Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load(path)).Message);
    }
}
