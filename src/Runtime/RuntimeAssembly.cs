namespace Vcut.Runtime;

/// <summary>Marker for the runtime layer's assembly.</summary>
public static class RuntimeAssembly
{
    /// <summary>The assembly's informational name.</summary>
    public static string Name => typeof(RuntimeAssembly).Assembly.GetName().Name ?? "Vcut.Runtime";
}
