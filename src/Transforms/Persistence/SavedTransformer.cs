using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Microsoft.ML;
using Microsoft.ML.Transforms;

namespace Vcut.MLNet.Persistence;

/// <summary>What a saved Vcut transformer is: enough to build it again.</summary>
/// <param name="Kind">Which transformer (each transformer's <c>Kind</c>).</param>
/// <param name="OutputColumnName">The column it adds.</param>
/// <param name="InputColumnNames">The columns it reads, in its order.</param>
/// <param name="Options">Its options (null for a stage that runs no model).</param>
internal sealed record SavedTransformer(string Kind, string OutputColumnName, string[] InputColumnNames, VcutVideoOptions? Options);

/// <summary>The <c>Vcut/transformers.json</c> entry of a saved model: the Vcut transformers in the order ML.NET saved them.</summary>
/// <param name="Format">The format tag, <see cref="CurrentFormat"/>.</param>
/// <param name="Transformers">The transformers, depth-first in the saved pipeline.</param>
internal sealed record SavedTransformers(string Format, SavedTransformer[] Transformers)
{
    public const string CurrentFormat = "vcut-mlnet/1";

    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        // Only what is read back: computed properties (such as VideoGenerationOptions.GuidanceEnabled) are left out.
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
                    foreach (var property in info.Properties.Where(p => p.Set is null).ToArray())
                    {
                        info.Properties.Remove(property);
                    }
                },
            },
        },
    };
}

/// <summary>A Vcut transformer that can describe itself for <see cref="VcutModelOperations.SaveWithVcut(ModelOperationsCatalog, ITransformer, DataViewSchema, string)"/>.</summary>
internal interface ISavableVcutTransformer : ITransformer
{
    SavedTransformer Describe();
}

/// <summary>
/// The placeholder's input: one column that no data has, named to say what to do, so that a model saved by
/// <c>SaveWithVcut</c> and loaded by ML.NET's own <c>Load</c> fails at once, at <c>Transform</c>, with the way out in the message.
/// </summary>
public sealed class VcutPlaceholderInput
{
    /// <summary>The column's name.</summary>
    public const string ColumnName = "(a Vcut transformer, not restored: load this model with mlContext.Model.LoadWithVcut)";

    /// <summary>Never read.</summary>
    [Microsoft.ML.Data.ColumnName(ColumnName)]
    public float Marker;
}

/// <summary>The placeholder's output: one marker column.</summary>
public sealed class VcutPlaceholderOutput
{
    /// <summary>Never set: the mapping throws, saying how to load the model.</summary>
    public float VcutTransformerNotRestored;
}

/// <summary>
/// ML.NET's custom-mapping factory for the placeholder that stands in a saved model for each Vcut transformer: ML.NET
/// saves it under the contract name <see cref="ContractName"/> and finds this factory again when the model is loaded.
/// <see cref="VcutModelOperations.LoadWithVcut(ModelOperationsCatalog, string, out DataViewSchema)"/> replaces every
/// placeholder by the transformer it stands for; loaded without Vcut, a placeholder's column throws when read.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class VcutPlaceholderFactory : CustomMappingFactory<VcutPlaceholderInput, VcutPlaceholderOutput>
{
    /// <summary>The contract name saved in the model.</summary>
    public const string ContractName = "Vcut.MLNet.SavedTransformer";

    /// <summary>The placeholder's mapping, which only throws.</summary>
    public override Action<VcutPlaceholderInput, VcutPlaceholderOutput> GetMapping() => Map;

    internal static void Map(VcutPlaceholderInput input, VcutPlaceholderOutput output) =>
        throw new InvalidOperationException(
            "This model holds Vcut transformers saved by mlContext.Model.SaveWithVcut; it was loaded with mlContext.Model.Load, " +
            "which restores only placeholders. Load it with mlContext.Model.LoadWithVcut (namespace Vcut.MLNet).");
}
