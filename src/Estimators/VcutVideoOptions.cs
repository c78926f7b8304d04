using Vcut.Graph.Builders;
using Vcut.Runtime.Pipeline;
using Vcut.Runtime.Sessions;

namespace Vcut.MLNet;

/// <summary>
/// Which model a Vcut estimator runs and how: the model directory, the VCUT mode, the execution provider and the
/// sampling settings of every video. Immutable; <see cref="Validate"/> runs when an estimator is created, so an invalid
/// value fails there, naming the setting. The same options are given to every stage of a stage-by-stage pipeline.
/// </summary>
public sealed record VcutVideoOptions
{
    /// <summary>
    /// A Vcut model directory (holding <c>vcut-model.json</c>); null = the embedded default (the tiny preset with seeded
    /// weights, shipped next to the assembly). A relative path is resolved against the current directory when a model
    /// is opened (also after loading a saved model).
    /// </summary>
    public string? ModelDirectory { get; init; }

    /// <summary>
    /// The VCUT mode of the UNet: <see cref="VcutMode.Exact"/> by default (the directory's original UNet is rewritten in
    /// memory; the video equals <see cref="VcutMode.Off"/>'s). Null keeps the directory's own mode.
    /// </summary>
    public VcutMode? Vcut { get; init; } = VcutMode.Exact;

    /// <summary>Where and how the models run (CPU by default).</summary>
    public ExecutionOptions Execution { get; init; } = ExecutionOptions.Cpu;

    /// <summary>
    /// The sampling settings of every video (frames, size, steps, guidance, seed, …); null sizes take the model's
    /// defaults. Every row uses the same settings, so the same image and seed give the same video as
    /// <see cref="VideoGenerator.Generate"/>.
    /// </summary>
    public VideoGenerationOptions Generation { get; init; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and what was expected.</summary>
    public void Validate()
    {
        if (ModelDirectory is not null && string.IsNullOrWhiteSpace(ModelDirectory))
        {
            throw new ArgumentException("VcutVideoOptions.ModelDirectory is blank: expected a model directory, or null for the embedded default.");
        }
        if (Vcut is { } mode && !Enum.IsDefined(mode))
        {
            throw new ArgumentException($"VcutVideoOptions.Vcut = {mode} is not a VCUT mode: expected Off, Paper, Exact or null.");
        }
        if (Execution is null)
        {
            throw new ArgumentException("VcutVideoOptions.Execution is null: expected execution options (ExecutionOptions.Cpu by default).");
        }
        if (Generation is null)
        {
            throw new ArgumentException("VcutVideoOptions.Generation is null: expected video generation options.");
        }
        Execution.Validate();
        Generation.Validate();
    }
}
