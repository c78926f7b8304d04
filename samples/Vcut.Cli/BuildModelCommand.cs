using System.CommandLine;
using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.Cli;

/// <summary><c>vcut build-model</c>: the four SVD graphs of a preset, built in C#, into a model directory.</summary>
internal static class BuildModelCommand
{
    private static readonly Option<string> PresetOption = CliOptions.Choice(new Option<string>("--preset")
    {
        Description = "The architecture",
        Required = true,
    }, [.. ModelPreset.All.Select(p => p.Name)]);
    private static readonly Option<string> OutOption = CliOptions.PathOption(new Option<string>("--out") { Description = "The model directory to write", HelpName = "DIR", Required = true });
    private static readonly Option<ulong> SeedOption = new("--seed") { Description = "Seed of the seeded weights", HelpName = "N", DefaultValueFactory = _ => 0 };
    private static readonly Option<string> WeightsOption = CliOptions.Choice(new Option<string>("--weights")
    {
        Description = "seeded: random weights from --seed; none: structure only (for analysis)",
        DefaultValueFactory = _ => "seeded",
    }, "seeded", "none");
    private static readonly Option<string> AttentionOption = CliOptions.Choice(new Option<string>("--attention")
    {
        Description = "How attention is written",
        DefaultValueFactory = _ => SvdBuildOptions.DefaultAttention.ToString().ToLowerInvariant(),
    }, "plain", "fused");
    private static readonly Option<string?> VcutOption = CliOptions.Vcut("--vcut",
        "paper|exact: the UNet takes VCUT's cached cross-attentions and a conditioning_cache graph is added", "off");
    private static readonly Option<bool> Fp16Option = new("--fp16") { Description = "float16 weights and compute behind float32 inputs and outputs" };

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("build-model", "Build the four SVD graphs (image_encoder, vae_encoder, unet, vae_decoder) into a model directory.")
        {
            PresetOption, OutOption, SeedOption, WeightsOption, AttentionOption, VcutOption, Fp16Option,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Run(parse, cancellationToken)));
        return command;
    }

    private static int Run(ParseResult parse, CancellationToken cancellationToken)
    {
        var preset = ModelPreset.Get(parse.GetValue(PresetOption)!);
        var output = parse.GetValue(OutOption)!;
        IWeightSource weights = parse.GetValue(WeightsOption) == "none"
            ? StructureOnlyWeightSource.Instance
            : new SeededWeightSource(parse.GetValue(SeedOption));
        var attention = parse.GetValue(AttentionOption) == "plain" ? AttentionForm.Plain : AttentionForm.Fused;
        var vcut = CliOptions.ParseVcut(parse.GetValue(VcutOption)!);
        var precision = parse.GetValue(Fp16Option) ? GraphPrecision.Float16 : GraphPrecision.Float32;
        var progress = new Progress<string>(message => Console.Error.WriteLine($"  {message}"));
        var options = new SvdBuildOptions(preset, weights, attention, vcut) { Precision = precision };
        var manifest = SvdModelBuilder.BuildDirectory(output, options, progress, cancellationToken);
        Console.WriteLine($"Built '{manifest.Preset}' ({manifest.Weights}, {manifest.Attention} attention, VCUT {manifest.Vcut}) into {Path.GetFullPath(output)}");
        return 0;
    }
}
