using Vcut.Graph.Names;
using Vcut.Graph.Files;
using Vcut.Graph.Models;
using Vcut.Graph.Onnx;

namespace Vcut.Graph.Convert;

/// <summary>
/// <c>vcut convert --from SNAPSHOT --unet-onnx FILE.onnx --out DIR</c>: a model directory whose UNet is an ONNX file
/// made elsewhere (a <c>torch.onnx.export</c>, the TensorRT repository's <c>unet-temp.opt/model.onnx</c>) and whose
/// image encoder and VAE graphs are converted from the diffusers snapshot. The UNet is copied with its external
/// data (under whatever file names it uses; the copy keeps one <c>model.onnx.data</c>), and the manifest records its
/// ports (<see cref="UNetPorts"/>) so the runtime binds them, float16 included, in every VCUT mode.
/// </summary>
public static class UNetImporter
{
    /// <summary>
    /// Builds <paramref name="outputDirectory"/> from <paramref name="snapshotDirectory"/> and <paramref name="unetOnnx"/>.
    /// The UNet's ports and sizes are checked against the snapshot's configuration and every snapshot tensor the other
    /// graphs need is checked before anything is written; the directory is written atomically.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The snapshot folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The UNet file does not exist.</exception>
    /// <exception cref="InvalidDataException">The UNet's ports do not fit (the message names the port and what was expected), its external data is missing, or the snapshot is incomplete.</exception>
    /// <exception cref="IOException">The output folder cannot be written or lies inside the snapshot.</exception>
    public static ConversionReport Convert(string snapshotDirectory, string unetOnnx, string outputDirectory, ConversionOptions? options = null,
        IProgress<ModelBuildProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(unetOnnx);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        options ??= new ConversionOptions();
        var unetPath = Path.GetFullPath(unetOnnx);
        if (!File.Exists(unetPath))
        {
            throw new FileNotFoundException($"The UNet ONNX file '{unetPath}' does not exist.", unetPath);
        }
        InputFiles.RequireRegularFile(unetPath, "The UNet ONNX file");
        var unet = OnnxModelFile.Read(unetPath);
        using var source = DiffusersCheckpointWeightSource.Open(snapshotDirectory, preferFloat16: options.Precision == GraphPrecision.Float16);
        var output = Path.GetFullPath(outputDirectory);
        var relative = Path.GetRelativePath(source.Directory, output);
        if (relative == "." || !(relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative)))
        {
            throw new IOException($"The output folder '{output}' must not be the snapshot folder or inside it.");
        }
        var ports = UNetPorts.Read(unet, source.Preset.Architecture.UNet, unetPath);
        var build = new SvdBuildOptions(source.Preset, source, options.Attention)
        {
            Precision = options.Precision,
            ExternalData = options.ExternalData,
        };
        var converted = build.ModelNamesToBuild.Where(n => n != ModelNames.UNet).ToList();
        var parameters = converted.ToDictionary(name => name, name => SvdModelBuilder.ParametersOf(name, build));
        source.Validate(parameters.Values.SelectMany(p => p));
        var unused = source.UnusedTensors(parameters.Values.SelectMany(p => p))
            .Where(t => !t.StartsWith("unet:", StringComparison.Ordinal)).ToList();
        var manifest = SvdModelBuilder.CreateManifest(build) with
        {
            Weights = $"{source.Description} (unet: {Path.GetFileName(unetPath)})",
            UNetPorts = ports,
        };
        var unetFolder = Path.GetDirectoryName(unetPath)!;
        SvdModelBuilder.BuildDirectory(output, build, manifest, (name, path) =>
        {
            if (name != ModelNames.UNet)
            {
                return null;
            }
            // Copied with its weights: external data entries (any file names, confined to the UNet's folder) are
            // streamed into one data file next to the copy.
            ExternalData.Relocate(unet, unetFolder, path, SvdModelBuilder.ExternalDataFileName);
            return unet;
        }, progress ?? new Progress<ModelBuildProgress>(), cancellationToken);

        var graphs = manifest.Models.Select(entry =>
        {
            var model = new FileInfo(Path.Combine(output, entry.Value));
            var data = new FileInfo(Path.Combine(model.DirectoryName!, SvdModelBuilder.ExternalDataFileName));
            var count = entry.Key == ModelNames.UNet
                ? unet.Graph.Initializer.Sum(t => t.Dims.Aggregate(1L, (a, d) => a * d))
                : parameters[entry.Key].Sum(p => p.ElementCount);
            return new ConvertedGraph(entry.Key, count, model.Length, data.Exists ? data.Length : 0);
        }).ToList();
        var files = source.Files.ToDictionary(p => p.Key, p => p.Value);
        files["unet"] = unetPath;
        return new ConversionReport(manifest, files, graphs, unused);
    }
}
