using System.Globalization;
using System.Runtime.InteropServices;
using SkiaSharp;
using Vcut.Graph.Files;
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
    /// The most pixels <see cref="Load(string)"/> decodes: 100 megapixels, more than any camera photo (a 108 MP phone
    /// sensor bins to 12 MP) and 1.6 GB to decode. Larger pictures are refused from their header, before any decoding.
    /// </summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>Bytes of memory decoding takes per pixel: the 8-bit RGBA samples (4) and the planar floats (12) alive at once.</summary>
    public const int DecodeBytesPerPixel = 16;

    /// <summary>
    /// Decodes the image file at <paramref name="path"/> (any format SkiaSharp reads: PNG, JPEG, BMP, GIF, WebP, …).
    /// Grayscale and palette images become RGB; an alpha channel is dropped without compositing, as PIL's
    /// <c>convert("RGB")</c> does. Values are the 8-bit samples divided by 255. Embedded colour profiles and EXIF
    /// orientation are ignored, as PIL ignores them by default. Animated files give their first frame. Pictures of more
    /// than <see cref="DefaultMaxPixels"/> are refused before decoding (see <see cref="Load(string, long)"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">
    /// Not a regular file, not a decodable image, truncated or corrupt, without pixels, or larger than the pixel limit.
    /// </exception>
    public static RgbImage Load(string path) => Load(path, DefaultMaxPixels);

    /// <summary>
    /// As <see cref="Load(string)"/>, refusing pictures of more than <paramref name="maxPixels"/> pixels. The size is read
    /// from the file's header first (<see cref="ReadSize(string, long)"/>), so a small file that declares a huge picture
    /// (a decompression bomb) costs nothing; decoding then takes <see cref="DecodeBytesPerPixel"/> bytes per pixel.
    /// </summary>
    /// <param name="path">The image file.</param>
    /// <param name="maxPixels">The largest width × height accepted.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">
    /// Not a regular file, not a decodable image, truncated or corrupt, without pixels, or more than <paramref name="maxPixels"/> pixels.
    /// </exception>
    public static RgbImage Load(string path, long maxPixels)
    {
        using var codec = OpenCodec(path, maxPixels, out var width, out var height);
        // Unpremultiplied RGBA without a colour space: the stored samples as they are, alpha kept apart so dropping it
        // leaves the colour untouched (premultiplying would darken translucent pixels).
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[4L * width * height];
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
    /// The width and height of the image file at <paramref name="path"/>, read from its header without decoding, and
    /// checked against <paramref name="maxPixels"/>: what <see cref="Load(string, long)"/> checks before it decodes.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Not a regular file, not an image, without pixels, or more than <paramref name="maxPixels"/> pixels.</exception>
    public static (int Width, int Height) ReadSize(string path, long maxPixels = DefaultMaxPixels)
    {
        using var codec = OpenCodec(path, maxPixels, out var width, out var height);
        return (width, height);
    }

    private static SKCodec OpenCodec(string path, long maxPixels, out int width, out int height)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPixels, 1);
        // A device never ends and a named pipe blocks its reader: only regular files are opened.
        InputFiles.RequireRegularFile(path, "Image");
        // The file is mapped, not copied; the codec reads the header only until pixels are asked for.
        using var data = SKData.Create(path)
            ?? throw new InvalidDataException($"Image '{path}' could not be read.");
        var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"'{path}' is not an image in a format SkiaSharp can decode (or it is corrupt).");
        width = codec.Info.Width;
        height = codec.Info.Height;
        var pixels = (long)width * height;
        string? problem = null;
        if (width < 1 || height < 1)
        {
            problem = $"Image '{path}' has no pixels ({width}×{height}).";
        }
        else if (pixels > maxPixels)
        {
            problem = string.Create(CultureInfo.InvariantCulture,
                $"Image '{path}' is {width}×{height} = {pixels / 1e6:0.###} megapixels, more than the limit of {maxPixels / 1e6:0.###} megapixels " +
                $"(decoding it would take {pixels * DecodeBytesPerPixel / (double)(1L << 30):0.##} GiB); expected a smaller picture, " +
                $"or raise the limit with --max-megapixels (RgbImage.Load's maxPixels, BatchOptions.MaxImagePixels).");
        }
        else if (4 * pixels > Array.MaxLength)
        {
            problem = $"Image '{path}' is too large to decode ({width}×{height}): its {4 * pixels} RGBA bytes exceed one .NET array ({Array.MaxLength}).";
        }
        if (problem is not null)
        {
            codec.Dispose();
            throw new InvalidDataException(problem);
        }
        return codec;
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
