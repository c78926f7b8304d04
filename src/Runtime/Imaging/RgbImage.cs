using System.Runtime.InteropServices;
using SkiaSharp;
using Vcut.Runtime.Io;

namespace Vcut.Runtime.Imaging;

/// <summary>
/// An RGB image as planar floats: shape (3, <see cref="Height"/>, <see cref="Width"/>), channel R then G then B,
/// each channel row-major, every value in [0, 1]. This is the layout the pipeline's tensors use, so an image goes
/// to a model without reordering.
/// </summary>
/// <remarks>
/// The image is immutable by contract: <see cref="Pixels"/> is handed out without a copy so it can feed a tensor
/// directly, and must not be written to. <see cref="FromPixels"/> copies its input, so a caller's buffer never aliases it.
/// </remarks>
public sealed class RgbImage
{
    private const int Channels = 3;

    private RgbImage(float[] pixels, int width, int height)
    {
        Pixels = pixels;
        Width = width;
        Height = height;
    }

    /// <summary>Planar values, length 3 · <see cref="Height"/> · <see cref="Width"/>: index c·H·W + y·W + x. Read only.</summary>
    public float[] Pixels { get; }

    /// <summary>Width in pixels (at least 1).</summary>
    public int Width { get; }

    /// <summary>Height in pixels (at least 1).</summary>
    public int Height { get; }

    /// <summary>
    /// Creates an image from a copy of <paramref name="planar"/> (layout as <see cref="Pixels"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    /// <exception cref="ArgumentException">The length is not 3·width·height, or a value is not a number in [0, 1].</exception>
    public static RgbImage FromPixels(float[] planar, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(planar);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var expected = (long)Channels * width * height;
        if (planar.Length != expected)
        {
            throw new ArgumentException(
                $"Expected 3·{height}·{width} = {expected} planar values, got {planar.Length}.", nameof(planar));
        }
        for (var i = 0; i < planar.Length; i++)
        {
            // Written so that NaN fails too.
            if (!(planar[i] >= 0f && planar[i] <= 1f))
            {
                throw new ArgumentException($"Pixel value {planar[i]} at index {i} is outside [0, 1].", nameof(planar));
            }
        }
        return new RgbImage((float[])planar.Clone(), width, height);
    }

    /// <summary>Takes ownership of <paramref name="planar"/> without copying or checking; for producers that guarantee the invariants.</summary>
    internal static RgbImage Own(float[] planar, int width, int height) => new(planar, width, height);

    /// <summary>
    /// Decodes the image file at <paramref name="path"/> (any format SkiaSharp reads: PNG, JPEG, BMP, GIF, WebP, …).
    /// Grayscale and palette images become RGB; an alpha channel is dropped without compositing, as PIL's
    /// <c>convert("RGB")</c> does. Values are the 8-bit samples divided by 255. Embedded colour profiles and EXIF
    /// orientation are ignored, as PIL ignores them by default. Animated files give their first frame.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a decodable image, is truncated or corrupt, or has no pixels.</exception>
    public static RgbImage Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Image '{path}' does not exist.", path);
        }
        var bytes = File.ReadAllBytes(path);
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"'{path}' is not an image in a format SkiaSharp can decode (or it is corrupt).");
        var width = codec.Info.Width;
        var height = codec.Info.Height;
        if (width < 1 || height < 1)
        {
            throw new InvalidDataException($"Image '{path}' has no pixels ({width}×{height}).");
        }
        if ((long)width * height * 4 > Array.MaxLength)
        {
            throw new InvalidDataException($"Image '{path}' is too large to decode ({width}×{height}).");
        }
        // Unpremultiplied RGBA without a colour space: the stored samples as they are, alpha kept apart so dropping it
        // leaves the colour untouched (premultiplying would darken translucent pixels).
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try
        {
            result = codec.GetPixels(info, handle.AddrOfPinnedObject());
        }
        finally
        {
            handle.Free();
        }
        if (result != SKCodecResult.Success)
        {
            throw new InvalidDataException($"Image '{path}' could not be decoded completely ({result}); the file is truncated or corrupt.");
        }
        var plane = width * height;
        var pixels = new float[Channels * plane];
        for (var i = 0; i < plane; i++)
        {
            pixels[i] = rgba[4 * i] / 255f;
            pixels[plane + i] = rgba[4 * i + 1] / 255f;
            pixels[2 * plane + i] = rgba[4 * i + 2] / 255f;
        }
        return new RgbImage(pixels, width, height);
    }

    /// <summary>
    /// Writes the image as an 8-bit RGB PNG: each value clamped to [0, 1], times 255, rounded half to even (as
    /// numpy's <c>round</c>, which diffusers uses when it makes PIL images). The file is written to a temporary file
    /// in the same folder and moved over <paramref name="path"/>, so the target is never left half-written.
    /// </summary>
    /// <exception cref="IOException">The file cannot be written or the image cannot be encoded.</exception>
    public void SavePng(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var plane = Width * Height;
        var rgba = new byte[4 * plane];
        for (var i = 0; i < plane; i++)
        {
            rgba[4 * i] = ToByte(Pixels[i]);
            rgba[4 * i + 1] = ToByte(Pixels[plane + i]);
            rgba[4 * i + 2] = ToByte(Pixels[2 * plane + i]);
            rgba[4 * i + 3] = byte.MaxValue;
        }
        var info = new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
            using var png = pixmap.Encode(SKEncodedImageFormat.Png, 100)
                ?? throw new IOException($"SkiaSharp could not encode a {Width}×{Height} PNG for '{path}'.");
            using var file = AtomicFile.Create(path);
            png.SaveTo(file.Stream);
            file.Commit();
        }
        finally
        {
            handle.Free();
        }
    }

    private static byte ToByte(float value) =>
        (byte)MathF.Round(Math.Clamp(value, 0f, 1f) * 255f, MidpointRounding.ToEven);
}
