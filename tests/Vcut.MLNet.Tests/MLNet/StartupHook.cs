using Vcut.MLNet.Tests.MLNet;

/// <summary>
/// The .NET startup hook of the child processes started by <see cref="ChildProcess"/> (the runtime calls it before the
/// entry point when DOTNET_STARTUP_HOOKS names this assembly). Does nothing in any other process.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable(ChildProcess.JobVariable) is { Length: > 0 } jobs)
        {
            Environment.Exit(ChildProcess.RunJobs(jobs));
        }
    }
}
