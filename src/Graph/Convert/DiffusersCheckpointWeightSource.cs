using System.Text.Json;
using System.Text.RegularExpressions;
using Vcut.Graph.Architecture;
using Vcut.Graph.Models;
using Vcut.Graph.Onnx;
using Vcut.Graph.Weights;

namespace Vcut.Graph.Convert;

/// <summary>
/// The weights of a diffusers SVD snapshot folder (as <c>huggingface-cli download</c> leaves it):
/// <c>unet/diffusion_pytorch_model[.fp16].safetensors</c>, <c>vae/diffusion_pytorch_model[.fp16].safetensors</c>
/// and <c>image_encoder/model[.fp16].safetensors</c>, each with its <c>config.json</c>, from which
/// <see cref="Preset"/> gives the architecture, so a fine-tuned or differently sized SVD converts too.
/// </summary>
/// <remarks>
/// A parameter is looked up in the file of its part, chosen by its key: <c>vision_model.*</c> and
/// <c>visual_projection.*</c> in the image encoder, <c>encoder.*</c>, <c>decoder.*</c> and <c>quant_conv.*</c> in the
/// VAE, everything else in the UNet. The VAE's mid-block attention is also accepted under the older diffusers names
/// (<c>query</c>, <c>key</c>, <c>value</c>, <c>proj_attn</c>) and with 1×1-convolution shaped weights (C, C, 1, 1).
/// Values are read from the memory-mapped files straight into the caller's buffer; F32, F16 and BF16 are accepted.
/// </remarks>
internal sealed partial class DiffusersCheckpointWeightSource : IWeightSource, IDisposable
{
    /// <summary>The part folders of a snapshot.</summary>
    public static IReadOnlyList<string> Parts { get; } = ["unet", "vae", "image_encoder"];

    private static readonly Dictionary<string, string> OldAttentionNames = new(StringComparer.Ordinal)
    {
        ["to_q"] = "query",
        ["to_k"] = "key",
        ["to_v"] = "value",
        ["to_out.0"] = "proj_attn",
    };

    private readonly Dictionary<string, SafetensorsFile> _files;
    private bool _disposed;

    private DiffusersCheckpointWeightSource(string directory, Dictionary<string, SafetensorsFile> files, ModelPreset preset)
    {
        Directory = directory;
        _files = files;
        Preset = preset;
    }

    /// <summary>The snapshot folder (full path).</summary>
    public string Directory { get; }

    /// <summary>
    /// The architecture read from the three <c>config.json</c> files, with pipeline defaults: named <c>svd</c> or
    /// <c>svd-xt</c> when it is Stability's (14 or 25 frames), <c>custom</c> otherwise.
    /// </summary>
    public ModelPreset Preset { get; }

    /// <summary>The safetensors file read for each part (<c>unet</c>, <c>vae</c>, <c>image_encoder</c>).</summary>
    public IReadOnlyDictionary<string, string> Files => _files.ToDictionary(p => p.Key, p => p.Value.FilePath);

    /// <inheritdoc />
    public string Description => $"diffusers:{Directory}";

    /// <summary>
    /// Opens the snapshot <paramref name="directory"/>. Each part's weights come from its full-precision file, or its
    /// <c>.fp16</c> variant when <paramref name="preferFloat16"/> is set (smaller to read when converting to float16);
    /// either falls back to the other when only one is present.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">A part folder, config or weight file is missing or unreadable, or the configs describe an SVD the builder cannot build.</exception>
    public static DiffusersCheckpointWeightSource Open(string directory, bool preferFloat16 = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        var root = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Snapshot folder '{root}' does not exist.");
        }
        foreach (var part in Parts)
        {
            if (!System.IO.Directory.Exists(Path.Combine(root, part)))
            {
                throw new InvalidDataException(
                    $"'{root}' is not a diffusers SVD snapshot: it has no '{part}' folder (expected unet/, vae/ and image_encoder/, each with config.json and safetensors weights).");
            }
        }
        var (unet, numFrames, sampleSize) = DiffusersConfig.ReadUNet(Path.Combine(root, "unet", "config.json"));
        var vae = DiffusersConfig.ReadVae(Path.Combine(root, "vae", "config.json"));
        var imageEncoder = DiffusersConfig.ReadImageEncoder(Path.Combine(root, "image_encoder", "config.json"));
        var architecture = new SvdArchitecture(unet, vae, imageEncoder);
        try
        {
            architecture.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{root}': the three config.json files disagree: {e.Message}", e);
        }
        if (sampleSize * architecture.Vae.DownscaleFactor > ModelManifest.MaxDefaultSide)
        {
            throw new InvalidDataException(
                $"'{Path.Combine(root, "unet", "config.json")}': sample_size {sampleSize} makes a default video side of {sampleSize * architecture.Vae.DownscaleFactor} pixels " +
                $"(× the VAE's downscale factor {architecture.Vae.DownscaleFactor}); expected at most {ModelManifest.MaxDefaultSide}.");
        }
        var preset = PresetFor(architecture, numFrames, sampleSize);

        var files = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var part in Parts)
            {
                files[part] = SafetensorsFile.Open(WeightFile(root, part, preferFloat16));
            }
        }
        catch
        {
            foreach (var file in files.Values)
            {
                file.Dispose();
            }
            throw;
        }
        return new DiffusersCheckpointWeightSource(root, files, preset);
    }

    /// <summary>The part whose file holds <paramref name="key"/>: <c>unet</c>, <c>vae</c> or <c>image_encoder</c>.</summary>
    public static string PartOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.StartsWith("vision_model.", StringComparison.Ordinal) || key.StartsWith("visual_projection.", StringComparison.Ordinal))
        {
            return "image_encoder";
        }
        if (key.StartsWith("encoder.", StringComparison.Ordinal) || key.StartsWith("decoder.", StringComparison.Ordinal)
            || key.StartsWith("quant_conv.", StringComparison.Ordinal) || key.StartsWith("post_quant_conv.", StringComparison.Ordinal))
        {
            return "vae";
        }
        return "unet";
    }

    /// <inheritdoc />
    public float[] Get(ParameterSpec parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        var values = new float[checked((int)parameter.ElementCount)];
        TryRead(parameter, values);
        return values;
    }

    /// <inheritdoc />
    public bool TryRead(ParameterSpec parameter, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var (file, tensor) = Resolve(parameter);
        file.ReadFloats(tensor.Name, destination);
        // A NaN or infinity in a checkpoint means a corrupt download; better caught here than as a black video.
        var bad = FirstNonFinite(destination);
        if (bad >= 0)
        {
            throw new InvalidDataException($"'{file.FilePath}': tensor '{tensor.Name}' holds {destination[bad]} at element {bad}; the weights are corrupt.");
        }
        return true;
    }

    float[]? IWeightSource.Get(ParameterSpec parameter) => Get(parameter);

    /// <summary>
    /// Checks that every parameter of <paramref name="parameters"/> is present with its shape and a float dtype,
    /// without reading any values, so a conversion fails before it writes anything.
    /// </summary>
    /// <exception cref="InvalidDataException">Something is missing or mismatched; the message names the file and key of each problem (the first ten).</exception>
    public void Validate(IEnumerable<ParameterSpec> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var problems = new List<string>();
        foreach (var parameter in parameters)
        {
            try
            {
                Resolve(parameter);
            }
            catch (InvalidDataException e)
            {
                problems.Add(e.Message);
            }
        }
        if (problems.Count > 0)
        {
            var shown = string.Join(Environment.NewLine, problems.Take(10).Select(p => "  " + p));
            var more = problems.Count > 10 ? $"{Environment.NewLine}  … and {problems.Count - 10} more" : "";
            throw new InvalidDataException(
                $"The snapshot '{Directory}' does not match its config.json ({problems.Count} problem{(problems.Count == 1 ? "" : "s")}):{Environment.NewLine}{shown}{more}");
        }
    }

    /// <summary>
    /// The tensors of the snapshot's files that none of <paramref name="parameters"/> reads, as <c>part: key</c>
    /// (for example buffers such as CLIP's <c>position_ids</c>, or weights of a module the builder does not know).
    /// </summary>
    public IReadOnlyList<string> UnusedTensors(IEnumerable<ParameterSpec> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var used = new HashSet<(string, string)>();
        foreach (var parameter in parameters)
        {
            var (file, tensor) = Resolve(parameter);
            used.Add((file.FilePath, tensor.Name));
        }
        return _files
            .SelectMany(p => p.Value.Tensors.Keys.Where(k => !used.Contains((p.Value.FilePath, k))).Select(k => $"{p.Key}: {k}"))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var file in _files.Values)
        {
            file.Dispose();
        }
    }

    /// <summary>The file and tensor holding <paramref name="parameter"/>, checked for dtype and shape.</summary>
    private (SafetensorsFile File, SafetensorsTensor Tensor) Resolve(ParameterSpec parameter)
    {
        var file = _files[PartOf(parameter.Key)];
        var key = parameter.Key;
        if (!file.Tensors.ContainsKey(key) && OldName(key) is { } old && file.Tensors.ContainsKey(old))
        {
            key = old;
        }
        if (!file.Tensors.TryGetValue(key, out var tensor))
        {
            var alias = OldName(parameter.Key) is { } o ? $" (nor under its older name '{o}')" : "";
            throw new InvalidDataException(
                $"'{file.FilePath}': tensor '{parameter.Key}' is missing{alias}; the config.json describes a model with it (shape [{string.Join(", ", parameter.Shape)}]).");
        }
        if (!tensor.IsFloat)
        {
            throw new InvalidDataException($"'{file.FilePath}': tensor '{key}' has dtype {tensor.DType}; expected F32, F16 or BF16.");
        }
        if (!tensor.Shape.SequenceEqual(parameter.Shape) && !IsConvShapedAttention(parameter, tensor))
        {
            throw new InvalidDataException(
                $"'{file.FilePath}': tensor '{key}' has shape {tensor.ShapeText}, expected [{string.Join(", ", parameter.Shape)}] from the config.json.");
        }
        return (file, tensor);
    }

    // The older VAE attention names, e.g. decoder.mid_block.attentions.0.to_q.weight → ….query.weight.
    private static string? OldName(string key)
    {
        var match = VaeAttentionKey().Match(key);
        return match.Success ? $"{match.Groups["prefix"].Value}.{OldAttentionNames[match.Groups["proj"].Value]}.{match.Groups["kind"].Value}" : null;
    }

    // (C, C, 1, 1) holds the same numbers as (C, C) in the same order: a 1×1 convolution is a linear map.
    private static bool IsConvShapedAttention(ParameterSpec parameter, SafetensorsTensor tensor) =>
        VaeAttentionKey().IsMatch(parameter.Key)
        && parameter.Shape.Length == 2 && tensor.Shape.Length == 4
        && tensor.Shape[0] == parameter.Shape[0] && tensor.Shape[1] == parameter.Shape[1]
        && tensor.Shape[2] == 1 && tensor.Shape[3] == 1;

    [GeneratedRegex(@"^(?<prefix>(?:encoder|decoder)\.mid_block\.attentions\.\d+)\.(?<proj>to_q|to_k|to_v|to_out\.0)\.(?<kind>weight|bias)$")]
    private static partial Regex VaeAttentionKey();

    private static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }
        return -1;
    }

    private static string WeightFile(string root, string part, bool preferFloat16)
    {
        var stem = part == "image_encoder" ? "model" : "diffusion_pytorch_model";
        var folder = Path.Combine(root, part);
        var full = Path.Combine(folder, $"{stem}.safetensors");
        var half = Path.Combine(folder, $"{stem}.fp16.safetensors");
        foreach (var candidate in preferFloat16 ? new[] { half, full } : [full, half])
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        if (File.Exists(Path.Combine(folder, $"{stem}.safetensors.index.json")) || File.Exists(Path.Combine(folder, $"{stem}.fp16.safetensors.index.json")))
        {
            throw new InvalidDataException($"'{folder}' holds sharded safetensors (an index.json); only single-file weights are supported.");
        }
        var pickles = System.IO.Directory.EnumerateFiles(folder, "*.bin").Select(Path.GetFileName).ToList();
        var hint = pickles.Count > 0 ? $" It has {string.Join(", ", pickles)}: PyTorch pickles are not read; download the .safetensors files." : "";
        throw new InvalidDataException($"'{folder}' has neither {stem}.safetensors nor {stem}.fp16.safetensors.{hint}");
    }

    private static ModelPreset PresetFor(SvdArchitecture architecture, int numFrames, int? sampleSize)
    {
        var json = JsonSerializer.Serialize(architecture, ModelManifest.JsonOptions);
        var stability = JsonSerializer.Serialize(ModelPreset.SvdXt.Architecture, ModelManifest.JsonOptions);
        if (json == stability && numFrames is 14 or 25)
        {
            var preset = numFrames == 14 ? ModelPreset.Svd : ModelPreset.SvdXt;
            return preset with { Architecture = architecture };
        }
        // Another SVD: its own frame count; a square video of the UNet's sample size, or SVD's 576×1024.
        var side = sampleSize is > 0 ? sampleSize.Value * architecture.Vae.DownscaleFactor : 0;
        return new ModelPreset("custom", architecture, numFrames, side > 0 ? side : 576, side > 0 ? side : 1024,
            "converted from a diffusers snapshot with a non-standard configuration");
    }
}
