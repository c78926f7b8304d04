using System.Text.Json;
using System.Text.Json.Serialization;
using Vcut.Graph.Architecture;
using Vcut.Graph.Builders;
using Vcut.Graph.Onnx;

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

    /// <summary>Reads the manifest of the model directory <paramref name="directory"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    /// <exception cref="InvalidDataException">The manifest is missing, unreadable or of another format.</exception>
    public static ModelManifest Load(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Model directory '{directory}' does not exist.");
        }
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"'{directory}' is not a Vcut model directory: it has no {FileName}.");
        }
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid model manifest: {e.Message}", e);
        }
        if (manifest is null || manifest.Format != CurrentFormat)
        {
            throw new InvalidDataException($"'{path}' has format '{manifest?.Format}', expected '{CurrentFormat}'.");
        }
        return manifest;
    }
}
