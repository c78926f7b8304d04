using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.ML;

namespace Vcut.MLNet.Persistence;

/// <summary>What a saved Vcut transformer is: its kind and its options (which hold its column names), enough to build it again.</summary>
/// <param name="Kind">Which transformer (each transformer's <c>Kind</c>).</param>
/// <param name="Options">Its options object.</param>
internal sealed record SavedTransformer(string Kind, object Options)
{
    /// <summary>The format tag of the saved text.</summary>
    public const string CurrentFormat = "vcut-mlnet/2";

    /// <summary>The options' members that are not saved: the device is the loading context's (as for ML.NET's <c>ApplyOnnxModel</c>), progress and cancellation are live objects.</summary>
    private static readonly HashSet<string> NotSaved =
        [nameof(VcutOptions.GpuDeviceId), nameof(VcutOptions.FallbackToCpu), nameof(VcutOptions.Progress), nameof(VcutOptions.CancellationToken)];

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        TypeInfoResolver = new DefaultJsonTypeInfoResolver
        {
            Modifiers =
            {
                static info =>
                {
                    if (info.Kind != JsonTypeInfoKind.Object)
                    {
                        return;
                    }
                    foreach (var property in info.Properties
                        .Where(p => p.Set is null || (p.AttributeProvider is System.Reflection.MemberInfo m && NotSaved.Contains(m.Name))).ToArray())
                    {
                        info.Properties.Remove(property);
                    }
                },
            },
        },
    };

    /// <summary>One line of JSON: <c>{"format":"vcut-mlnet/2","kind":…,"options":{…}}</c>.</summary>
    public string ToJson() =>
        JsonSerializer.Serialize(new Envelope(CurrentFormat, Kind, JsonSerializer.SerializeToElement(Options, Options.GetType(), JsonOptions)), JsonOptions);

    /// <summary>Reads <see cref="ToJson"/>'s text; the options are typed by <paramref name="optionsType"/> of the kind.</summary>
    /// <exception cref="InvalidDataException">Not valid, of another format, or of an unknown kind.</exception>
    public static SavedTransformer FromJson(string json, Func<string, Type?> optionsType)
    {
        Envelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<Envelope>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"A saved Vcut transformer is not valid: {e.Message}", e);
        }
        if (envelope?.Format != CurrentFormat)
        {
            throw new InvalidDataException($"A saved Vcut transformer has format '{envelope?.Format}', expected '{CurrentFormat}'; was it saved by another version?");
        }
        var type = optionsType(envelope.Kind)
            ?? throw new InvalidDataException($"The model holds a Vcut transformer of unknown kind '{envelope.Kind}'; was it saved by a newer version?");
        try
        {
            var options = envelope.Options.Deserialize(type, JsonOptions)
                ?? throw new InvalidDataException($"The saved Vcut transformer '{envelope.Kind}' has no options.");
            return new SavedTransformer(envelope.Kind, options);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The options of a saved Vcut transformer '{envelope.Kind}' are not valid: {e.Message}", e);
        }
    }

    private sealed record Envelope(string Format, string Kind, JsonElement Options);
}

/// <summary>A Vcut transformer that can describe itself, so <c>mlContext.Model.Save</c> can save it.</summary>
internal interface ISavableVcutTransformer : ITransformer
{
    SavedTransformer Describe();
}
