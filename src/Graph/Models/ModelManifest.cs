using System.Text.Json;
using System.Text.Json.Serialization;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Files;
using Vcut.Graph.Onnx;
using Vcut.Graph.Vcut;

namespace Vcut.Graph.Models;

/// <summary>
/// <c>vcut-model.json</c>: what a model directory holds, so a folder knows what it is.
/// </summary>
/// <param name="Format">Manifest format tag, <see cref="CurrentFormat"/>.</param>
/// <param name="Preset">The preset it was built from, or <c>custom</c>.</param>
/// <param name="Weights">The weight source (<c>seeded:SEED</c>, <c>none</c>, or a checkpoint description).</param>
/// <param name="Attention">How attention is written in the graphs.</param>
/// <param name="Vcut">The VCUT variant of the UNet.</param>
/// <param name="DefaultFrames">Default frames per video.</param>
/// <param name="DefaultHeight">Default height in pixels.</param>
/// <param name="DefaultWidth">Default width in pixels.</param>
/// <param name="Architecture">The architecture of the four graphs.</param>
/// <param name="Models">Relative path of each graph by model name.</param>
public sealed record ModelManifest(
    string Format,
    string Preset,
    string Weights,
    AttentionForm Attention,
    VcutMode Vcut,
    int DefaultFrames,
    int DefaultHeight,
    int DefaultWidth,
    SvdArchitecture Architecture,
    IReadOnlyDictionary<string, string> Models)
{
    /// <summary>
    /// The element type of the graphs' parameters and computation; float16 graphs still take and give float32
    /// (Cast nodes at their boundaries). Omitted from the JSON when float32, so older manifests read unchanged.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public GraphPrecision Precision { get; init; }

    /// <summary>
    /// The UNet's ports, when it was made elsewhere and imported (<c>vcut convert --unet-onnx</c>): names and element
    /// types the runtime binds. Omitted from the JSON (null) for the project's own UNets, whose ports are
    /// <see cref="UNetPorts.Default"/>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public UNetPorts? UNetPorts { get; init; }

    /// <summary>The ports the runtime binds: <see cref="UNetPorts"/>, or the project's own.</summary>
    [JsonIgnore]
    public UNetPorts Ports => UNetPorts ?? global::Vcut.Graph.Models.UNetPorts.Default;

    /// <summary>The manifest's file name inside a model directory.</summary>
    public const string FileName = "vcut-model.json";

    /// <summary>The format tag this version writes and reads.</summary>
    public const string CurrentFormat = "vcut-model/1";

    /// <summary>The serializer settings of the manifest (camelCase, enums as strings, indented).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The manifest as JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Manifests larger than this are refused unread (the real SVD's is about 2 kB).</summary>
    public const long MaxFileBytes = 1L << 20;

    /// <summary>Reads the manifest of the model directory <paramref name="directory"/> and checks every field (see <see cref="Validate"/>).</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// The manifest is missing, not a regular file, larger than <see cref="MaxFileBytes"/>, unreadable, of another format,
    /// or a field is missing or out of range; the message names the file and the field.
    /// </exception>
    public static ModelManifest Load(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist.");
        }
        var path = Path.Combine(directory, FileName);
        if (InputFiles.KindOf(path) == FileKind.Missing)
        {
            throw new InvalidDataException($"'{directory}' is not a Vcut model directory: it has no {FileName}.");
        }
        var text = InputFiles.ReadAllText(path, MaxFileBytes, "Model manifest");
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(text, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid model manifest: {e.Message}", e);
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"'{path}' is not a valid model manifest: {e.Message}", e);
        }
        if (manifest is null)
        {
            throw new InvalidDataException($"'{path}' is not a valid model manifest: it is 'null'; expected a JSON object.");
        }
        if (manifest.Format != CurrentFormat)
        {
            throw new InvalidDataException($"'{path}' has format '{manifest.Format}', expected '{CurrentFormat}'.");
        }
        manifest.Validate(path);
        return manifest;
    }

    /// <summary>
    /// The VCUT mode this directory runs in when <paramref name="requested"/> is asked for: its own when null; any mode
    /// on a directory of the original UNet (the UNet is then rewritten in memory); only its own on a rewritten one.
    /// The one rule both the runtime's sessions and the ML.NET stages apply.
    /// </summary>
    /// <param name="requested">The mode asked for, or null.</param>
    /// <param name="directory">The directory, for the message.</param>
    /// <exception cref="InvalidOperationException">A rewritten directory asked for another mode than it holds.</exception>
    public VcutMode ModeToRun(VcutMode? requested, string directory)
    {
        var mode = requested ?? Vcut;
        if (Vcut != VcutMode.Off && mode != Vcut)
        {
            throw new InvalidOperationException(
                $"Model directory '{directory}' holds a UNet rewritten for VCUT '{Vcut.ToString().ToLowerInvariant()}'; it cannot run as " +
                $"'{mode.ToString().ToLowerInvariant()}'. Keep the directory's own mode, or open a directory of the original UNet.");
        }
        return mode;
    }

    /// <summary>
    /// Checks what a manifest read from a file may get wrong: every field present, enums known, default frames and sizes
    /// in range, the architecture consistent (<see cref="SvdArchitecture.Validate"/>), and each model path a plain
    /// relative path inside the directory (no absolute path, no <c>..</c>), known by name and used once.
    /// </summary>
    /// <param name="source">The manifest's file, for the messages.</param>
    /// <exception cref="InvalidDataException">The first problem, with the file and the field named.</exception>
    public void Validate(string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        InvalidDataException Error(string field, string what) => new($"'{source}': {field} {what.TrimEnd('.')}.");
        foreach (var (field, value) in new[] { ("format", Format), ("preset", Preset), ("weights", Weights) })
        {
            if (value is null)
            {
                throw Error(field, "is missing; expected a string");
            }
        }
        if (!Enum.IsDefined(Attention))
        {
            throw Error("attention", $"is {(int)Attention}; expected \"plain\" or \"fused\"");
        }
        if (!Enum.IsDefined(Vcut))
        {
            throw Error("vcut", $"is {(int)Vcut}; expected \"off\", \"paper\" or \"exact\"");
        }
        if (!Enum.IsDefined(Precision))
        {
            throw Error("precision", $"is {(int)Precision}; expected \"float32\" or \"float16\"");
        }
        if (UNetPorts is { } ports)
        {
            foreach (var (field, port) in new[] { ("sample", ports.Sample), ("timestep", ports.Timestep),
                         ("encoderHiddenStates", ports.EncoderHiddenStates), ("addedTimeIds", ports.AddedTimeIds), ("output", ports.Output) })
            {
                if (port is null || string.IsNullOrEmpty(port.Name) || !Enum.IsDefined(port.ElementType))
                {
                    throw Error($"unetPorts.{field}", "is missing or invalid; expected a name and an elementType of \"float32\" or \"float16\"");
                }
            }
        }
        if (Architecture?.UNet is null || Architecture.Vae is null || Architecture.ImageEncoder is null)
        {
            throw Error("architecture", "is missing or incomplete; expected its unet, vae and imageEncoder objects");
        }
        try
        {
            Architecture.Validate();
        }
        catch (ArgumentException e)
        {
            throw Error("architecture", $"is invalid: {e.Message}");
        }
        if (DefaultFrames is < 1 or > MaxDefaultFrames)
        {
            throw Error("defaultFrames", $"is {DefaultFrames}; expected 1 to {MaxDefaultFrames}");
        }
        var factor = Architecture.Vae.DownscaleFactor;
        foreach (var (field, value) in new[] { ("defaultHeight", DefaultHeight), ("defaultWidth", DefaultWidth) })
        {
            if (value < factor || value > MaxDefaultSide || value % factor != 0)
            {
                throw Error(field, $"is {value}; expected a multiple of {factor} (the VAE's downscale factor) from {factor} to {MaxDefaultSide}");
            }
        }
        if (Models is null || Models.Count == 0)
        {
            throw Error("models", "is missing; expected the relative path of each graph by name");
        }
        var known = VcutMode.Exact.ModelNamesIn();
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, relative) in Models)
        {
            if (!known.Contains(name))
            {
                throw Error($"models.{name}", $"names an unknown graph; expected {string.Join(", ", known)}");
            }
            if (ConfinedPath.Problem(relative) is { } problem)
            {
                throw Error($"models.{name}", $"is '{relative}', which {problem}; expected a path relative to the model directory and inside it");
            }
            var normal = relative.Replace('\\', '/');
            if (seen.TryGetValue(normal, out var other))
            {
                throw Error($"models.{name}", $"is '{relative}', the file of models.{other} too; expected one file per graph");
            }
            seen[normal] = name;
        }
        foreach (var name in Vcut.ModelNamesIn())
        {
            if (!Models.ContainsKey(name))
            {
                throw Error($"models.{name}", "is missing; a model directory lists " + string.Join(", ", Vcut.ModelNamesIn()));
            }
        }
    }

    /// <summary>The most default frames a manifest may name.</summary>
    public const int MaxDefaultFrames = 4096;

    /// <summary>The largest default height or width a manifest may name, in pixels.</summary>
    public const int MaxDefaultSide = 16384;

    /// <summary>
    /// The full path of the graph <paramref name="modelName"/> in the model directory <paramref name="directory"/>,
    /// checked to lie inside it with every link resolved (see <see cref="ConfinedPath.Resolve"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">The manifest lists no such graph, or its path leads out of the directory.</exception>
    public string PathOf(string directory, string modelName)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (Models is null || !Models.TryGetValue(modelName, out var relative))
        {
            throw new InvalidDataException($"Model directory '{directory}' lists no '{modelName}' model in its {FileName}.");
        }
        return ConfinedPath.Resolve(directory, relative, $"'{Path.Combine(directory, FileName)}': models.{modelName}");
    }
}
