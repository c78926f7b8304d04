using Google.Protobuf;
using Onnx;
using Vcut.Graph.Files;

namespace Vcut.Graph.Models;

/// <summary>Writes model directories atomically.</summary>
internal static class ModelDirectoryWriter
{
    /// <summary>
    /// Writes <paramref name="manifest"/> and one graph per entry of its <see cref="ModelManifest.Models"/>
    /// (produced by <paramref name="graphFor"/>) into <paramref name="outputDirectory"/>. The content is written
    /// into a sibling temporary folder first and renamed into place at the end; on any failure the temporary
    /// folder is removed and <paramref name="outputDirectory"/> is left as it was.
    /// </summary>
    /// <exception cref="IOException">The output folder exists and is neither empty nor a model directory, or cannot be written.</exception>
    public static void Write(string outputDirectory, ModelManifest manifest, Func<string, CancellationToken, ModelProto> graphFor,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(graphFor);
        WriteGraphs(outputDirectory, manifest, (modelName, _, token) => graphFor(modelName, token), cancellationToken);
    }

    /// <summary>
    /// Like <see cref="Write"/>, but <paramref name="graphAt"/> also gets the path its model file will have inside
    /// the temporary folder, so it can write companion files next to it while it builds the graph (an ONNX
    /// external-data file, streamed parameter by parameter). Everything it writes there is moved into place with
    /// the rest, or removed on failure.
    /// </summary>
    /// <param name="outputDirectory">The model directory to create or replace.</param>
    /// <param name="manifest">The manifest; its <see cref="ModelManifest.Models"/> lists the graphs.</param>
    /// <param name="graphAt">(model name, model file path in the temporary folder, cancellation) → the graph to write at that path.</param>
    /// <param name="cancellationToken">Cancels between and, through <paramref name="graphAt"/>, within graphs.</param>
    /// <exception cref="IOException">The output folder exists and is neither empty nor a model directory, or cannot be written.</exception>
    public static void WriteGraphs(string outputDirectory, ModelManifest manifest, Func<string, string, CancellationToken, ModelProto> graphAt,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(graphAt);
        var target = Path.GetFullPath(outputDirectory);
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()
            && !File.Exists(Path.Combine(target, ModelManifest.FileName)))
        {
            throw new IOException($"Output folder '{target}' is not empty and is not a Vcut model directory; refusing to overwrite it.");
        }
        if (File.Exists(target))
        {
            throw new IOException($"Output path '{target}' is a file, expected a folder.");
        }
        var parent = Path.GetDirectoryName(target) ?? throw new IOException($"Output folder '{target}' has no parent folder.");
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(staging);
            foreach (var (modelName, relativePath) in manifest.Models)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // Every write stays inside the staging folder, whatever the manifest says.
                var path = ConfinedPath.Resolve(staging, relativePath, $"The manifest's models.{modelName}");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var graph = graphAt(modelName, path, cancellationToken);
                using (var stream = File.Create(path))
                {
                    graph.WriteTo(stream);
                }
            }
            File.WriteAllText(Path.Combine(staging, ModelManifest.FileName), manifest.ToJson() + "\n");
            cancellationToken.ThrowIfCancellationRequested();
            ReplaceDirectory(staging, target);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            TryDelete(staging);
            throw new IOException($"Could not write model directory '{target}': {e.Message}", e);
        }
        catch
        {
            TryDelete(staging);
            throw;
        }
    }

    private static void ReplaceDirectory(string staging, string target)
    {
        if (!Directory.Exists(target))
        {
            Directory.Move(staging, target);
            return;
        }
        // Swap: move the old folder aside, move the new one in, then drop the old one.
        var backup = staging + ".old";
        Directory.Move(target, backup);
        try
        {
            Directory.Move(staging, target);
        }
        catch
        {
            Directory.Move(backup, target);
            throw;
        }
        TryDelete(backup);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a leftover temporary folder is hidden and never mistaken for a model.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
