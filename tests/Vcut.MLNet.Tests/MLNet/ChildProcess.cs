using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using static Vcut.MLNet.Tests.MLNet.MLNetTestData;

namespace Vcut.MLNet.Tests.MLNet;

/// <summary>
/// What a fresh process does with models saved by a test: load each with ML.NET's plain <c>Load</c> in a new
/// <c>MLContext</c>, restore it with <c>RestoreVcut</c>, transform the inputs the job names and write every row's values.
/// </summary>
/// <param name="ModelFile">The model saved by <c>mlContext.Model.Save</c>.</param>
/// <param name="Paths">Image paths (rows of <see cref="PathRow"/>), or null.</param>
/// <param name="PictureSeeds">In-memory pictures (rows of <see cref="ImageRow"/>, <see cref="MLNetTestData.Picture"/>), or null.</param>
/// <param name="ColumnName">The column to read.</param>
/// <param name="OutputFile">Where the rows' values go: per row, its length and its floats.</param>
internal sealed record ChildJob(string ModelFile, string[]? Paths, int[]? PictureSeeds, string ColumnName, string OutputFile)
{
    public static void WriteRows(string path, IReadOnlyList<float[]> rows)
    {
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(rows.Count);
        foreach (var row in rows)
        {
            writer.Write(row.Length);
            foreach (var value in row)
            {
                writer.Write(value);
            }
        }
    }

    public static List<float[]> ReadRows(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var rows = new List<float[]>();
        for (int i = 0, count = reader.ReadInt32(); i < count; i++)
        {
            var row = new float[reader.ReadInt32()];
            for (var j = 0; j < row.Length; j++)
            {
                row[j] = reader.ReadSingle();
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Runs in the child process; returns the restored model (the caller disposes it).</summary>
    public ITransformer Run()
    {
        var context = new MLContext();
        var loaded = context.Model.Load(ModelFile, out _);
        var model = context.Model.RestoreVcut(loaded);
        var data = Paths is not null
            ? context.Data.LoadFromEnumerable(Paths.Select(p => new PathRow { Image = p }).ToArray())
            : context.Data.LoadFromEnumerable(PictureSeeds!.Select(s => new ImageRow { Image = Picture(s).MLImage }).ToArray());
        WriteRows(OutputFile, Column(model.Transform(data), ColumnName));
        return model;
    }
}

/// <summary>
/// Starts this test assembly as a fresh process (<c>dotnet Vcut.MLNet.Tests.dll</c>, whose generated entry point does
/// nothing) with itself as a .NET startup hook: the hook (<see cref="StartupHook"/>) runs the jobs and exits before the
/// entry point. Nothing of the parent's state (open generators, ML.NET's registered assemblies) reaches the child.
/// </summary>
internal static class ChildProcess
{
    public const string JobVariable = "VCUT_MLNET_TESTS_CHILD_JOBS";

    public static (int ExitCode, string Output) Run(string folder, IReadOnlyList<ChildJob> jobs, TimeSpan timeout)
    {
        var jobFile = Path.Combine(folder, "jobs.json");
        File.WriteAllText(jobFile, JsonSerializer.Serialize(jobs));
        var assembly = typeof(ChildProcess).Assembly.Location;
        var host = Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(assembly);
        start.Environment["DOTNET_STARTUP_HOOKS"] = assembly;
        start.Environment[JobVariable] = jobFile;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}");
        }
        return (process.ExitCode, output.Result + error.Result);
    }

    /// <summary>In the child: runs the jobs of <see cref="JobVariable"/>.</summary>
    public static int RunJobs(string jobFile)
    {
        var models = new List<ITransformer>(); // kept until the end, so the jobs share the model's sessions
        try
        {
            foreach (var job in JsonSerializer.Deserialize<ChildJob[]>(File.ReadAllText(jobFile))!)
            {
                models.Add(job.Run());
                Console.WriteLine($"child process {Environment.ProcessId}: {Path.GetFileName(job.ModelFile)} done");
            }
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine(e);
            return 1;
        }
        finally
        {
            models.ForEach(DisposeAll);
        }
    }
}
