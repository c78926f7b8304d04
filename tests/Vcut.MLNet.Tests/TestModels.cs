namespace Vcut.MLNet.Tests;

/// <summary>The committed model directories the tests run on.</summary>
internal static class TestModels
{
    /// <summary>
    /// The seeded tiny SVD (<c>models/tiny</c>): the whole pipeline in seconds, for tests whose figures (cross-attention
    /// counts, sizes) are the tiny preset's. Tests of the embedded default itself use <c>VideoGenerator.DefaultModelDirectory</c>.
    /// </summary>
    public static string Tiny => Path.Combine(AppContext.BaseDirectory, "models", "tiny");
}
