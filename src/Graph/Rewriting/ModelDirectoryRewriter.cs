using Vcut.Graph.Builders;
using Vcut.Graph.Models;
using Vcut.Graph.Onnx;

namespace Vcut.Graph.Rewriting;

/// <summary>Rewrites a whole model directory for VCUT (<c>vcut rewrite</c>).</summary>
public static class ModelDirectoryRewriter
{
    /// <summary>
    /// Reads the model directory <paramref name="source"/> (original UNet), rewrites its UNet for
    /// <paramref name="mode"/> and writes a new directory at <paramref name="destination"/> with the four graphs,
    /// the conditioning cache and a manifest recording the mode. Written atomically: nothing is left on failure.
    /// Graphs with external data get their own data files in the new directory.
    /// </summary>
    /// <exception cref="InvalidDataException">The source is not a directory of an original SVD UNet, or the rewrite is refused.</exception>
    public static RewriteReport Rewrite(string source, string destination, VcutMode mode, CancellationToken cancellationToken = default)
    {
        var manifest = ModelManifest.Load(source);
        if (manifest.Vcut != VcutMode.Off)
        {
            throw new InvalidDataException(
                $"'{source}' already holds a VCUT '{manifest.Vcut.ToString().ToLowerInvariant()}' UNet; rewrite a directory of the original UNet.");
        }
        if (Path.GetFullPath(source) == Path.GetFullPath(destination))
        {
            throw new IOException($"The output folder must differ from the source '{source}'.");
        }
        var unetPath = Path.Combine(source, manifest.Models[ModelNames.UNet]);
        var result = VcutRewriter.Rewrite(OnnxModelFile.Read(unetPath), mode);
        var rewritten = manifest with
        {
            Vcut = mode,
            Models = manifest.Models.Append(new(ModelNames.ConditioningCache, ModelNames.RelativePath(ModelNames.ConditioningCache)))
                .ToDictionary(p => p.Key, p => p.Value),
        };
        var unetFolder = Path.GetDirectoryName(Path.GetFullPath(unetPath))!;
        ModelDirectoryWriter.WriteGraphs(destination, rewritten, (name, path, _) =>
        {
            var (graph, folder) = name switch
            {
                ModelNames.UNet => (result.UNet, unetFolder),
                ModelNames.ConditioningCache => (result.Cache, unetFolder), // its weights are the UNet's
                _ => (OnnxModelFile.Read(Path.Combine(source, manifest.Models[name])),
                      Path.GetDirectoryName(Path.GetFullPath(Path.Combine(source, manifest.Models[name])))!),
            };
            // Weights in external data files travel with their graph: each gets its own data file, holding only
            // the tensors it still uses.
            ExternalData.Relocate(graph, folder, path, SvdModelBuilder.ExternalDataFileName);
            return graph;
        }, cancellationToken);
        return result.Report;
    }
}
