using System.CommandLine;
using Vcut.Graph.Models;
using Vcut.Graph.Vcut;

namespace Vcut.Cli;

/// <summary><c>vcut rewrite</c>: a model directory's UNet rewritten for VCUT, with its conditioning cache.</summary>
internal static class RewriteCommand
{
    private static readonly Option<string> ModelOption = CliOptions.PathOption(new Option<string>("--model") { Description = "A model directory of the original UNet", HelpName = "DIR", Required = true });
    private static readonly Option<string> ModeOption = CliOptions.Choice(new Option<string>("--mode") { Description = "The VCUT mode", Required = true }, "paper", "exact");
    private static readonly Option<string> OutOption = CliOptions.PathOption(new Option<string>("--out") { Description = "The model directory to write", HelpName = "DIR", Required = true });

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("rewrite", "Rewrite a model directory's UNet for VCUT (found by structure) and add its conditioning cache.")
        {
            ModelOption, ModeOption, OutOption,
        };
        command.SetAction((parse, cancellationToken) => Task.FromResult(Run(parse, cancellationToken)));
        return command;
    }

    private static int Run(ParseResult parse, CancellationToken cancellationToken)
    {
        var source = parse.GetValue(ModelOption)!;
        var mode = CliOptions.ParseVcut(parse.GetValue(ModeOption)!);
        var output = parse.GetValue(OutOption)!;
        if (mode == VcutMode.Off)
        {
            throw new UsageException("--mode off is the original model; choose 'paper' or 'exact'.");
        }
        var report = ModelDirectoryRewriter.Rewrite(source, output, mode, Vcut.Runtime.Sessions.OrtShapeProbe.For, cancellationToken);
        Console.WriteLine(report);
        Console.WriteLine($"Wrote {Path.GetFullPath(output)}");
        return 0;
    }
}
