using System.CommandLine;
using System.Diagnostics;
using Vcut.Graph.Architecture;
using Vcut.Graph.Convert;
using Vcut.Training.Training;
using static TorchSharp.torch;

// vcut-train: trains the embedded default model and exports it as a diffusers snapshot for `vcut convert`.
var outOption = new Option<string>("--out") { Description = "Output folder: checkpoint, loss.csv, snapshot/", Required = true };
var presetOption = new Option<string>("--preset") { Description = "Architecture to train", DefaultValueFactory = _ => "micro" };
var defaults = new TrainingOptions { OutputDirectory = "." };
var seedOption = new Option<long>("--seed") { Description = "Seed of weights, data and noise", DefaultValueFactory = _ => defaults.Seed };
var vaeStepsOption = new Option<int>("--vae-steps") { Description = "VAE optimizer steps", DefaultValueFactory = _ => defaults.VaeSteps };
var unetStepsOption = new Option<int>("--unet-steps") { Description = "UNet optimizer steps", DefaultValueFactory = _ => defaults.UNetSteps };
var decoderStepsOption = new Option<int>("--decoder-steps") { Description = "Decoder-only optimizer steps after the UNet (encoder frozen)", DefaultValueFactory = _ => defaults.DecoderSteps };
var unetBatchOption = new Option<int>("--unet-batch") { Description = "Clips per UNet step", DefaultValueFactory = _ => defaults.UNetBatch };
var threadsOption = new Option<int>("--threads") { Description = "LibTorch threads", DefaultValueFactory = _ => defaults.Threads };
var vaeCropOption = new Option<int>("--vae-crop") { Description = "VAE training crop side", DefaultValueFactory = _ => defaults.VaeCrop };
var vaeBatchOption = new Option<int>("--vae-batch") { Description = "Clips per VAE step", DefaultValueFactory = _ => defaults.VaeBatch };
var vaeLrOption = new Option<double>("--vae-lr") { Description = "VAE learning rate", DefaultValueFactory = _ => defaults.VaeLearningRate };
var latentOption = new Option<int?>("--latent-channels") { Description = "Override the preset's latent channels (experiments)" };
var unetLrOption = new Option<double>("--unet-lr") { Description = "UNet learning rate", DefaultValueFactory = _ => defaults.UNetLearningRate };
var initOption = new Option<string?>("--init-from") { Description = "Start from this model directory's weights and VAE scaling factor (e.g. models/micro; with --vae-steps 0 to keep its VAE)" };
var logSigmaMeanOption = new Option<double>("--log-sigma-mean") { Description = "Mean of ln σ of the UNet's training noise levels", DefaultValueFactory = _ => defaults.LogSigmaMean };
var logSigmaStdOption = new Option<double>("--log-sigma-std") { Description = "Standard deviation of ln σ", DefaultValueFactory = _ => defaults.LogSigmaStd };
var checkpointOption = new Option<int>("--checkpoint-every") { Description = "Steps between checkpoints", DefaultValueFactory = _ => defaults.CheckpointEvery };

var train = new Command("train", "Train (or resume) both stages, then write OUT/snapshot (a diffusers snapshot)")
{
    outOption, presetOption, seedOption, vaeStepsOption, unetStepsOption, decoderStepsOption, unetBatchOption, threadsOption, checkpointOption,
    vaeCropOption, vaeBatchOption, vaeLrOption, unetLrOption, initOption, latentOption, logSigmaMeanOption, logSigmaStdOption,
};
train.SetAction(parse =>
{
    var options = new TrainingOptions
    {
        OutputDirectory = parse.GetValue(outOption)!,
        Seed = parse.GetValue(seedOption),
        VaeSteps = parse.GetValue(vaeStepsOption),
        UNetSteps = parse.GetValue(unetStepsOption),
        DecoderSteps = parse.GetValue(decoderStepsOption),
        UNetBatch = parse.GetValue(unetBatchOption),
        Threads = parse.GetValue(threadsOption),
        CheckpointEvery = parse.GetValue(checkpointOption),
        VaeCrop = parse.GetValue(vaeCropOption),
        VaeBatch = parse.GetValue(vaeBatchOption),
        VaeLearningRate = parse.GetValue(vaeLrOption),
        UNetLearningRate = parse.GetValue(unetLrOption),
        InitialModelDirectory = parse.GetValue(initOption),
        LogSigmaMean = parse.GetValue(logSigmaMeanOption),
        LogSigmaStd = parse.GetValue(logSigmaStdOption),
    };
    var preset = WithLatentChannels(ModelPreset.Get(parse.GetValue(presetOption)!), parse.GetValue(latentOption));
    var clock = Stopwatch.StartNew();
    Trainer trainer;
    try
    {
        trainer = new Trainer(preset, options);
    }
    catch (Exception e) when (e is ArgumentException or DirectoryNotFoundException or FileNotFoundException or InvalidDataException)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
    using var _ = trainer;
    var last = Stopwatch.StartNew();
    double? smoothed = null;
    trainer.Train(new SynchronousProgress<TrainingProgress>(p =>
    {
        smoothed = smoothed is { } s ? 0.98 * s + 0.02 * p.Loss : p.Loss;
        if (last.Elapsed.TotalSeconds >= 10 || p.Step == p.TotalSteps)
        {
            var eta = p.Seconds / Math.Max(1, p.Step) * (p.TotalSteps - p.Step);
            Console.WriteLine($"{p.Stage} step {p.Step}/{p.TotalSteps}  loss {p.Loss:F4} (smoothed {smoothed:F4})  {p.Seconds:F0} s, stage ETA {eta / 60:F1} min");
            last.Restart();
        }
    }));
    var snapshot = Path.Combine(options.OutputDirectory, "snapshot");
    trainer.WriteSnapshot(snapshot, $"trained:{preset.Name}:seed{options.Seed}");
    trainer.WriteSummary(Path.Combine(options.OutputDirectory, "summary.json"), clock.Elapsed.TotalSeconds);
    Console.WriteLine($"Wrote {snapshot} (convert it with: vcut convert --from {snapshot} --out DIR)");
    return 0;
});

var export = new Command("export", "Write OUT/snapshot from OUT's latest checkpoint (a look at a run that is still training)") { outOption, presetOption };
export.SetAction(parse =>
{
    var run = parse.GetValue(outOption)!;
    if (!File.Exists(Path.Combine(run, "checkpoint", "state.json")))
    {
        Console.Error.WriteLine($"No checkpoint in '{Path.Combine(run, "checkpoint")}': --out must name a training run that has saved one.");
        return 2;
    }
    using var trainer = new Trainer(ModelPreset.Get(parse.GetValue(presetOption)!), new TrainingOptions { OutputDirectory = run, Threads = 1 });
    var snapshot = Path.Combine(run, "snapshot");
    trainer.WriteSnapshot(snapshot, $"trained:{trainer.Parameters.Preset.Name}:checkpoint");
    Console.WriteLine($"Wrote {snapshot} (convert it with: vcut convert --from {snapshot} --out DIR)");
    return 0;
});

var bench = new Command("bench", "Time one VAE and one UNet training step") { presetOption, threadsOption, unetBatchOption };
bench.SetAction(parse =>
{
    var dir = Path.Combine(Path.GetTempPath(), "vcut-train-bench-" + Environment.ProcessId);
    var preset = ModelPreset.Get(parse.GetValue(presetOption)!);
    foreach (var (vae, unet) in new[] { (3, 0), (3, 3) })
    {
        var options = new TrainingOptions { OutputDirectory = dir, VaeSteps = vae, UNetSteps = unet, Threads = parse.GetValue(threadsOption), UNetBatch = parse.GetValue(unetBatchOption), CheckpointEvery = 1000 };
        using var trainer = new Trainer(preset, options);
        trainer.Train(new SynchronousProgress<TrainingProgress>(p => Console.WriteLine($"{p.Stage} {p.Step}: {p.Seconds:F2} s loss {p.Loss:F4}")));
        Directory.Delete(dir, true);
    }
    return 0;
});

var countOption = new Option<int>("--count") { Description = "Clips to draw", DefaultValueFactory = _ => 6 };
var preview = new Command("preview", "Write a PNG sheet of training clips (one clip a row: frame 0 ... frame 7)") { outOption, seedOption, countOption };
preview.SetAction(parse =>
{
    var options = new TrainingOptions { OutputDirectory = parse.GetValue(outOption)!, Seed = parse.GetValue(seedOption) };
    var path = Vcut.Training.Data.ClipPreview.Write(options, parse.GetValue(countOption));
    Console.WriteLine($"Wrote {path}");
    return 0;
});

var photosArgument = new Argument<string[]>("photos") { Description = "Photos to add, centre-cropped", Arity = ArgumentArity.ZeroOrMore };
var heldOut = new Command("held-out", "Write held-out pictures for vcut evaluate: procedural scenes from unused seeds, plus photos") { outOption, countOption, photosArgument };
heldOut.SetAction(parse =>
{
    var written = Vcut.Training.Data.HeldOutPictures.Write(parse.GetValue(outOption)!, parse.GetValue(countOption), 256, parse.GetValue(photosArgument) ?? []);
    Console.WriteLine($"Wrote {written.Count} pictures to {parse.GetValue(outOption)}");
    return 0;
});

var imagesOption = new Option<string>("--images") { Description = "Folder of pictures", Required = true };
var checkSizeOption = new Option<int>("--size") { Description = "Side the pictures are resized to", DefaultValueFactory = _ => 128 };
var saveOption = new Option<string?>("--save") { Description = "Folder for side-by-side PNGs (input | reconstruction)" };
var designedOption = new Option<bool>("--designed-start") { Description = "Check the untrained designed VAE start instead of OUT's checkpoint" };
var vaeCheck = new Command("vae-check", "Reconstruction PSNR of a run's VAE checkpoint on pictures") { outOption, presetOption, imagesOption, latentOption, checkSizeOption, saveOption, designedOption };
vaeCheck.SetAction(parse =>
{
    var pictures = Directory.GetFiles(parse.GetValue(imagesOption)!).Order(StringComparer.Ordinal).ToList();
    var preset = WithLatentChannels(ModelPreset.Get(parse.GetValue(presetOption)!), parse.GetValue(latentOption));
    var size = parse.GetValue(checkSizeOption);
    var checkpoint = Path.Combine(parse.GetValue(outOption)!, "checkpoint", "parameters.bin");
    if (!parse.GetValue(designedOption) && !File.Exists(checkpoint))
    {
        Console.Error.WriteLine($"No checkpoint at '{checkpoint}': --out must name a training run that has saved one (every --checkpoint-every steps).");
        return 2;
    }
    var results = VaeCheck.Run(preset, parse.GetValue(outOption)!, pictures, size, parse.GetValue(saveOption), parse.GetValue(designedOption));
    var baselines = VaeCheck.Baselines(pictures, size, preset.Architecture.Vae.DownscaleFactor);
    Console.WriteLine($"{"picture",-28} {"VAE",8} {"mean colour",12} {"blur 1/" + preset.Architecture.Vae.DownscaleFactor,9}");
    foreach (var ((picture, psnr), (_, flat, blur)) in results.Zip(baselines))
    {
        Console.WriteLine($"{picture,-28} {psnr,5:F2} dB {flat,9:F2} dB {blur,6:F2} dB");
    }
    Console.WriteLine($"{"mean",-28} {results.Average(r => r.Psnr),5:F2} dB {baselines.Average(b => b.MeanColour),9:F2} dB {baselines.Average(b => b.Blur),6:F2} dB");
    return 0;
});

var modelOption = new Option<string>("--model") { Description = "Model directory", Required = true };
var imageOption = new Option<string>("--image") { Description = "Input picture", Required = true };
var framesOption = new Option<int?>("--frames") { Description = "Frames (the model's default)" };
var sizeOption = new Option<int[]>("--size") { Description = "HEIGHT WIDTH (the model's default)", AllowMultipleArgumentsPerToken = true };
var stepsOption = new Option<int>("--steps") { Description = "Denoising steps", DefaultValueFactory = _ => new Vcut.Runtime.Pipeline.VideoGenerationOptions().Steps };
var repetitionsOption = new Option<int>("--repetitions") { Description = "Interleaved pairs after the warm-up", DefaultValueFactory = _ => 3 };
var benchEager = new Command("bench-eager", "The project's pipeline (ONNX Runtime) vs PyTorch eager (TorchSharp) on the same weights, interleaved")
{
    modelOption, imageOption, framesOption, sizeOption, stepsOption, repetitionsOption, threadsOption,
};
benchEager.SetAction(parse =>
{
    var size = parse.GetValue(sizeOption);
    var options = new Vcut.Runtime.Pipeline.VideoGenerationOptions
    {
        Steps = parse.GetValue(stepsOption),
        Frames = parse.GetValue(framesOption),
        Height = size is { Length: 2 } ? size[0] : null,
        Width = size is { Length: 2 } ? size[1] : null,
    };
    var image = Vcut.Runtime.Imaging.RgbImage.Load(parse.GetValue(imageOption)!);
    var model = parse.GetValue(modelOption)!;
    var (ort, eager) = Vcut.Training.Benchmarks.EagerBenchmark.Run(model, image, options, parse.GetValue(repetitionsOption), parse.GetValue(threadsOption), Console.Out);
    Console.WriteLine("| model | measure | ONNX Runtime (this project) | PyTorch eager (TorchSharp) | ratio |");
    Console.WriteLine("|---|---|---|---|---|");
    Console.Write(Vcut.Training.Benchmarks.EagerBenchmark.Table(Path.GetFileName(Path.GetFullPath(model).TrimEnd('/')), ort, eager));
    return 0;
});

var lrOption = new Option<double>("--lr") { Description = "Adam learning rate", DefaultValueFactory = _ => 1e-3 };
var fitStepsOption = new Option<int>("--steps") { Description = "Steps", DefaultValueFactory = _ => 200 };
var freshOption = new Option<bool>("--fresh") { Description = "Draw new clips every step instead of fitting one batch" };
var widthsOption = new Option<int[]>("--vae-widths") { Description = "Override the VAE's block_out_channels", AllowMultipleArgumentsPerToken = true };
var plainOption = new Option<bool>("--plain-autoencoder") { Description = "Fit a plain convolutional autoencoder (same downscale and latent width) instead of SVD's VAE" };
var vaeFit = new Command("vae-fit", "Diagnostic: fit the VAE to one batch (or, with --fresh, to new clips) and print the PSNR")
{
    lrOption, fitStepsOption, freshOption, widthsOption, checkSizeOption, latentOption, plainOption,
};
vaeFit.SetAction(parse =>
{
    var preset = WithLatentChannels(ModelPreset.Micro, parse.GetValue(latentOption));
    if (parse.GetValue(widthsOption) is { Length: > 0 } widths)
    {
        preset = preset with { Architecture = preset.Architecture with { Vae = preset.Architecture.Vae with { BlockOutChannels = widths } } };
    }
    VaeOverfit.Run(preset, parse.GetValue(lrOption), parse.GetValue(fitStepsOption), parse.GetValue(checkSizeOption), parse.GetValue(freshOption), parse.GetValue(plainOption));
    return 0;
});

var plotOption = new Option<string>("--png") { Description = "PNG to write (default OUT/loss.png)" };
var plotLoss = new Command("plot-loss", "Plot a run's loss.csv (one panel per stage) as a PNG") { outOption, plotOption };
plotLoss.SetAction(parse =>
{
    var run = parse.GetValue(outOption)!;
    var csv = Path.Combine(run, "loss.csv");
    if (!File.Exists(csv))
    {
        Console.Error.WriteLine($"No loss log at '{csv}': --out must name a training run's folder.");
        return 2;
    }
    var png = parse.GetValue(plotOption) ?? Path.Combine(run, "loss.png");
    Vcut.Training.Reporting.LossPlot.Write(Vcut.Training.Reporting.LossPlot.Read(csv), png);
    Console.WriteLine($"Wrote {png}");
    return 0;
});

var root = new RootCommand("Trains Vcut.MLNet's embedded default SVD with TorchSharp") { train, export, bench, preview, heldOut, vaeCheck, vaeFit, benchEager, plotLoss };
return root.Parse(args).Invoke();

static ModelPreset WithLatentChannels(ModelPreset preset, int? channels) => channels is not { } c ? preset : preset with
{
    Name = $"{preset.Name}-c{c}",
    Architecture = preset.Architecture with
    {
        UNet = preset.Architecture.UNet with { InChannels = 2 * c, OutChannels = c },
        Vae = preset.Architecture.Vae with { LatentChannels = c },
    },
};

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread, in order.</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
