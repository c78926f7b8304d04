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
/// fresh clips every step (what training asks: generalising), printing the PSNR and the gradient reaching the encoder.
/// </summary>
internal static class VaeOverfit
{
    public static void Run(ModelPreset preset, double lr, int steps, int size, bool fresh)
    {
        torch.set_num_threads(1);
        using var parameters = SvdParameters.CreateForTraining(preset, 1);
        var nets = new SvdNetworks(parameters);
        var scenes = new SceneGenerator(2 * size);
        var clips = new CameraClips(size);
        using var g = new Generator(3);
        var frames = cat(Enumerable.Range(0, 2).Select(_ => clips.Render(scenes.Draw(g), 2, 7, 127).Frames * 2 - 1).ToList(), 0);
        var p = parameters.TensorsOf(ModelNames.VaeEncoder, ModelNames.VaeDecoder).ToList();
        using var optimizer = torch.optim.Adam(p, lr);
        for (var step = 1; step <= steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            if (fresh)
            {
                frames = cat(Enumerable.Range(0, 4).Select(_ => clips.Render(scenes.Draw(g), 2, 7, 127).Frames * 2 - 1).ToList(), 0).MoveToOuterDisposeScope();
            }
            var (mean, _) = nets.VaeEncoder(frames);
            var y = nets.VaeDecoder(mean, 2);
            var mse = F.mse_loss(y, frames);
            mse.backward();
            optimizer.step();
            if (step % 20 == 0 || step <= 3)
            {
                using (no_grad())
                {
                    var spread = mean.std(0).mean().item<float>();
                    var scale = mean.abs().mean().item<float>();
                    var encoderGrad = parameters["encoder.conv_in.weight"].grad!.norm().item<float>();
                    var decoderGrad = parameters["decoder.conv_in.weight"].grad!.norm().item<float>();
                    var outGrad = parameters["decoder.conv_out.weight"].grad!.norm().item<float>();
                    Console.WriteLine($"  latent |mean| {scale:G3}, spread across samples {spread:G3}; grad norms enc.conv_in {encoderGrad:G3} dec.conv_in {decoderGrad:G3} dec.conv_out {outGrad:G3}");
                }
                var psnr = 10 * Math.Log10(4 / mse.item<float>());
                Console.WriteLine($"step {step}: PSNR {psnr:F2} dB");
            }
        }
    }
}
