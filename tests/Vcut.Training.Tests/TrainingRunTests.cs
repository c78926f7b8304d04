using System.Globalization;
using Vcut.Graph.Architecture;
using Vcut.Graph.Convert;
using Vcut.Runtime.Imaging;
using Vcut.Runtime.Pipeline;
using Vcut.Training.Training;

namespace Vcut.Training.Tests;

/// <summary>
/// A short training run of the embedded default's architecture (tens of steps at 64×64): both losses fall, the
/// exported snapshot converts with the converter users use, and the converted model makes a video.
/// </summary>
[TestClass]
public sealed class TrainingRunTests
{
    [TestMethod]
    public void ShortRunLearnsExportsConvertsAndGenerates()
    {
        var root = Path.Combine(Path.GetTempPath(), "vcut-train-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new TrainingOptions
            {
                OutputDirectory = Path.Combine(root, "run"),
                VaeSteps = 40,
                UNetSteps = 30,
                UNetBatch = 1,
                Frames = 4,
                Size = 64,
                CheckpointEvery = 25,
                VaeLearningRate = 2e-3,
                UNetLearningRate = 1e-3,
                // From a random start, so that tens of steps show the VAE learning (the designed start begins near
                // its plateau for such a short run; DesignedStartReconstructsBeforeTraining checks it).
                DesignedVaeStart = false,
            };
            using (var trainer = new Trainer(ModelPreset.Micro, options))
            {
                trainer.Train();
                Assert.IsTrue(trainer.IsComplete);
                DiffusersSnapshotWriter.Write(Path.Combine(root, "snapshot"), trainer.TrainedPreset, trainer.Parameters.AsWeightSource("test"));
            }

            var losses = File.ReadAllLines(Path.Combine(options.OutputDirectory, "loss.csv")).Skip(1)
                .Select(line => line.Split(','))
                .GroupBy(f => f[0], f => double.Parse(f[2], CultureInfo.InvariantCulture))
                .ToDictionary(g => g.Key, g => g.ToList());
            foreach (var (stage, values) in losses)
            {
                var first = values.Take(5).Average();
                var last = values.TakeLast(5).Average();
                Assert.IsLessThan(first, last, $"{stage}: the mean loss of the last 5 steps ({last:F4}) is not below that of the first 5 ({first:F4})");
            }
            Assert.HasCount(2, losses, "both stages logged their losses");

            var model = Path.Combine(root, "model");
            var report = CheckpointConverter.Convert(Path.Combine(root, "snapshot"), model);
            Assert.AreEqual(ModelPreset.Micro.Architecture.Vae.LatentChannels, report.Manifest.Architecture.Vae.LatentChannels);
            using var generator = VideoGenerator.Open(model);
            var picture = RgbImage.FromPixels(Enumerable.Range(0, 3 * 64 * 64).Select(i => (i % 64) / 64f).ToArray(), 64, 64);
            var video = generator.Generate(picture, new VideoGenerationOptions { Steps = 2, Frames = 4, Height = 64, Width = 64 });
            Assert.AreEqual(4, video.FrameCount);
            Assert.IsTrue(video.Frames.All(float.IsFinite), "every pixel is finite");
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [TestMethod]
    public void ResumedRunEndsWithTheSameWeights()
    {
        var root = Path.Combine(Path.GetTempPath(), "vcut-train-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            TrainingOptions Options(string name) => new()
            {
                OutputDirectory = Path.Combine(root, name), VaeSteps = 6, UNetSteps = 0, Frames = 2, Size = 64,
                CheckpointEvery = 3, Threads = 1,
            };
            float[] straight;
            using (var trainer = new Trainer(ModelPreset.Micro, Options("straight")))
            {
                trainer.Train();
                straight = trainer.Parameters.Values("encoder.conv_in.weight");
            }
            using (var cancel = new CancellationTokenSource())
            using (var trainer = new Trainer(ModelPreset.Micro, Options("resumed")))
            {
                Assert.ThrowsExactly<OperationCanceledException>(() => trainer.Train(
                    new SyncProgress(p => { if (p.Step == 3) { cancel.Cancel(); } }), cancel.Token));
            }
            using (var trainer = new Trainer(ModelPreset.Micro, Options("resumed")))
            {
                trainer.Train();
                var resumed = trainer.Parameters.Values("encoder.conv_in.weight");
                var worst = straight.Zip(resumed, (a, b) => MathF.Abs(a - b)).Max();
                Assert.IsLessThan(1e-5f, worst, $"a run stopped after 3 of 6 steps and resumed differs from a straight run by {worst:G3}");
                Assert.IsGreaterThan(0f, straight.Zip(Initial(), (a, b) => MathF.Abs(a - b)).Max(), "training changed the weights");
            }
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [TestMethod]
    public void RunStartedFromAModelDirectoryHoldsItsWeightsAndScalingFactor()
    {
        var root = Path.Combine(Path.GetTempPath(), "vcut-train-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            // A model directory made the way the default is: a trainer's weights, a snapshot, vcut convert.
            float[] unetWeight, decoderWeight;
            using (var source = new Trainer(ModelPreset.Micro, new TrainingOptions { OutputDirectory = Path.Combine(root, "first"), VaeSteps = 0, UNetSteps = 0, Threads = 1 }))
            {
                unetWeight = source.Parameters.Values("conv_in.weight");
                decoderWeight = source.Parameters.Values("decoder.conv_out.weight");
                DiffusersSnapshotWriter.Write(Path.Combine(root, "snapshot"), source.TrainedPreset with
                {
                    Architecture = source.TrainedPreset.Architecture with { Vae = source.TrainedPreset.Architecture.Vae with { ScalingFactor = 0.75f } },
                }, source.Parameters.AsWeightSource("test"));
            }
            var model = Path.Combine(root, "model");
            CheckpointConverter.Convert(Path.Combine(root, "snapshot"), model);

            // Another seed: every value the run holds must come from the directory, not from its own initialisation.
            using (var next = new Trainer(ModelPreset.Micro, new TrainingOptions { OutputDirectory = Path.Combine(root, "next"), Seed = 99, VaeSteps = 0, UNetSteps = 0, InitialModelDirectory = model, Threads = 1 }))
            {
                CollectionAssert.AreEqual(unetWeight, next.Parameters.Values("conv_in.weight"));
                CollectionAssert.AreEqual(decoderWeight, next.Parameters.Values("decoder.conv_out.weight"));
                Assert.AreEqual(0.75f, next.TrainedPreset.Architecture.Vae.ScalingFactor, "the UNet in the directory was trained on latents scaled by its factor");
            }

            // A directory of another architecture is refused, naming the parameter.
            var error = Assert.ThrowsExactly<InvalidDataException>(() => new Trainer(ModelPreset.Tiny,
                new TrainingOptions { OutputDirectory = Path.Combine(root, "wrong"), VaeSteps = 0, UNetSteps = 0, InitialModelDirectory = model, Threads = 1, DesignedVaeStart = false }));
            StringAssert.Contains(error.Message, "has shape");
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [TestMethod]
    public void DecoderStageLeavesTheEncoderAlone()
    {
        var root = Path.Combine(Path.GetTempPath(), "vcut-train-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            TrainingOptions Options(int decoderSteps) => new()
            {
                OutputDirectory = root, VaeSteps = 2, UNetSteps = 0, DecoderSteps = decoderSteps, Frames = 2, Size = 64,
                CheckpointEvery = 1, Threads = 1,
            };
            float[] encoderBefore, decoderBefore;
            using (var trainer = new Trainer(ModelPreset.Micro, Options(0)))
            {
                trainer.Train();
                encoderBefore = trainer.Parameters.Values("encoder.conv_in.weight");
                decoderBefore = trainer.Parameters.Values("decoder.conv_out.weight");
            }
            using (var trainer = new Trainer(ModelPreset.Micro, Options(3)))
            {
                Assert.IsFalse(trainer.IsComplete, "three decoder steps are still to do");
                trainer.Train();
                Assert.IsTrue(trainer.IsComplete);
                CollectionAssert.AreEqual(encoderBefore, trainer.Parameters.Values("encoder.conv_in.weight"), "the decoder stage changed the encoder");
                var moved = decoderBefore.Zip(trainer.Parameters.Values("decoder.conv_out.weight"), (a, b) => MathF.Abs(a - b)).Max();
                Assert.IsGreaterThan(0f, moved, "the decoder stage trained the decoder");
            }
            var stages = File.ReadAllLines(Path.Combine(root, "loss.csv")).Skip(1).Select(line => line.Split(',')[0]).ToList();
            CollectionAssert.AreEqual(new[] { "vae", "vae", "decoder", "decoder", "decoder" }, stages);
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [TestMethod]
    public void DesignedStartReconstructsBeforeTraining()
    {
        // A smooth picture with distinct colours: the designed codec (block averages down, bilinear up) must give it
        // back with its colours before any training; a random start gives noise around mid-grey.
        const int size = 64;
        var pixels = new float[3 * size * size];
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                pixels[y * size + x] = 0.2f + 0.6f * x / size;
                pixels[size * size + y * size + x] = 0.8f - 0.5f * y / size;
                pixels[2 * size * size + y * size + x] = 0.5f + 0.3f * MathF.Sin(0.05f * (x + y));
            }
        }
        var picture = TorchSharp.torch.tensor(pixels, [1, 3, size, size]) * 2 - 1;
        double Psnr(bool designed)
        {
            using var parameters = Model.SvdParameters.CreateForTraining(ModelPreset.Micro, 7);
            if (designed)
            {
                Model.VaeDesignedStart.Apply(parameters);
            }
            var nets = new Model.SvdNetworks(parameters);
            using var _ = TorchSharp.torch.no_grad();
            var (mean, _) = nets.VaeEncoder(picture);
            var reconstruction = nets.VaeDecoder(mean, 1).clamp(-1, 1);
            var mse = ((reconstruction - picture) / 2).square().mean().item<float>();
            return 10 * Math.Log10(1 / mse);
        }
        var designedPsnr = Psnr(designed: true);
        var randomPsnr = Psnr(designed: false);
        Assert.IsGreaterThan(24.0, designedPsnr, $"the designed start reconstructs a smooth picture at {designedPsnr:F1} dB (random start: {randomPsnr:F1} dB)");
        Assert.IsLessThan(16.0, randomPsnr, $"a random start reconstructs it at {randomPsnr:F1} dB (designed start: {designedPsnr:F1} dB)");

        var narrow = ModelPreset.Tiny.Architecture.Vae;
        var error = Assert.ThrowsExactly<ArgumentException>(() => Model.VaeDesignedStart.Validate(narrow));
        StringAssert.Contains(error.Message, "block_out_channels [32, 32, 32, 32]");
    }

    private static float[] Initial()
    {
        using var parameters = Model.SvdParameters.CreateForTraining(ModelPreset.Micro, new TrainingOptions { OutputDirectory = "." }.Seed);
        Model.VaeDesignedStart.Apply(parameters);
        return parameters.Values("encoder.conv_in.weight");
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
