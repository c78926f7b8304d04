using System.Buffers.Binary;
using Vcut.Runtime.Pipeline;

namespace Vcut.Runtime.Video;

/// <summary>
/// Writes a video as an animated GIF89a: one global colour table for all frames (the exact colours when there are at
/// most 256, else a median cut of every pixel), dithering as asked, LZW-compressed full frames, a NETSCAPE2.0
/// extension that loops forever, and frame delays from the frame rate.
/// </summary>
/// <remarks>
/// GIF delays are whole hundredths of a second. Frame i lasts round(100·(i+1)/fps) − round(100·i/fps), so the
/// average rate is the one asked for (7 fps: 14, 15, 14, 14, 14, 15, 14 …), and at least 2: most viewers play shorter
/// delays as 10, so above 50 fps a GIF plays at 50.
/// </remarks>
public static class GifEncoder
{
    private static readonly int[] Bayer8 = BuildBayer8();

    /// <summary>Encodes <paramref name="video"/> into <paramref name="output"/> with the frame rate and dithering of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">The video is empty or larger than GIF's 65535×65535, or the options are invalid.</exception>
    public static void Encode(GeneratedVideo video, Stream output, VideoWriteOptions? options = null)
    {
        VideoFrames.Check(video);
        ArgumentNullException.ThrowIfNull(output);
        options ??= new VideoWriteOptions();
        options.Validate();
        if (video.Width > ushort.MaxValue || video.Height > ushort.MaxValue)
        {
            throw new ArgumentException($"A GIF is at most 65535×65535 pixels; the video is {video.Width}×{video.Height}.", nameof(video));
        }

        var frames = new byte[video.FrameCount][];
        for (var i = 0; i < frames.Length; i++)
        {
            frames[i] = new byte[3 * video.Width * video.Height];
            VideoFrames.ToRgb24(video, i, frames[i]);
        }
        var palette = GifPalette.Build(frames);
        // The colour table holds 2^(n+1) entries; LZW needs at least 2 bits per index.
        var tableBits = Math.Max(1, (int)Math.Ceiling(Math.Log2(palette.Count)));
        var minCodeSize = Math.Max(2, tableBits);

        WriteHeader(output, video.Width, video.Height, palette, tableBits);
        var delays = FrameDelays(video.FrameCount, options.Fps);
        var indices = new byte[video.Width * video.Height];
        var lzw = new GifLzw();
        var dithering = palette.IsExact ? GifDithering.None : options.GifDithering;
        var spacing = dithering == GifDithering.Ordered ? palette.TypicalSpacing() : 0;
        for (var i = 0; i < frames.Length; i++)
        {
            Quantize(frames[i], video.Width, video.Height, palette, dithering, spacing, indices);
            WriteFrameHeader(output, video.Width, video.Height, delays[i]);
            lzw.Encode(indices, minCodeSize, output);
        }
        output.WriteByte(0x3B); // trailer
    }

    /// <summary>Frame delays in hundredths of a second: the rounded running total, at least 2 each (see remarks).</summary>
    internal static int[] FrameDelays(int frames, double fps)
    {
        var delays = new int[frames];
        for (var i = 0; i < frames; i++)
        {
            var start = Math.Round(100.0 * i / fps, MidpointRounding.AwayFromZero);
            var end = Math.Round(100.0 * (i + 1) / fps, MidpointRounding.AwayFromZero);
            delays[i] = (int)Math.Clamp(end - start, 2, ushort.MaxValue);
        }
        return delays;
    }

    private static void WriteHeader(Stream output, int width, int height, GifPalette palette, int tableBits)
    {
        Span<byte> header = stackalloc byte[13];
        "GIF89a"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(header[8..], (ushort)height);
        // Global colour table present, 8 bits of colour resolution, unsorted, 2^(tableBits) entries.
        header[10] = (byte)(0x80 | (7 << 4) | (tableBits - 1));
        header[11] = 0; // background colour index
        header[12] = 0; // square pixels
        output.Write(header);
        var table = new byte[3 << tableBits];
        palette.Rgb.CopyTo(table, 0);
        output.Write(table);
        // NETSCAPE2.0 application extension: loop count 0 = forever.
        output.Write([0x21, 0xFF, 0x0B]);
        output.Write("NETSCAPE2.0"u8);
        output.Write([0x03, 0x01, 0x00, 0x00, 0x00]);
    }

    private static void WriteFrameHeader(Stream output, int width, int height, int delay)
    {
        Span<byte> block = stackalloc byte[18];
        // Graphic control extension: disposal 1 (leave in place), no transparency, the delay.
        block[0] = 0x21;
        block[1] = 0xF9;
        block[2] = 0x04;
        block[3] = 1 << 2;
        BinaryPrimitives.WriteUInt16LittleEndian(block[4..], (ushort)delay);
        block[6] = 0;
        block[7] = 0;
        // Image descriptor: the whole canvas, no local colour table, not interlaced.
        block[8] = 0x2C;
        BinaryPrimitives.WriteUInt16LittleEndian(block[9..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(block[11..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(block[13..], (ushort)width);
        BinaryPrimitives.WriteUInt16LittleEndian(block[15..], (ushort)height);
        block[17] = 0;
        output.Write(block);
    }

    private static void Quantize(byte[] rgb, int width, int height, GifPalette palette, GifDithering dithering, double spacing, byte[] indices)
    {
        switch (dithering)
        {
            case GifDithering.FloydSteinberg:
                FloydSteinberg(rgb, width, height, palette, indices);
                break;
            case GifDithering.Ordered:
                for (var y = 0; y < height; y++)
                {
                    for (var x = 0; x < width; x++)
                    {
                        // The same threshold offset on every channel: shifts brightness in steps of the palette's spacing.
                        var offset = (int)Math.Round((Bayer8[((y & 7) << 3) | (x & 7)] + 0.5) / 64.0 * spacing - spacing / 2);
                        var p = y * width + x;
                        indices[p] = (byte)palette.Nearest(
                            Math.Clamp(rgb[3 * p] + offset, 0, 255), Math.Clamp(rgb[3 * p + 1] + offset, 0, 255), Math.Clamp(rgb[3 * p + 2] + offset, 0, 255));
                    }
                }
                break;
            default:
                for (var p = 0; p < indices.Length; p++)
                {
                    indices[p] = (byte)palette.Nearest(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]);
                }
                break;
        }
    }

    /// <summary>Floyd–Steinberg error diffusion (7, 3, 5, 1 sixteenths), serpentine so the error does not drift to one side.</summary>
    private static void FloydSteinberg(byte[] rgb, int width, int height, GifPalette palette, byte[] indices)
    {
        // Error of the current and the next row, padded by one pixel on each side.
        var current = new float[3 * (width + 2)];
        var next = new float[3 * (width + 2)];
        var colors = palette.Rgb;
        for (var y = 0; y < height; y++)
        {
            var forward = (y & 1) == 0;
            var step = forward ? 1 : -1;
            for (var i = 0; i < width; i++)
            {
                var x = forward ? i : width - 1 - i;
                var p = y * width + x;
                var e = 3 * (x + 1);
                var r = Math.Clamp(rgb[3 * p] + current[e], 0f, 255f);
                var g = Math.Clamp(rgb[3 * p + 1] + current[e + 1], 0f, 255f);
                var b = Math.Clamp(rgb[3 * p + 2] + current[e + 2], 0f, 255f);
                var index = palette.Nearest((int)MathF.Round(r), (int)MathF.Round(g), (int)MathF.Round(b));
                indices[p] = (byte)index;
                Spread(r - colors[3 * index], 0);
                Spread(g - colors[3 * index + 1], 1);
                Spread(b - colors[3 * index + 2], 2);

                void Spread(float error, int channel)
                {
                    current[e + 3 * step + channel] += error * (7f / 16);
                    next[e - 3 * step + channel] += error * (3f / 16);
                    next[e + channel] += error * (5f / 16);
                    next[e + 3 * step + channel] += error * (1f / 16);
                }
            }
            (current, next) = (next, current);
            Array.Clear(next);
        }
    }

    private static int[] BuildBayer8()
    {
        // The recursive Bayer matrix: M(2n) = [4M, 4M+2; 4M+3, 4M+1].
        var m = new int[] { 0 };
        for (var size = 1; size < 8; size *= 2)
        {
            var bigger = new int[4 * size * size];
            for (var y = 0; y < size; y++)
            {
                for (var x = 0; x < size; x++)
                {
                    var v = 4 * m[y * size + x];
                    bigger[y * 2 * size + x] = v;
                    bigger[y * 2 * size + x + size] = v + 2;
                    bigger[(y + size) * 2 * size + x] = v + 3;
                    bigger[(y + size) * 2 * size + x + size] = v + 1;
                }
            }
            m = bigger;
        }
        return m;
    }
}
