using System.Diagnostics;
using System.Reflection;

namespace Vcut.MLNet.Tests.Hostile;

/// <summary>What one run of the <c>vcut</c> program gave.</summary>
/// <param name="ExitCode">Its exit code (−1: killed at the time limit).</param>
/// <param name="StandardOutput">Everything it printed on stdout.</param>
/// <param name="StandardError">Everything it printed on stderr.</param>
/// <param name="Elapsed">Wall time from start to exit.</param>
/// <param name="PeakWorkingSetBytes">The largest resident size seen while it ran (sampled every few milliseconds).</param>
internal sealed record CliResult(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed, long PeakWorkingSetBytes)
{
    /// <summary>The line that says what went wrong: the first one starting with "vcut:".</summary>
    public string Message => StandardError.Split('\n').FirstOrDefault(l => l.StartsWith("vcut:", StringComparison.Ordinal))?.Trim() ?? "";

    /// <summary>Whether a .NET stack trace reached the user.</summary>
    public bool HasStackTrace => StandardError.Contains("   at ", StringComparison.Ordinal) || StandardError.Contains("Unhandled exception", StringComparison.Ordinal);

    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s, peak {PeakWorkingSetBytes >> 20} MB; stderr: {StandardError}";
}

/// <summary>Runs the built <c>vcut</c> command line (samples/Vcut.Cli, built with the tests) as a child process.</summary>
internal static class VcutCli
{
    /// <summary>The vcut.dll the test project's build produced (see the AssemblyMetadata in the .csproj).</summary>
    public static string DllPath =>
        typeof(VcutCli).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "VcutCliPath")?.Value
        ?? throw new InvalidOperationException("The test assembly has no VcutCliPath metadata.");

    /// <summary>
    /// Runs <c>dotnet vcut.dll ARGS</c> in <paramref name="workingDirectory"/>, killed after <paramref name="timeout"/>,
    /// with the extra environment variables given (e.g. a GC heap limit, as a container would set).
    /// </summary>
    public static CliResult Run(string workingDirectory, IEnumerable<string> args, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var dll = DllPath;
        if (!File.Exists(dll))
        {
            Assert.Inconclusive($"The vcut program is not built at '{dll}'.");
        }
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        var limit = timeout ?? TimeSpan.FromSeconds(120);
        while (!process.WaitForExit(5))
        {
            try
            {
                process.Refresh();
                peak = Math.Max(peak, process.PeakWorkingSet64);
            }
            catch (InvalidOperationException)
            {
                // It exited between the wait and the read.
            }
            if (clock.Elapsed > limit)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                return new CliResult(-1, stdout.Result, stderr.Result, clock.Elapsed, peak);
            }
        }
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result, clock.Elapsed, peak);
    }
}
