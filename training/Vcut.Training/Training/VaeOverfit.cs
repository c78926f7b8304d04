using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Training.Data;
using Vcut.Training.Model;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Vcut.Training.Training;

/// <summary>
/// Diagnostic: fits the VAE to one fixed batch (a network that can learn drives the loss towards zero), or with
/// fresh clips every step (what training asks: generalising), printing the PSNR, the gradient reaching the encoder and
/// two references on the same batch: every pixel its picture's mean colour, and the picture blurred to 1/8 and back.
/// With <c>plainAutoencoder</c> a plain convolutional autoencoder (no normalisation, same 8× downscale and latent
/// width) stands in for SVD's VAE, which tells a slow-learning architecture from a slow-learning task.
/// </summary>
internal static class VaeOverfit
{
    public static void Run(ModelPreset preset, double lr, int steps, int size, bool fresh, bool plainAutoencoder)
    {
        torch.set_num_threads(1);
        using var parameters = SvdParameters.CreateForTraining(preset, 1);
        var nets = new SvdNetworks(parameters);
        var scenes = new SceneGenerator(2 * size);
        var clips = new CameraClips(size);
        using var g = new Generator(3);
        var frames = cat(Enumerable.Range(0, 2).Select(_ => clips.Render(scenes.Draw(g), 2, 7, 127).Frames * 2 - 1).ToList(), 0);
        var plain = plainAutoencoder;
        var latent = preset.Architecture.Vae.LatentChannels;
        using var enc = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding: 1), torch.nn.SiLU(), torch.nn.Conv2d(64, 64, 4, stride: 2, padding: 1), torch.nn.SiLU(),
            torch.nn.Conv2d(64, 64, 4, stride: 2, padding: 1), torch.nn.SiLU(), torch.nn.Conv2d(64, 64, 4, stride: 2, padding: 1), torch.nn.SiLU(), torch.nn.Conv2d(64, latent, 3, padding: 1));
        using var dec = torch.nn.Sequential(torch.nn.Conv2d(latent, 64, 3, padding: 1), torch.nn.SiLU(), torch.nn.ConvTranspose2d(64, 64, 4, stride: 2, padding: 1), torch.nn.SiLU(),
            torch.nn.ConvTranspose2d(64, 64, 4, stride: 2, padding: 1), torch.nn.SiLU(), torch.nn.ConvTranspose2d(64, 64, 4, stride: 2, padding: 1), torch.nn.SiLU(), torch.nn.Conv2d(64, 3, 3, padding: 1));
        var p = plain ? enc.parameters().Concat(dec.parameters()).ToList() : parameters.TensorsOf(ModelNames.VaeEncoder, ModelNames.VaeDecoder).ToList();
        using var optimizer = torch.optim.Adam(p, lr);
        for (var step = 1; step <= steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            if (fresh)
            {
                frames = cat(Enumerable.Range(0, 4).Select(_ => clips.Render(scenes.Draw(g), 2, 7, 127).Frames * 2 - 1).ToList(), 0).MoveToOuterDisposeScope();
            }
            var mean = plain ? enc.forward(frames) : nets.VaeEncoder(frames).Mean;
            var y = plain ? dec.forward(mean) : nets.VaeDecoder(mean, 2);
            var mse = F.mse_loss(y, frames);
            mse.backward();
            optimizer.step();
            if (step % 20 == 0 || step <= 3)
            {
                using (no_grad())
                {
                    var spread = mean.std(0).mean().item<float>();
                    var scale = mean.abs().mean().item<float>();
                    if (!plain)
                    {
                        var encoderGrad = parameters["encoder.conv_in.weight"].grad!.norm().item<float>();
                        var decoderGrad = parameters["decoder.conv_in.weight"].grad!.norm().item<float>();
                        var outGrad = parameters["decoder.conv_out.weight"].grad!.norm().item<float>();
                        Console.WriteLine($"  latent |mean| {scale:G3}, spread across samples {spread:G3}; grad norms enc.conv_in {encoderGrad:G3} dec.conv_in {decoderGrad:G3} dec.conv_out {outGrad:G3}");
                    }
                }
                using (no_grad())
                {
                    var flat = F.mse_loss(frames.mean([2, 3], keepdim: true).expand_as(frames), frames).item<float>();
                    var blur = F.mse_loss(F.interpolate(F.avg_pool2d(frames, 8), scale_factor: [8.0, 8.0], mode: InterpolationMode.Bilinear, align_corners: false), frames).item<float>();
                    Console.WriteLine($"step {step}: PSNR {Psnr(mse.item<float>()):F2} dB (same batch: mean colour {Psnr(flat):F2} dB, 1/8 blur {Psnr(blur):F2} dB)");
                }
            }
        }
    }

    private static double Psnr(double mse) => 10 * Math.Log10(4 / mse); // signals in [−1, 1]: peak-to-peak 2
}
