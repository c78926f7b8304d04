using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchSharp;
using Vcut.Graph.Architecture;
using Vcut.Graph.Convert;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Runtime.Imaging;
using Vcut.Training.Data;
using Vcut.Training.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Vcut.Training.Training;

/// <summary>One line of the training log.</summary>
/// <param name="Stage">vae or unet.</param>
/// <param name="Step">1-based optimizer step within the stage.</param>
/// <param name="TotalSteps">Steps of the whole stage.</param>
/// <param name="Loss">The step's loss.</param>
/// <param name="Seconds">Seconds since the stage started (this run).</param>
public sealed record TrainingProgress(string Stage, int Step, int TotalSteps, double Loss, double Seconds);

/// <summary>
/// Trains the micro-SVD in two stages: the VAE (encoder and temporal decoder) on clips of procedural pictures, then,
/// with the VAE frozen, the UNet on the same kind of clips, conditioned as SVD is and with SVD's v-prediction
/// objective. The CLIP image encoder keeps its initial random weights (see docs/model-card.md). Every
/// <see cref="TrainingOptions.CheckpointEvery"/> steps the weights, the optimizer state and the position in the
/// data stream are saved, so a stopped run resumes where it was and ends with the same weights.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly TrainingOptions _options;
    private readonly SvdParameters _parameters;
    private readonly SvdNetworks _nets;
    private readonly SceneGenerator _scenes;
    private readonly CameraClips _clips;
    private readonly string _checkpointDirectory;
    private TrainingState _state;

    /// <summary>Creates a trainer for <paramref name="preset"/>, resuming from the checkpoint in the output folder if there is one.</summary>
    public Trainer(ModelPreset preset, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        torch.set_num_threads(options.Threads);
        torch.manual_seed(options.Seed);
        _parameters = SvdParameters.CreateForTraining(preset, options.Seed);
        if (options.DesignedVaeStart)
        {
            VaeDesignedStart.Apply(_parameters);
        }
        _nets = new SvdNetworks(_parameters);
        _scenes = new SceneGenerator(2 * options.Size);
        _clips = new CameraClips(options.Size);
        _checkpointDirectory = Path.Combine(options.OutputDirectory, "checkpoint");
        _state = new TrainingState(0, 0, preset.Architecture.Vae.ScalingFactor);
        Directory.CreateDirectory(options.OutputDirectory);
        if (File.Exists(Path.Combine(_checkpointDirectory, StateFile)))
        {
            _state = Checkpoint.Load(_checkpointDirectory, _parameters);
        }
        else if (options.InitialModelDirectory is { } initial)
        {
            try
            {
                _state = StartFrom(initial);
            }
            catch
            {
                _parameters.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Loads a model directory's weights; its VAE scaling factor is kept (the UNet it holds was trained on latents
    /// scaled by it), so the UNet stage does not measure a new one.
    /// </summary>
    private TrainingState StartFrom(string modelDirectory)
    {
        var manifest = ModelManifest.Load(modelDirectory);
        // Get refuses a parameter the directory lacks or holds in another shape, naming it: a model of another preset.
        var source = ModelDirectoryWeightSource.Open(modelDirectory);
        _parameters.Load(_parameters.Specs.ToDictionary(spec => spec.Key, spec => source.Get(spec.Value)!, StringComparer.Ordinal));
        return new TrainingState(0, 0, manifest.Architecture.Vae.ScalingFactor) { ScalingFactorFixed = true };
    }

    private const string StateFile = "state.json";

    /// <summary>The trained parameters.</summary>
    public SvdParameters Parameters => _parameters;

    /// <summary>The architecture with the VAE scaling factor measured after the VAE stage.</summary>
    public ModelPreset TrainedPreset => _parameters.Preset with
    {
        Architecture = _parameters.Preset.Architecture with
        {
            Vae = _parameters.Preset.Architecture.Vae with { ScalingFactor = _state.ScalingFactor },
        },
    };

    /// <summary>Whether every stage is complete.</summary>
    public bool IsComplete => _state.VaeSteps >= _options.VaeSteps && _state.UNetSteps >= _options.UNetSteps
        && _state.DecoderSteps >= _options.DecoderSteps;

    /// <summary>Runs (or resumes) the stages: VAE, UNet, then the decoder alone.</summary>
    public void Train(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        if (_state.VaeSteps < _options.VaeSteps)
        {
            TrainVae(progress, cancellationToken);
        }
        if (_state.UNetSteps < _options.UNetSteps)
        {
            if (_state.UNetSteps == 0 && !_state.ScalingFactorFixed)
            {
                _state = _state with { ScalingFactor = MeasureScalingFactor() };
            }
            TrainUNet(progress, cancellationToken);
        }
        if (_state.DecoderSteps < _options.DecoderSteps)
        {
            TrainDecoder(progress, cancellationToken);
        }
    }

    private void TrainVae(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var parameters = _parameters.TensorsOf(ModelNames.VaeEncoder, ModelNames.VaeDecoder).ToList();
        using var optimizer = torch.optim.AdamW(parameters, _options.VaeLearningRate, weight_decay: 0);
        RunStage("vae", _options.VaeSteps, _state.VaeSteps, optimizer, parameters, step => ReconstructionLoss("vae", step, trainEncoder: true),
            (step) => _state = _state with { VaeSteps = step }, progress, cancellationToken);
    }

    /// <summary>
    /// The decoder alone, after the UNet: the encoder is frozen, so the latents the UNet learnt stay what they were,
    /// while the decoder keeps improving its reconstructions.
    /// </summary>
    private void TrainDecoder(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var parameters = _parameters.TensorsOf(ModelNames.VaeDecoder).ToList();
        using var optimizer = torch.optim.AdamW(parameters, _options.VaeLearningRate, weight_decay: 0);
        RunStage("decoder", _options.DecoderSteps, _state.DecoderSteps, optimizer, parameters, step => ReconstructionLoss("decoder", step, trainEncoder: false),
            (step) => _state = _state with { DecoderSteps = step }, progress, cancellationToken);
    }

    private Tensor ReconstructionLoss(string stage, int step, bool trainEncoder)
    {
        using var g = StepGenerator(stage, step);
        // Random crops: the VAE is convolutional, and crops give many more optimizer steps per second. Not too
        // small: GroupNorm normalises over the whole input, and the decoder's learnt branches only carry over to whole
        // frames when the crops' statistics are close to a frame's (32-pixel crops of 128-pixel frames did not).
        var crop = _options.VaeCrop;
        var offsetY = randint(0, _options.Size - crop + 1, [1], generator: g).item<long>();
        var offsetX = randint(0, _options.Size - crop + 1, [1], generator: g).item<long>();
        var frames = MakeClips(g, _options.VaeBatch, _options.VaeFrames)
            .narrow(2, offsetY, crop).narrow(3, offsetX, crop).contiguous(); // (B·F, 3, crop, crop) in [−1, 1]
        Tensor mean;
        using (trainEncoder ? null : no_grad())
        {
            mean = _nets.VaeEncoder(frames).Mean;
        }
        // A little latent noise keeps the decoder robust to the UNet's imperfect latents.
        var latents = mean + randn(mean.shape, generator: g) * 0.05 * mean.detach().std();
        var reconstruction = _nets.VaeDecoder(latents, _options.VaeFrames);
        var loss = F.mse_loss(reconstruction, frames) + 0.5 * F.l1_loss(reconstruction, frames) + 1e-4 * mean.square().mean();
        return loss;
    }

    private void TrainUNet(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var parameters = _parameters.TensorsOf(ModelNames.UNet).ToList();
        using var optimizer = torch.optim.AdamW(parameters, _options.UNetLearningRate, weight_decay: 0);
        var frameCount = _options.Frames;
        RunStage("unet", _options.UNetSteps, _state.UNetSteps, optimizer, parameters, step =>
        {
            using var g = StepGenerator("unet", step);
            var batch = _options.UNetBatch;
            var clips = Enumerable.Range(0, batch).Select(_ => DrawClip(g, frameCount)).ToList();
            Tensor x0, conditioning, context, timeIds;
            using (no_grad())
            {
                var frames = cat(clips.Select(c => c.Frames * 2 - 1).ToList(), 0); // (B·F, 3, S, S)
                var (mean, _) = _nets.VaeEncoder(frames);
                x0 = (mean * _state.ScalingFactor).reshape(batch, frameCount, mean.shape[1], mean.shape[2], mean.shape[3]);
                var first = frames.reshape(batch, frameCount, 3, _options.Size, _options.Size).select(1, 0);
                var augmentation = (randn([batch], generator: g) * 0.5 - 3.0).exp().clamp(0, 0.3);
                var noisyFirst = first + randn(first.shape, generator: g) * augmentation.reshape(batch, 1, 1, 1);
                conditioning = _nets.VaeEncoder(noisyFirst).Mean;
                context = _nets.ImageEncoder(ClipPixels(clips)).unsqueeze(1);
                var keep = (rand([batch], generator: g) >= _options.ConditioningDropout).to_type(float32);
                conditioning = conditioning * keep.reshape(batch, 1, 1, 1);
                context = context * keep.reshape(batch, 1, 1);
                timeIds = stack(clips.Select((c, i) => tensor(new[] { c.Fps - 1, c.MotionBucketId, augmentation[i].item<float>() })).ToList());
            }
            var sigma = (randn([batch], generator: g) * _options.LogSigmaStd + _options.LogSigmaMean).exp();
            var s = sigma.reshape(batch, 1, 1, 1, 1);
            var noisy = x0 + randn(x0.shape, generator: g) * s;
            var cIn = 1 / (s.square() + 1).sqrt();
            var cSkip = 1 / (s.square() + 1);
            var cOut = -s / (s.square() + 1).sqrt();
            var target = (x0 - cSkip * noisy) / cOut;
            var sample = cat([noisy * cIn, conditioning.unsqueeze(1).expand(-1, frameCount, -1, -1, -1)], 2);
            var prediction = _nets.UNet(sample, 0.25 * sigma.log(), context, timeIds);
            return F.mse_loss(prediction, target);
        }, step => _state = _state with { UNetSteps = step }, progress, cancellationToken);
    }

    private void RunStage(string stage, int totalSteps, int doneSteps, TorchSharp.Modules.OptimizerHelper optimizer, List<TorchSharp.Modules.Parameter> parameters,
        Func<int, Tensor> computeLoss, Action<int> recordStep, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var optimizerFile = Path.Combine(_checkpointDirectory, $"{stage}-optimizer.bin");
        if (doneSteps > 0 && File.Exists(optimizerFile))
        {
            optimizer.load_state_dict(optimizerFile);
        }
        var log = Path.Combine(_options.OutputDirectory, "loss.csv");
        if (!File.Exists(log))
        {
            File.WriteAllText(log, "stage,step,loss,seconds\n");
        }
        var clock = Stopwatch.StartNew();
        for (var step = doneSteps + 1; step <= totalSteps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double lossValue;
            using (var scope = NewDisposeScope())
            {
                optimizer.zero_grad();
                var loss = computeLoss(step);
                loss.backward();
                torch.nn.utils.clip_grad_norm_(parameters, 1.0);
                // A linear warm-up over the first 5 % (Adam's first steps are large on a freshly initialised network),
                // then a cosine decay to a tenth over the stage.
                var warmUp = Math.Min(1.0, step / Math.Max(1.0, 0.05 * totalSteps));
                var lr = warmUp * LearningRate(stage) * (0.55 + 0.45 * Math.Cos(Math.PI * (step - 1) / Math.Max(1, totalSteps - 1)));
                foreach (var group in optimizer.ParamGroups)
                {
                    group.LearningRate = lr;
                }
                optimizer.step();
                lossValue = loss.item<float>();
            }
            File.AppendAllText(log, string.Create(CultureInfo.InvariantCulture, $"{stage},{step},{lossValue:G6},{clock.Elapsed.TotalSeconds:F1}\n"));
            progress?.Report(new TrainingProgress(stage, step, totalSteps, lossValue, clock.Elapsed.TotalSeconds));
            if (step % _options.CheckpointEvery == 0 || step == totalSteps)
            {
                recordStep(step);
                Checkpoint.Save(_checkpointDirectory, _parameters, _state);
                optimizer.save_state_dict(optimizerFile);
            }
        }
    }

    private double LearningRate(string stage) => stage == "unet" ? _options.UNetLearningRate : _options.VaeLearningRate;

    /// <summary>A generator for one step, derived from the seed, the stage and the step, so a resumed run draws the same data.</summary>
    private Generator StepGenerator(string stage, int step) =>
        new((ulong)(_options.Seed * 1_000_003 + stage switch { "vae" => 0, "unet" => 500_000_000, _ => 900_000_000 } + step));

    private Clip DrawClip(Generator g, int frames)
    {
        using var canvas = _scenes.Draw(g);
        // fps log-uniform in [4, 30]; motion bucket uniform in [1, 255].
        var fps = (float)Math.Exp(Math.Log(4) + rand(1, generator: g).item<float>() * (Math.Log(30) - Math.Log(4)));
        var bucket = 1 + rand(1, generator: g).item<float>() * 254;
        return _clips.Render(canvas, frames, fps, bucket);
    }

    private Tensor MakeClips(Generator g, int clips, int frames) =>
        cat(Enumerable.Range(0, clips).Select(_ => DrawClip(g, frames).Frames * 2 - 1).ToList(), 0);

    /// <summary>CLIP's input for each clip's first frame, prepared as the pipeline prepares it.</summary>
    private static Tensor ClipPixels(IReadOnlyList<Clip> clips)
    {
        var size = ClipImagePreprocessor.Size;
        var pixels = new float[clips.Count * ClipImagePreprocessor.OutputLength];
        for (var i = 0; i < clips.Count; i++)
        {
            using var first = clips[i].Frames.select(0, 0).contiguous();
            var side = (int)first.shape[1];
            var image = RgbImage.FromPixels(first.data<float>().ToArray(), side, side);
            ClipImagePreprocessor.Preprocess(image, pixels.AsSpan(i * ClipImagePreprocessor.OutputLength, ClipImagePreprocessor.OutputLength));
        }
        return tensor(pixels, [clips.Count, 3, size, size]);
    }

    /// <summary>1/std of the VAE's latents over clips the UNet will train on, so the UNet sees unit-variance latents.</summary>
    private float MeasureScalingFactor()
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        using var g = new Generator((ulong)_options.Seed + 7);
        var frames = MakeClips(g, 8, 2);
        var (mean, _) = _nets.VaeEncoder(frames);
        return (float)(1.0 / mean.std().item<float>());
    }

    /// <inheritdoc />
    public void Dispose() => _parameters.Dispose();

    /// <summary>Writes the trained networks as a diffusers snapshot (for <c>vcut convert</c>) to <paramref name="directory"/>.</summary>
    public void WriteSnapshot(string directory, string description) =>
        DiffusersSnapshotWriter.Write(directory, TrainedPreset, _parameters.AsWeightSource(description));

    /// <summary>Writes the progress as JSON (for the model card).</summary>
    public void WriteSummary(string path, double seconds)
    {
        var summary = new Dictionary<string, object>
        {
            ["seed"] = _options.Seed,
            ["vaeSteps"] = _state.VaeSteps,
            ["unetSteps"] = _state.UNetSteps,
            ["decoderSteps"] = _state.DecoderSteps,
            ["unetLearningRate"] = _options.UNetLearningRate,
            ["logSigmaMean"] = _options.LogSigmaMean,
            ["logSigmaStd"] = _options.LogSigmaStd,
            ["scalingFactor"] = _state.ScalingFactor,
            ["seconds"] = seconds,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
    }
}

/// <summary>Where a run stands: steps done per stage, and the VAE scaling factor once measured.</summary>
public sealed record TrainingState(int VaeSteps, int UNetSteps, float ScalingFactor, int DecoderSteps = 0)
{
    /// <summary>Whether the scaling factor came with the model the run started from (and must not be measured again).</summary>
    public bool ScalingFactorFixed { get; init; }
}
