using Vcut.Graph.Weights;
using Vcut.Runtime.Randomness;

namespace Vcut.MLNet.Tests.Runtime;

[TestClass]
public sealed class GaussianRandomTests
{
    private static float[] Draw(ulong seed, int count)
    {
        var values = new float[count];
        new GaussianRandom(seed).Fill(values);
        return values;
    }

    [TestMethod]
    public void FollowsTheDocumentedConstruction()
    {
        // Box–Muller on SplitMix64 words, as the class documents it, written out here.
        var bits = new SplitMix64(42);
        var expected = new List<float>();
        for (var pair = 0; pair < 3; pair++)
        {
            var u1 = ((bits.NextUInt64() >> 11) + 1) / 9007199254740992.0;
            var u2 = (bits.NextUInt64() >> 11) / 9007199254740992.0;
            var r = Math.Sqrt(-2 * Math.Log(u1));
            expected.Add((float)(r * Math.Cos(2 * Math.PI * u2)));
            expected.Add((float)(r * Math.Sin(2 * Math.PI * u2)));
        }
        CollectionAssert.AreEqual(expected, Draw(42, 6));
    }

    [TestMethod]
    public void SameSeedSameNumbersDifferentSeedDifferentNumbers()
    {
        CollectionAssert.AreEqual(Draw(7, 1001), Draw(7, 1001));
        var a = Draw(7, 1000);
        var b = Draw(8, 1000);
        Assert.IsLessThan(5, a.Zip(b).Count(p => p.First == p.Second), "different seeds should give unrelated streams");
    }

    [TestMethod]
    public void SplitFillsContinueOneStream()
    {
        var random = new GaussianRandom(99);
        var parts = new float[31];
        random.Fill(parts.AsSpan(0, 7));
        random.Fill(parts.AsSpan(7, 1));
        random.Fill(parts.AsSpan(8));
        CollectionAssert.AreEqual(Draw(99, 31), parts);
    }

    [TestMethod]
    public void SamplesAreStandardNormal()
    {
        var values = Draw(2024, 100_000);
        Assert.IsTrue(values.All(float.IsFinite));
        var mean = values.Average(v => (double)v);
        var std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        // The standard error of the mean is 1/√100000 ≈ 0.003; of the std ≈ 0.0022. These bounds are > 6 of them.
        Assert.AreEqual(0, mean, 0.02);
        Assert.AreEqual(1, std, 0.02);
        Assert.AreEqual(0.6827, values.Count(v => Math.Abs(v) < 1) / 100_000.0, 0.01, "share within one σ");
        Assert.AreEqual(0.9545, values.Count(v => Math.Abs(v) < 2) / 100_000.0, 0.006, "share within two σ");
    }
}
