using Vcut.Graph.Architecture;
using Vcut.Runtime.Imaging;
using Vcut.Training.Model;
using static TorchSharp.torch;

namespace Vcut.Training.Training;

/// <summary>The VAE's reconstruction PSNR on pictures, from a run's checkpoint: a quick look during training.</summary>
public static class VaeCheck
{
    /// <summary>
    /// Encodes and decodes each picture (one-frame video) at <paramref name="size"/> and returns its PSNR in dB; with
    /// <paramref name="saveFolder"/>, also writes each input and its reconstruction side by side there. With
    /// <paramref name="designedStart"/> the VAE is the untrained designed codec (<see cref="VaeDesignedStart"/>) and
    /// <paramref name="runDirectory"/> is not read.
    /// </summary>
    public static IReadOnlyList<(string Picture, double Psnr)> Run(ModelPreset preset, string runDirectory, IEnumerable<string> pictures, int size,
        string? saveFolder = null, bool designedStart = false)
    {
        using var parameters = SvdParameters.CreateForTraining(preset, 0);
        if (designedStart)
        {
            VaeDesignedStart.Apply(parameters);
        }
        else
        {
            Checkpoint.Load(Path.Combine(runDirectory, "checkpoint"), parameters);
        }
        var nets = new SvdNetworks(parameters);
        var results = new List<(string, double)>();
        using var _ = no_grad();
        foreach (var picture in pictures)
        {
            using var scope = NewDisposeScope();
            var image = LanczosResizer.Resize(RgbImage.Load(picture), size, size);
            var x = tensor(image.Pixels, [1, 3, size, size]) * 2 - 1;
            var (mean, _) = nets.VaeEncoder(x);
            var y = ((nets.VaeDecoder(mean, 1) + 1) / 2).clamp(0, 1);
            var mse = (y - (x + 1) / 2).square().mean().item<float>();
            if (saveFolder is { } folder)
            {
                Directory.CreateDirectory(folder);
                using var side = cat([(x[0] + 1) / 2, y[0]], 2).contiguous();
                RgbImage.FromPixels(side.data<float>().ToArray(), 2 * size, size).SavePng(Path.Combine(folder, Path.GetFileNameWithoutExtension(picture) + ".png"));
            }
            results.Add((Path.GetFileName(picture), Psnr(mse)));
        }
        return results;
    }

    /// <summary>
    /// What reconstructions with no learnt detail score on each picture at <paramref name="size"/>: every pixel its
    /// picture's mean colour, and the picture averaged over <paramref name="factor"/>² blocks and resized back
    /// (bilinear): the references a VAE of that downscale factor has to beat.
    /// </summary>
    public static IReadOnlyList<(string Picture, double MeanColour, double Blur)> Baselines(IEnumerable<string> pictures, int size, int factor)
    {
        var results = new List<(string, double, double)>();
        using var _ = no_grad();
        foreach (var picture in pictures)
        {
            using var scope = NewDisposeScope();
            var image = LanczosResizer.Resize(RgbImage.Load(picture), size, size);
            var x = tensor(image.Pixels, [1, 3, size, size]);
            var flat = x.mean([2, 3], keepdim: true).expand_as(x);
            var blur = nn.functional.interpolate(nn.functional.avg_pool2d(x, factor), size: [size, size], mode: InterpolationMode.Bilinear, align_corners: false);
            results.Add((Path.GetFileName(picture), Psnr((flat - x).square().mean().item<float>()), Psnr((blur - x).square().mean().item<float>())));
        }
        return results;
    }

    private static double Psnr(double mse) => 10 * Math.Log10(1 / Math.Max(mse, 1e-10));
}
