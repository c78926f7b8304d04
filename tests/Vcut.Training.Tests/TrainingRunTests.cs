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

    private static float[] Initial()
    {
        using var parameters = Model.SvdParameters.CreateForTraining(ModelPreset.Micro, new TrainingOptions { OutputDirectory = "." }.Seed);
        return parameters.Values("encoder.conv_in.weight");
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
