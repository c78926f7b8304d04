using Vcut.Graph.Builders;
using Vcut.Graph.Files;
using Vcut.Graph.Models;
using Vcut.Graph.Names;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;

namespace Vcut.Graph.Models;

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
    public static RewriteReport Rewrite(string source, string destination, VcutMode mode, CancellationToken cancellationToken = default) =>
        Rewrite(source, destination, mode, null, cancellationToken);

    /// <summary>
    /// As <see cref="Rewrite(string, string, VcutMode, CancellationToken)"/>, measuring the UNet's shapes with the probe
    /// <paramref name="probeFor"/> makes for the UNet file's folder (where its external data lie); the runtime's
    /// ONNX Runtime probe follows any export (see <see cref="ShapeProbe"/>). Null: <see cref="ShapeProbes.Static"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The source is not a directory of an original SVD UNet, or the rewrite is refused.</exception>
    public static RewriteReport Rewrite(string source, string destination, VcutMode mode, Func<string, ShapeProbe>? probeFor,
        CancellationToken cancellationToken = default)
    {
        var manifest = ModelManifest.Load(source);
        if (manifest.Vcut != VcutMode.Off)
        {
            throw new InvalidDataException(
                $"'{source}' already holds a VCUT '{manifest.Vcut.ToString().ToLowerInvariant()}' UNet; rewrite a directory of the original UNet.");
        }
        if (ConfinedPath.RealPath(source) == ConfinedPath.RealPath(destination))
        {
            throw new IOException($"The output folder must differ from the source '{source}'.");
        }
        // Every graph is read from inside the source (links resolved) and written inside the output's staging folder.
        var sources = manifest.Models.Keys.ToDictionary(name => name, name => manifest.PathOf(source, name), StringComparer.Ordinal);
        var unetPath = sources[ModelNames.UNet];
        var result = VcutRewriter.Rewrite(OnnxModelFile.Read(unetPath), mode, probeFor?.Invoke(Path.GetDirectoryName(Path.GetFullPath(unetPath))!));
        var rewritten = manifest with
        {
            Vcut = mode,
            Models = manifest.Models.Where(p => p.Key != ModelNames.ConditioningCache)
                .Append(new(ModelNames.ConditioningCache, ModelNames.RelativePath(ModelNames.ConditioningCache)))
                .ToDictionary(p => p.Key, p => p.Value),
        };
        rewritten.Validate(Path.Combine(source, ModelManifest.FileName));
        var unetFolder = Path.GetDirectoryName(unetPath)!;
        ModelDirectoryWriter.WriteGraphs(destination, rewritten, (name, path, _) =>
        {
            var (graph, folder) = name switch
            {
                ModelNames.UNet => (result.UNet, unetFolder),
                ModelNames.ConditioningCache => (result.Cache, unetFolder), // its weights are the UNet's
                _ => (OnnxModelFile.Read(sources[name]), Path.GetDirectoryName(sources[name])!),
            };
            // Weights in external data files travel with their graph: each gets its own data file, holding only
            // the tensors it still uses.
            ExternalData.Relocate(graph, folder, path, SvdModelBuilder.ExternalDataFileName);
            return graph;
        }, cancellationToken);
        return result.Report;
    }
}
