using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using Vcut.MLNet.Persistence;

namespace Vcut.MLNet;

/// <summary>
/// Saving and loading fitted pipelines that hold Vcut transformers. ML.NET's model format is ML.NET's own zip; the
/// classes that write custom entries into it are internal to ML.NET, so a Vcut transformer is saved in two public
/// parts: ML.NET's <c>CustomMapping</c> placeholder (contract <see cref="VcutPlaceholderFactory.ContractName"/>) in its
/// place in the pipeline, and the transformer itself (kind, columns, options) as JSON in the zip entry
/// <see cref="EntryName"/>. Everything else in the pipeline is saved by ML.NET as usual. Loading lets ML.NET load the
/// pipeline, then replaces each placeholder by the transformer it stands for, which opens its model again.
/// </summary>
public static class VcutModelOperations
{
    /// <summary>The zip entry holding the Vcut transformers.</summary>
    public const string EntryName = "Vcut/transformers.json";

    private static readonly AsyncLocal<List<SavedTransformer>?> Saving = new();
    private static readonly Lazy<ITransformer> Placeholder = new(CreatePlaceholder);

    /// <summary>
    /// Saves <paramref name="model"/> (any ML.NET pipeline, Vcut transformers included) and the schema of its input to
    /// <paramref name="filePath"/>, written to a temporary file and moved into place when complete.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static void SaveWithVcut(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, string filePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        var target = Path.GetFullPath(filePath);
        var temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.tmp-{Guid.NewGuid():N}");
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite))
            {
                Save(catalog, model, inputSchema, file);
            }
            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Saves <paramref name="model"/> and its input schema to <paramref name="stream"/> (left open).</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="IOException">The stream cannot be written.</exception>
    public static void SaveWithVcut(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var buffer = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        Save(catalog, model, inputSchema, buffer);
        buffer.Position = 0;
        buffer.CopyTo(stream);
    }

    /// <summary>
    /// Loads a model saved by <see cref="SaveWithVcut(ModelOperationsCatalog, ITransformer, DataViewSchema, string)"/> (or
    /// any ML.NET model) from <paramref name="filePath"/>, with its Vcut transformers restored and their models opened.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="filePath"/>.</exception>
    /// <exception cref="InvalidDataException">The Vcut entry is unreadable, of another format, or does not match the pipeline.</exception>
    /// <exception cref="DirectoryNotFoundException">A Vcut transformer's model directory no longer exists.</exception>
    public static ITransformer LoadWithVcut(this ModelOperationsCatalog catalog, string filePath, out DataViewSchema inputSchema)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(filePath);
        if (!File.Exists(filePath))
        {
            throw new FileNotFoundException($"Model file '{Path.GetFullPath(filePath)}' does not exist.", filePath);
        }
        using var file = File.OpenRead(filePath);
        return LoadWithVcut(catalog, file, out inputSchema);
    }

    /// <summary>As <see cref="LoadWithVcut(ModelOperationsCatalog, string, out DataViewSchema)"/>, from a seekable <paramref name="stream"/>.</summary>
    /// <exception cref="ArgumentException">The stream cannot seek.</exception>
    /// <exception cref="InvalidDataException">The Vcut entry is unreadable, of another format, or does not match the pipeline.</exception>
    public static ITransformer LoadWithVcut(this ModelOperationsCatalog catalog, Stream stream, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek)
        {
            throw new ArgumentException("The model stream must be seekable (ML.NET reads it as a zip).", nameof(stream));
        }
        var start = stream.Position;
        SavedTransformer[] saved;
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true))
        {
            saved = ReadEntry(zip);
        }
        stream.Position = start;
        var loaded = catalog.Load(stream, out inputSchema);
        var pending = new Queue<SavedTransformer>(saved);
        var restored = new List<ITransformer>();
        try
        {
            var model = Restore(loaded, pending, restored);
            if (pending.Count > 0)
            {
                throw new InvalidDataException(
                    $"The model's {EntryName} lists {saved.Length} Vcut transformers but the pipeline holds {saved.Length - pending.Count} placeholders.");
            }
            return model;
        }
        catch
        {
            foreach (var transformer in restored.OfType<IDisposable>())
            {
                transformer.Dispose();
            }
            throw;
        }
    }

    /// <summary>What a Vcut transformer's <c>ICanSaveModel.Save</c> does: describe itself, and save a placeholder in its place.</summary>
    internal static void SaveThroughPlaceholder(ISavableVcutTransformer transformer, ModelSaveContext context)
    {
        var saving = Saving.Value ?? throw new InvalidOperationException(
            $"{transformer.GetType().Name} cannot be saved by mlContext.Model.Save alone: ML.NET's model format has no public place " +
            "for its options. Save the pipeline with mlContext.Model.SaveWithVcut and load it with mlContext.Model.LoadWithVcut (namespace Vcut.MLNet).");
        saving.Add(transformer.Describe());
        ((ICanSaveModel)Placeholder.Value).Save(context);
    }

    private static void Save(ModelOperationsCatalog catalog, ITransformer model, DataViewSchema inputSchema, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        var saved = new List<SavedTransformer>();
        var outer = Saving.Value;
        Saving.Value = saved;
        try
        {
            catalog.Save(model, inputSchema, stream);
        }
        finally
        {
            Saving.Value = outer;
        }
        stream.Position = 0;
        using var zip = new ZipArchive(stream, ZipArchiveMode.Update, leaveOpen: true);
        zip.GetEntry(EntryName)?.Delete();
        using var entry = zip.CreateEntry(EntryName, CompressionLevel.Optimal).Open();
        JsonSerializer.Serialize(entry, new SavedTransformers(SavedTransformers.CurrentFormat, [.. saved]), SavedTransformers.JsonOptions);
    }

    private static SavedTransformer[] ReadEntry(ZipArchive zip)
    {
        if (zip.GetEntry(EntryName) is not { } entry)
        {
            return []; // a model without Vcut transformers
        }
        SavedTransformers? saved;
        try
        {
            using var json = entry.Open();
            saved = JsonSerializer.Deserialize<SavedTransformers>(json, SavedTransformers.JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The model's {EntryName} is not valid: {e.Message}", e);
        }
        if (saved?.Format != SavedTransformers.CurrentFormat || saved.Transformers is null)
        {
            throw new InvalidDataException($"The model's {EntryName} has format '{saved?.Format}', expected '{SavedTransformers.CurrentFormat}'.");
        }
        return saved.Transformers;
    }

    /// <summary>The pipeline with each placeholder replaced, depth-first, by the next saved transformer.</summary>
    private static ITransformer Restore(ITransformer transformer, Queue<SavedTransformer> pending, List<ITransformer> restored)
    {
        if (transformer is CustomMappingTransformer<VcutPlaceholderInput, VcutPlaceholderOutput>)
        {
            if (!pending.TryDequeue(out var saved))
            {
                throw new InvalidDataException($"The pipeline holds more Vcut placeholders than the model's {EntryName} lists.");
            }
            var created = Create(saved);
            restored.Add(created);
            return created;
        }
        if (transformer is not TransformerChain<ITransformer> chain)
        {
            return transformer;
        }
        var parts = chain.ToArray();
        var replaced = parts.Select(part => Restore(part, pending, restored)).ToArray();
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

    private static ITransformer Create(SavedTransformer saved)
    {
        var columns = saved.InputColumnNames ?? [];
        string Input(int index) => index < columns.Length
            ? columns[index]
            : throw new InvalidDataException($"The saved Vcut transformer '{saved.Kind}' lists {columns.Length} input columns; expected more.");
        var options = saved.Options;
        return saved.Kind switch
        {
            VcutVideoTransformer.Kind => new VcutVideoEstimator(saved.OutputColumnName, Input(0), options).CreateWithoutData(),
            ClipImagePreprocessingTransformer.Kind => new ClipImagePreprocessingEstimator(saved.OutputColumnName, Input(0)).CreateWithoutData(),
            ClipImageEncodingTransformer.Kind => new ClipImageEncodingEstimator(saved.OutputColumnName, Input(0), options).CreateWithoutData(),
            ConditioningLatentTransformer.Kind => new ConditioningLatentEstimator(saved.OutputColumnName, Input(0), options).CreateWithoutData(),
            ConditioningCacheTransformer.Kind => new ConditioningCacheEstimator(saved.OutputColumnName, Input(0), options).CreateWithoutData(),
            VideoDenoisingTransformer.Kind => new VideoDenoisingEstimator(saved.OutputColumnName, Input(0), Input(1), options).CreateWithoutData(),
            VaeDecodingTransformer.Kind => new VaeDecodingEstimator(saved.OutputColumnName, Input(0), options).CreateWithoutData(),
            _ => throw new InvalidDataException($"The model holds a Vcut transformer of unknown kind '{saved.Kind}'; was it saved by a newer version?"),
        };
    }

    private static ITransformer CreatePlaceholder()
    {
        var context = new MLContext();
        var empty = context.Data.LoadFromEnumerable(Array.Empty<VcutPlaceholderInput>());
        return context.Transforms.CustomMapping<VcutPlaceholderInput, VcutPlaceholderOutput>(VcutPlaceholderFactory.Map, VcutPlaceholderFactory.ContractName)
            .Fit(empty);
    }
}
