using Vcut.MLNet;
using Vcut.MLNet.Persistence;

namespace Microsoft.ML;

/// <summary>
/// Loading models that hold Vcut transformers. Saving needs nothing of Vcut: <c>mlContext.Model.Save(model, inputSchema,
/// path)</c> saves every Vcut pipeline (<c>inputSchema</c> may be null, as for any ML.NET model: needed for in-memory
/// <c>MLImage</c> inputs, whose schema ML.NET cannot save). <c>mlContext.Model.Load</c> gives the pipeline back with each
/// Vcut transformer as the ML.NET <c>Expression</c> transform that holds its options; <see cref="RestoreVcut"/> builds
/// them again. A loaded model used before that fails with ML.NET's "Column [a Vcut.MLNet transformer: restore the loaded
/// model with mlContext.Model.RestoreVcut(model)] does not exist in the input schema".
/// </summary>
public static class VcutModelOperations
{
    /// <summary>
    /// <paramref name="model"/> (as <c>mlContext.Model.Load</c> gave it) with its Vcut transformers built again from their
    /// saved options and their models opened, on the GPU of <see cref="MLContext.GpuDeviceId"/> when set (the device is
    /// not saved with a model, as for ML.NET's <c>ApplyOnnxModel</c>). Chains keep their parts' scopes; everything that is
    /// not a Vcut transformer is returned as loaded. A model without Vcut transformers is returned as it is.
    /// </summary>
    /// <param name="catalog">ML.NET's model operations catalog (<c>mlContext.Model</c>).</param>
    /// <param name="model">The model <c>mlContext.Model.Load</c> returned.</param>
    /// <returns>The model, ready to <c>Transform</c> and to give to <c>CreatePredictionEngine</c>.</returns>
    /// <exception cref="InvalidDataException">A saved Vcut transformer is unreadable or of another format.</exception>
    /// <exception cref="DirectoryNotFoundException">A Vcut transformer's model directory no longer exists.</exception>
    public static ITransformer RestoreVcut(this ModelOperationsCatalog catalog, ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(model);
        var restored = new List<ITransformer>();
        try
        {
            return VcutModelPersistence.Restore(model, MLContextSettings.Of(catalog), restored);
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
}
