using Vcut.Runtime.Pipeline;

namespace Vcut.MLNet.Models;

/// <summary>Checks of an opened model against the sizes its manifest promised.</summary>
internal static class StageChecks
{
    /// <summary>The generator's cache layout gives the cache width the schema announced.</summary>
    /// <exception cref="InvalidDataException">It does not.</exception>
    public static void CacheMatches(VideoGenerator generator, ModelShapes shapes)
    {
        var width = shapes.GuidanceRows * generator.CacheEntries.Sum(e => e.Width);
        if (width != shapes.CacheWidth)
        {
            throw new InvalidDataException(
                $"Model directory '{shapes.Directory}': its conditioning cache has {width} values per video, but its manifest gives " +
                $"{shapes.CacheWidth} (VCUT {shapes.Mode}); the graphs do not match the manifest.");
        }
    }
}
