namespace Vcut.Training.Training;

/// <summary>How the embedded default is trained; the defaults reproduce it.</summary>
public sealed record TrainingOptions
{
    /// <summary>Where checkpoints, the loss log and the exported snapshot go.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Seeds the initial weights, the pictures, the moves and the noise.</summary>
    public long Seed { get; init; } = 20261201;

    /// <summary>
    /// A model directory (for example the committed default) whose weights and VAE scaling factor a new run starts
    /// from instead of its initialisation: training goes on from a trained model (with <see cref="VaeSteps"/> 0 the VAE
    /// stays the one its UNet learnt with). Ignored once the run has a checkpoint.
    /// </summary>
    public string? InitialModelDirectory { get; init; }

    /// <summary>Optimizer steps of the VAE stage (encoder and temporal decoder).</summary>
    public int VaeSteps { get; init; } = 600;

    /// <summary>Optimizer steps of the last stage: the VAE decoder alone, the encoder (and so the UNet's latents) frozen.</summary>
    public int DecoderSteps { get; init; }

    /// <summary>Optimizer steps of the UNet stage.</summary>
    public int UNetSteps { get; init; } = 1000;

    /// <summary>
    /// Start the VAE as a working codec (colour averages down, bilinear resize up; <see cref="Model.VaeDesignedStart"/>)
    /// rather than at random. Needs GroupNorm groups of four channels at both ends of the VAE.
    /// </summary>
    public bool DesignedVaeStart { get; init; } = true;

    /// <summary>Clips per VAE step.</summary>
    public int VaeBatch { get; init; } = 2;

    /// <summary>Frames per VAE clip (the temporal decoder mixes neighbouring frames).</summary>
    public int VaeFrames { get; init; } = 2;

    /// <summary>Side of the square crops the VAE trains on (it is convolutional; small crops give more steps per second).</summary>
    public int VaeCrop { get; init; } = 64;

    /// <summary>Clips per UNet step.</summary>
    public int UNetBatch { get; init; } = 1;

    /// <summary>Frames per clip, the default video length.</summary>
    public int Frames { get; init; } = 8;

    /// <summary>Frame side in pixels, the default video size.</summary>
    public int Size { get; init; } = 128;

    /// <summary>AdamW learning rate of the VAE.</summary>
    public double VaeLearningRate { get; init; } = 2e-4;

    /// <summary>AdamW learning rate of the UNet.</summary>
    public double UNetLearningRate { get; init; } = 5e-4;

    /// <summary>Probability of training a step's clip unconditionally (zero CLIP context and image latent), for guidance.</summary>
    public double ConditioningDropout { get; init; } = 0.1;

    /// <summary>Mean of ln σ for the training noise levels.</summary>
    public double LogSigmaMean { get; init; } = 0.0;

    /// <summary>Standard deviation of ln σ.</summary>
    public double LogSigmaStd { get; init; } = 1.6;

    /// <summary>Steps between checkpoints.</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>LibTorch threads (intra-op).</summary>
    public int Threads { get; init; } = 2;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(OutputDirectory), "--out must name a folder");
        Require(VaeSteps >= 0 && UNetSteps >= 0 && DecoderSteps >= 0, "step counts must be at least 0");
        Require(VaeBatch >= 1 && UNetBatch >= 1, "batch sizes must be at least 1");
        Require(VaeFrames >= 1 && Frames >= 2, "a clip needs at least 2 frames (the VAE stage at least 1)");
        Require(Size >= 32 && Size % 32 == 0, $"the frame size must be a multiple of 32, got {Size}");
        Require(VaeCrop >= 16 && VaeCrop <= Size && VaeCrop % 16 == 0, $"the VAE crop must be a multiple of 16 in 16..{Size}, got {VaeCrop}");
        Require(VaeLearningRate > 0 && UNetLearningRate > 0, "learning rates must be positive");
        Require(ConditioningDropout is >= 0 and < 1, "the conditioning dropout must be in [0, 1)");
        Require(LogSigmaStd > 0, "the ln σ standard deviation must be positive");
        Require(CheckpointEvery >= 1, "checkpoints need an interval of at least 1 step");
        Require(Threads is >= 1 and <= 64, $"threads must be in 1..64, got {Threads}");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Invalid training options: {message}.");
        }
    }
}
