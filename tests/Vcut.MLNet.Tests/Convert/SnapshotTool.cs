using Vcut.Graph.Architecture;
using Vcut.Graph.Weights;

namespace Vcut.MLNet.Tests.Convert;

/// <summary>
/// Not a check: writes a diffusers snapshot with seeded weights where VCUT_WRITE_SNAPSHOT points, for trying
/// <c>vcut convert</c> by hand and measuring it (VCUT_SNAPSHOT_PRESET: tiny by default, or svd / svd-xt for a
/// full-size 9 GB snapshot; VCUT_SNAPSHOT_DTYPE: F32 by default, or F16 / BF16).
/// </summary>
[TestClass]
public sealed class SnapshotTool
{
    [TestMethod]
    public void WriteSnapshotForManualRuns()
    {
        var target = Environment.GetEnvironmentVariable("VCUT_WRITE_SNAPSHOT");
        if (string.IsNullOrEmpty(target))
        {
            Assert.Inconclusive("Set VCUT_WRITE_SNAPSHOT=DIR to write a seeded diffusers snapshot there.");
        }
        var preset = ModelPreset.Get(Environment.GetEnvironmentVariable("VCUT_SNAPSHOT_PRESET") ?? "tiny");
        var dtype = Environment.GetEnvironmentVariable("VCUT_SNAPSHOT_DTYPE") ?? "F32";
        DiffusersSnapshotWriter.Write(target, preset, new SeededWeightSource(ConvertFixture.Seed), new SnapshotOptions { DType = dtype });
    }
}
