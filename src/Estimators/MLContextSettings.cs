using Microsoft.ML;

namespace Vcut.MLNet;

/// <summary>
/// <c>MLContext.GpuDeviceId</c> and <c>MLContext.FallbackToCpu</c> as seen from a catalog, so the Vcut catalog methods
/// honour them as ML.NET's <c>ApplyOnnxModel</c> does (<c>OnnxCatalog.GetGpuDeviceId</c>: an explicit device wins; when
/// none is given the context's device and fallback are used).
/// </summary>
/// <remarks>
/// ML.NET reaches a catalog's context through <c>CatalogUtils.GetEnvironment</c> and the environment's
/// <c>IHostEnvironmentInternal</c>, both internal to ML.NET (visible only to its own assemblies); a catalog exposes no
/// public route to its <c>MLContext</c>. This is the one place Vcut reads ML.NET internals, by name and defensively: if a
/// later ML.NET renames them, the context's settings read as "none" (CPU) and
/// <c>MLContextGpuSettingsReachTheSessions</c> fails, rather than anything breaking at run time.
/// </remarks>
internal static class MLContextSettings
{
    /// <summary>The GPU settings of the context that made <paramref name="catalog"/> (a catalog of <c>mlContext</c>).</summary>
    public static (int? GpuDeviceId, bool FallbackToCpu) Of(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var environment = catalog.GetType().GetInterface("Microsoft.ML.Data.IInternalCatalog")?.GetProperty("Environment")?.GetValue(catalog);
        var settings = environment?.GetType().GetInterface("Microsoft.ML.Runtime.IHostEnvironmentInternal");
        if (settings is null)
        {
            return (null, false);
        }
        var gpu = settings.GetProperty(nameof(MLContext.GpuDeviceId))?.GetValue(environment) as int?;
        var fallback = settings.GetProperty(nameof(MLContext.FallbackToCpu))?.GetValue(environment) as bool? ?? false;
        return (gpu, fallback);
    }

    /// <summary>ML.NET's rule: an explicit <paramref name="gpuDeviceId"/> wins, with <paramref name="fallbackToCpu"/>; else the context's.</summary>
    public static (int? GpuDeviceId, bool FallbackToCpu) Resolve(object catalog, int? gpuDeviceId, bool fallbackToCpu)
    {
        if (gpuDeviceId is null && Of(catalog) is { GpuDeviceId: { } contextDevice } context)
        {
            return (contextDevice, context.FallbackToCpu);
        }
        return (gpuDeviceId, fallbackToCpu);
    }
}
