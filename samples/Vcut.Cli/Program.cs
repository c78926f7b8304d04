using System.CommandLine;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;

namespace Vcut.Cli;

/// <summary>
/// The <c>vcut</c> command line, on System.CommandLine: one file per command (its options, defaults and help), the
/// shared options in <see cref="CliOptions"/>. Exit codes: 0 done, 1 bad data or a failure, 2 bad usage, 130 cancelled.
/// </summary>
internal static class Program
{
    /// <summary>Every command, as <c>vcut --help</c> lists them.</summary>
    internal static RootCommand CreateRoot() => new("Image-to-video with Stable Video Diffusion on ONNX Runtime, made faster by VCUT.")
    {
        GenerateCommand.Create(),
        BatchCommand.Create(),
        BuildModelCommand.Create(),
        ConvertCommand.Create(),
        RewriteCommand.Create(),
        AnalyzeCommand.Create(),
        BenchCommand.Create(),
        InfoCommand.Create(),
        EvaluateCommand.Create(),
        ProfileCommand.Create(),
        SpeedBenchCommand.Create(),
    };

    private static async Task<int> Main(string[] args)
    {
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl-C stops cleanly (the video in progress is dropped, nothing half-written is left);
            // a second one ends the process at once.
            e.Cancel = !cancellation.IsCancellationRequested;
            cancellation.Cancel();
        };
        // SIGTERM (a Kubernetes pod being stopped, Slurm's scancel) stops cleanly too, so a re-run resumes.
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cancellation.Cancel();
        });
        var root = CreateRoot();
        // `vcut help [command]` is `vcut [command] --help`; no command at all prints the help and is a usage error.
        var usageError = args.Length == 0;
        if (args.Length == 0 || args[0] == "help")
        {
            args = [.. args.Skip(1), "--help"];
        }
        var parse = root.Parse(args);
        var commandName = parse.CommandResult.Command == root ? "vcut" : $"vcut {parse.CommandResult.Command.Name}";
        // Help (`--help`) is shown even when required options are missing.
        if (parse.Errors.Count > 0 && parse.Action is not { ClearsParseErrors: true })
        {
            // An option's own error (a value that is an option, say) first, then the words left over because of it.
            foreach (var error in parse.Errors.OrderBy(e => e.SymbolResult is OptionResult ? 0 : 1))
            {
                Console.Error.WriteLine($"vcut: {error.Message}");
            }
            Console.Error.WriteLine($"Run '{commandName} --help' for the options.");
            return 2;
        }
        try
        {
            // Exceptions reach the handlers below (one line for a user, never a stack trace); Ctrl-C and SIGTERM are
            // handled above, so System.CommandLine's own termination handling is off.
            var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            var code = await parse.InvokeAsync(configuration, cancellation.Token).ConfigureAwait(false);
            return usageError ? 2 : code;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"vcut: {e.Message}");
            Console.Error.WriteLine($"Run '{commandName} --help' for the options.");
            return 2;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("vcut: cancelled.");
            return 130;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException or OutOfMemoryException)
        {
            Console.Error.WriteLine($"vcut: {e.Message}");
            return 1;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("VCUT_STACK_TRACES") is not "1")
        {
            // Never a stack trace for a user: one line, and how to get the trace for a bug report.
            Console.Error.WriteLine($"vcut: {e.GetType().Name}: {e.Message} (an unexpected error; set VCUT_STACK_TRACES=1 for the stack trace to report it)");
            return 1;
        }
    }
}
