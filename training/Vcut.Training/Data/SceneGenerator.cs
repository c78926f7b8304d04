using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Vcut.Training.Data;

/// <summary>
/// Procedural still pictures: a sky or ground gradient, smooth colour fields, hills, discs, boxes, stripes and
/// checkers, each textured with multi-octave value noise, sometimes blurred or grained like a photo. Everything is
/// drawn from one seeded generator, so a seed names a picture. Pictures are (3, S, S) in [0, 1].
/// </summary>
public sealed class SceneGenerator
{
    private const int BankSize = 48;

    private readonly Tensor _y;
    private readonly Tensor _x;
    private readonly Tensor _textures;       // (BankSize, 1, S, S) multi-octave noise, unit scale
    private readonly Tensor[] _colourFields; // per cell count: (BankSize, 3, S, S) smooth fields, unit scale

    /// <summary>
    /// Creates a generator of pictures of side <paramref name="size"/>. Upsampling noise to full size is the slow part
    /// of drawing, so banks of noise fields are made once here (from a fixed seed) and each picture picks, shifts and
    /// flips fields from them.
    /// </summary>
    public SceneGenerator(int size)
    {
        Size = size;
        _y = linspace(0, 1, size).unsqueeze(1).expand(size, size).contiguous();
        _x = linspace(0, 1, size).unsqueeze(0).expand(size, size).contiguous();
        using var g = new Generator(0x5CE9E);
        var textures = zeros([BankSize, 1, size, size]);
        var weight = 1.0;
        // Coarse to fine with falling weight: roughly the 1/f spectrum of natural textures.
        foreach (var cells in new[] { size / 32, size / 16, size / 8 })
        {
            textures += F.interpolate(randn([BankSize, 1, cells, cells], generator: g), [size, size], mode: InterpolationMode.Bicubic, align_corners: false) * weight;
            weight *= 0.5;
        }
        _textures = textures;
        _colourFields = Enumerable.Range(0, 7).Select(cells => cells < 2 ? empty(0) :
            F.interpolate(randn([BankSize, 3, cells, cells], generator: g), [size, size], mode: InterpolationMode.Bicubic, align_corners: false)).ToArray();
    }

    /// <summary>The side of the pictures in pixels.</summary>
    public int Size { get; }

    /// <summary>Draws one picture.</summary>
    public Tensor Draw(Generator g)
    {
        using var scope = NewDisposeScope();
        var image = Background(g);
        var shapes = (int)Int(g, 2, 7);
        for (var i = 0; i < shapes; i++)
        {
            var kind = Int(g, 0, 5);
            var (mask, paint) = kind switch
            {
                0 => (Hill(g), Paint(g)),
                1 => (Disc(g), Paint(g)),
                2 => (Box(g), Paint(g)),
                3 => (Disc(g), Stripes(g)),
                _ => (Box(g), Checker(g)),
            };
            image = image * (1 - mask) + paint * mask;
        }
        if (Uniform(g) < 0.35)
        {
            // A photo's optics: a slight blur.
            image = F.avg_pool2d(F.pad(image.unsqueeze(0), [1, 1, 1, 1], PaddingModes.Replicate), 3, stride: 1).squeeze(0);
        }
        if (Uniform(g) < 0.5)
        {
            image = image + randn(image.shape, generator: g) * (Uniform(g) * 0.015); // sensor grain
        }
        return image.clamp(0, 1).MoveToOuterDisposeScope();
    }

    private Tensor Background(Generator g)
    {
        var top = Colour(g);
        var bottom = Colour(g);
        var tilt = (Uniform(g) - 0.5) * 0.6;
        var ramp = (_y + (_x - 0.5) * tilt).clamp(0, 1).unsqueeze(0);
        var image = top * (1 - ramp) + bottom * ramp;
        return image + SmoothField(g, 4, 0.12) + Texture(g, 0.06);
    }

    /// <summary>A flat colour with texture, or a colour field.</summary>
    private Tensor Paint(Generator g)
    {
        var colour = Colour(g).expand(3, Size, Size);
        return colour + SmoothField(g, (int)Int(g, 2, 6), 0.1) + Texture(g, Uniform(g) * 0.08);
    }

    private Tensor Stripes(Generator g)
    {
        var a = Colour(g);
        var b = Colour(g);
        var angle = Uniform(g) * Math.PI;
        var frequency = 2 + Uniform(g) * 6;
        var phase = (_x * Math.Cos(angle) + _y * Math.Sin(angle)) * (2 * Math.PI * frequency);
        var t = (phase.sin() * 4).sigmoid().unsqueeze(0);
        return a * t + b * (1 - t) + Texture(g, 0.04);
    }

    private Tensor Checker(Generator g)
    {
        var a = Colour(g);
        var b = Colour(g);
        var cells = 2 + Uniform(g) * 4;
        var t = ((_x * (2 * Math.PI * cells)).sin() * (_y * (2 * Math.PI * cells)).sin() * 6).sigmoid().unsqueeze(0);
        return a * t + b * (1 - t) + Texture(g, 0.04);
    }

    private Tensor Hill(Generator g)
    {
        var baseline = 0.35 + Uniform(g) * 0.5;
        var h = full([Size], baseline);
        var xs = linspace(0, 1, Size);
        for (var k = 0; k < 3; k++)
        {
            var amplitude = Uniform(g) * 0.12 / (k + 1);
            var frequency = (1 + Uniform(g) * 3) * (k + 1);
            h = h + (xs * (2 * Math.PI * frequency) + Uniform(g) * 6.28).sin() * amplitude;
        }
        return Soft((_y - h.unsqueeze(0)) * Size, 1.5);
    }

    private Tensor Disc(Generator g)
    {
        var cx = Uniform(g);
        var cy = Uniform(g);
        var r = 0.05 + Uniform(g) * 0.25;
        var distance = ((_x - cx).square() + (_y - cy).square()).sqrt();
        return Soft((r - distance) * Size, 1 + Uniform(g) * 3);
    }

    private Tensor Box(Generator g)
    {
        var cx = Uniform(g);
        var cy = Uniform(g);
        var hw = 0.05 + Uniform(g) * 0.3;
        var hh = 0.05 + Uniform(g) * 0.3;
        var angle = (Uniform(g) - 0.5) * 0.8;
        var u = (_x - cx) * Math.Cos(angle) + (_y - cy) * Math.Sin(angle);
        var v = -(_x - cx) * Math.Sin(angle) + (_y - cy) * Math.Cos(angle);
        var inside = minimum(hw - u.abs(), hh - v.abs());
        return Soft(inside * Size, 1.0);
    }

    /// <summary>A soft 0–1 mask from a signed distance in pixels.</summary>
    private static Tensor Soft(Tensor signedPixels, double softness) => (signedPixels / softness).sigmoid().unsqueeze(0);

    /// <summary>A smooth colour field: a coarse random grid (2–6 cells a side) upsampled bicubically, from the bank.</summary>
    private Tensor SmoothField(Generator g, int cells, double amplitude) =>
        Vary(g, _colourFields[Math.Clamp(cells, 2, 6)][Int(g, 0, BankSize)]) * amplitude;

    /// <summary>Multi-octave value noise (grey), from the bank.</summary>
    private Tensor Texture(Generator g, double amplitude) =>
        (Vary(g, _textures[Int(g, 0, BankSize)]) * amplitude).expand(3, Size, Size);

    /// <summary>A bank field shifted (circularly) and flipped at random, so few fields give many textures.</summary>
    private Tensor Vary(Generator g, Tensor field)
    {
        var shifted = field.roll([Int(g, 0, Size), Int(g, 0, Size)], [1, 2]);
        return Uniform(g) < 0.5 ? shifted.flip(2) : shifted;
    }

    private static Tensor Colour(Generator g) => rand([3, 1, 1], generator: g) * 0.9 + 0.05;

    private static double Uniform(Generator g) => rand(1, generator: g).item<float>();

    private static long Int(Generator g, long low, long high) => randint(low, high, [1], generator: g).item<long>();
}
