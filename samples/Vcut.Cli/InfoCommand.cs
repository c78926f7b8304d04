using System.CommandLine;
using System.Text.Json;
using Vcut.Graph.Analysis;
using Vcut.Graph.Models;

namespace Vcut.Cli;

/// <summary><c>vcut info</c>: what a model directory holds.</summary>
internal static class InfoCommand
{
    private static readonly Argument<string> DirectoryArgument = new("DIR") { Description = "A model directory" };
    private static readonly Option<bool> JsonOption = new("--json") { Description = "Print JSON" };

    /// <summary>The command, with its options and help.</summary>
    public static Command Create()
    {
        var command = new Command("info", "Per model: parameters, initializer bytes, inputs and outputs.") { DirectoryArgument, JsonOption };
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        var json = parse.GetValue(JsonOption);
        var directory = parse.GetValue(DirectoryArgument)!;
        var summaries = GraphSummary.OfDirectory(directory);
        if (json)
        {
            var document = summaries.ToDictionary(s => s.Name, s => new
            {
                parameters = s.Parameters,
                initializerBytes = s.InitializerBytes,
                nodes = s.Nodes,
                inputs = s.Inputs.Select(p => p.ToString()),
                outputs = s.Outputs.Select(p => p.ToString()),
            });
            Console.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }
        var manifest = ModelManifest.Load(directory);
        Console.WriteLine($"{Path.GetFullPath(directory)}: preset {manifest.Preset}, weights {manifest.Weights}, attention {manifest.Attention}, vcut {manifest.Vcut}");
        foreach (var s in summaries)
        {
            Console.WriteLine($"{s.Name}: {s.Parameters:N0} parameters, {s.InitializerBytes:N0} initializer bytes, {s.Nodes:N0} nodes");
            foreach (var input in s.Inputs)
            {
                Console.WriteLine($"  in  {input}");
            }
            foreach (var output in s.Outputs)
            {
                Console.WriteLine($"  out {output}");
            }
        }
        return 0;
    }
}
