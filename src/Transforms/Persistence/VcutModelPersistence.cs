using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Vcut.MLNet.Persistence;

/// <summary>
/// How a Vcut transformer lives in ML.NET's own model format. ML.NET saves a transformer by calling its
/// <c>ICanSaveModel.Save(ModelSaveContext)</c>, and the context's writers and the loader registry
/// (<c>LoadableClassAttribute</c>) are internal to ML.NET; but a transformer may hand the context on to one of ML.NET's
/// own transformers. A Vcut transformer hands it to an <c>Expression</c> transform (<see cref="ExpressionTransformer"/>)
/// whose expression is one string constant: the transformer's kind and options as JSON. ML.NET saves and loads that
/// transform itself; after a plain <c>Load</c> the constant is read back through the public API (the transform is run on a
/// one-row view) and the Vcut transformer is built again (<see cref="VcutModelOperations.RestoreVcut"/>).
/// </summary>
/// <remarks>
/// The expression's input column is named by <see cref="MarkerColumn"/>, which no data has: a model used without
/// <c>RestoreVcut</c> fails at <c>Transform</c>, <c>GetOutputSchema</c> or <c>CreatePredictionEngine</c> with ML.NET's
/// "Column [a Vcut.MLNet transformer: …RestoreVcut…] does not exist in the input schema", which names the call. A
/// <c>CustomMapping</c> cannot stand in instead: its factory is stateless and typed at compile time, and an
/// <c>MLImage</c> column cannot cross it in ML.NET 5.0.1.
/// </remarks>
internal static class VcutModelPersistence
{
    /// <summary>The expression's input column: what ML.NET's error names when a loaded model was not restored.</summary>
    public const string MarkerColumn = "[a Vcut.MLNet transformer: restore the loaded model with mlContext.Model.RestoreVcut(model)]";

    /// <summary>The expression's output column: the JSON text.</summary>
    public const string DescriptorColumn = "Vcut.MLNet.SavedTransformer";

    private static readonly Lazy<IDataView> Marker = new(() => new MLContext().Data.LoadFromEnumerable(new[] { new MarkerRow() }));

    /// <summary>A Vcut transformer's <c>ICanSaveModel.Save</c>: an <c>Expression</c> transform holding its description saves in its place.</summary>
    public static void Save(ISavableVcutTransformer transformer, ModelSaveContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        ((ICanSaveModel)DescriptorTransform(transformer.Describe().ToJson())).Save(context);
    }

    /// <summary>The <c>Expression</c> transform whose only output is the string <paramref name="json"/>.</summary>
    internal static ExpressionTransformer DescriptorTransform(string json)
    {
        var literal = "@\"" + json.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        return new MLContext().Transforms.Expression(DescriptorColumn, "marker => " + literal, MarkerColumn).Fit(Marker.Value);
    }

    /// <summary>The saved description an <c>Expression</c> transform holds, or null when it is not a Vcut transformer's.</summary>
    public static string? ReadDescription(ExpressionTransformer expression)
    {
        DataViewSchema schema;
        try
        {
            schema = expression.GetOutputSchema(Marker.Value.Schema);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            return null; // another Expression transform: its input columns are not the marker
        }
        if (schema.GetColumnOrNull(DescriptorColumn) is not { Type: TextDataViewType })
        {
            return null;
        }
        var text = expression.Transform(Marker.Value).GetColumn<string>(DescriptorColumn).FirstOrDefault();
        return text is not null && text.StartsWith("{\"format\":\"vcut-mlnet/", StringComparison.Ordinal) ? text : null;
    }

    /// <summary><paramref name="model"/> with each saved Vcut transformer, depth-first, built again; parts that are not Vcut's are kept as they are.</summary>
    public static ITransformer Restore(ITransformer model, (int? GpuDeviceId, bool FallbackToCpu) device, List<ITransformer> restored)
    {
        if (model is ExpressionTransformer expression && ReadDescription(expression) is { } json)
        {
            var created = Create(SavedTransformer.FromJson(json, OptionsType), device);
            restored.Add(created);
            return created;
        }
        if (model is not TransformerChain<ITransformer> chain)
        {
            return model;
        }
        var parts = chain.ToArray();
        var replaced = parts.Select(part => Restore(part, device, restored)).ToArray();
        if (parts.SequenceEqual(replaced))
        {
            return chain;
        }
        // Keep each part's scope: the parts a scope's model holds are the parts of that scope.
        var scopes = parts.Select(_ => TransformerScope.None).ToArray();
        foreach (var scope in new[] { TransformerScope.Training, TransformerScope.Testing, TransformerScope.Scoring })
        {
            var members = chain.GetModelFor(scope).ToHashSet(ReferenceEqualityComparer.Instance);
            for (var i = 0; i < parts.Length; i++)
            {
                if (members.Contains(parts[i]))
                {
                    scopes[i] |= scope;
                }
            }
        }
        return new TransformerChain<ITransformer>(replaced, scopes);
    }

    private static Type? OptionsType(string kind) => kind switch
    {
        VcutVideoTransformer.Kind => typeof(VcutVideoOptions),
        ClipImagePreprocessingTransformer.Kind => typeof(ClipImagePreprocessingOptions),
        ClipImageEncodingTransformer.Kind => typeof(ClipImageEncodingOptions),
        ConditioningLatentTransformer.Kind => typeof(ConditioningLatentOptions),
        ConditioningCacheTransformer.Kind => typeof(ConditioningCacheOptions),
        VideoDenoisingTransformer.Kind => typeof(VideoDenoisingOptions),
        VaeDecodingTransformer.Kind => typeof(VaeDecodingOptions),
        _ => null,
    };

    private static ITransformer Create(SavedTransformer saved, (int? GpuDeviceId, bool FallbackToCpu) device)
    {
        var (gpu, fallback) = device;
        return saved.Options switch
        {
            VcutVideoOptions o => new VcutVideoEstimator(o with { GpuDeviceId = gpu, FallbackToCpu = fallback }).CreateWithoutData(),
            ClipImagePreprocessingOptions o => new ClipImagePreprocessingEstimator(o).CreateWithoutData(),
            ClipImageEncodingOptions o => new ClipImageEncodingEstimator(o with { GpuDeviceId = gpu, FallbackToCpu = fallback }).CreateWithoutData(),
            ConditioningLatentOptions o => new ConditioningLatentEstimator(o with { GpuDeviceId = gpu, FallbackToCpu = fallback }).CreateWithoutData(),
            ConditioningCacheOptions o => new ConditioningCacheEstimator(o with { GpuDeviceId = gpu, FallbackToCpu = fallback }).CreateWithoutData(),
            VideoDenoisingOptions o => new VideoDenoisingEstimator(o with { GpuDeviceId = gpu, FallbackToCpu = fallback }).CreateWithoutData(),
            VaeDecodingOptions o => new VaeDecodingEstimator(o with { GpuDeviceId = gpu, FallbackToCpu = fallback }).CreateWithoutData(),
            _ => throw new InvalidDataException($"The saved Vcut transformer '{saved.Kind}' has options of type {saved.Options.GetType().Name}."),
        };
    }

    /// <summary>The marker row: one column named <see cref="MarkerColumn"/>.</summary>
    private sealed class MarkerRow
    {
        [ColumnName(MarkerColumn)]
        public float Marker { get; set; }
    }
}
