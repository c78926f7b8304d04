using System.Globalization;
using Vcut.Runtime.Scheduling;

namespace Vcut.MLNet.Tests.Runtime;

[TestClass]
public sealed class EulerKarrasSchedulerTests
{
    // Spec §7 step 5, as printed there.
    private static readonly string[] SpecSigmas25 =
    [
        "700", "545.73", "421.57", "322.45", "244.02", "182.55", "134.85", "98.27", "70.54", "49.81", "34.54", "23.47",
        "15.59", "10.10", "6.354", "3.870", "2.269", "1.273", "0.678", "0.339", "0.157", "0.0664", "0.0248", "0.00788",
        "0.002", "0",
    ];

    private static double[] FormulaSigmas(int n)
    {
        double max = Math.Pow(700, 1 / 7.0), min = Math.Pow(0.002, 1 / 7.0);
        return Enumerable.Range(0, n)
            .Select(i => Math.Pow(max + (n == 1 ? 0 : i / (double)(n - 1)) * (min - max), 7))
            .Append(0).ToArray();
    }

    [TestMethod]
    public void TwentyFiveStepSigmasAreTheSpecsList()
    {
        var scheduler = new EulerKarrasScheduler(25);
        Assert.AreEqual(25, scheduler.StepCount);
        Assert.HasCount(26, scheduler.Sigmas);
        for (var i = 0; i < SpecSigmas25.Length; i++)
        {
            var text = SpecSigmas25[i];
            var decimals = text.Contains('.') ? text.Length - text.IndexOf('.') - 1 : 0;
            // Equal to the printed value within half a unit of its last printed digit.
            var tolerance = 0.5 * Math.Pow(10, -decimals);
            Assert.AreEqual(double.Parse(text, CultureInfo.InvariantCulture), scheduler.Sigmas[i], tolerance, $"σ[{i}]");
        }
        Assert.AreEqual(0f, scheduler.Sigmas[25]);
    }

    [TestMethod]
    public void TimestepsAreAQuarterOfTheLogSigma()
    {
        var scheduler = new EulerKarrasScheduler(25);
        Assert.HasCount(25, scheduler.Timesteps);
        Assert.AreEqual(1.63777f, scheduler.Timesteps[0], 1e-5f);
        Assert.AreEqual(-1.55365f, scheduler.Timesteps[24], 1e-5f);
        for (var i = 0; i < 25; i++)
        {
            Assert.AreEqual(0.25 * Math.Log(scheduler.Sigmas[i]), scheduler.Timesteps[i], 1e-6, $"t[{i}]");
        }
    }

    [TestMethod]
    public void InitialNoiseSigmaAndInputScale()
    {
        var scheduler = new EulerKarrasScheduler(25);
        Assert.AreEqual(700.000714, scheduler.InitNoiseSigma, 1e-4);
        Assert.AreEqual(1 / Math.Sqrt(700.0 * 700.0 + 1), scheduler.InputScale(0), 1e-9);
        var last = scheduler.Sigmas[24];
        Assert.AreEqual(1 / Math.Sqrt((double)last * last + 1), scheduler.InputScale(24), 1e-7);
    }

    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(7)]
    [DataRow(14)]
    [DataRow(50)]
    public void OtherStepCountsFollowTheFormula(int steps)
    {
        var scheduler = new EulerKarrasScheduler(steps);
        var expected = FormulaSigmas(steps);
        Assert.HasCount(steps + 1, scheduler.Sigmas);
        Assert.HasCount(steps, scheduler.Timesteps);
        for (var i = 0; i <= steps; i++)
        {
            Assert.AreEqual(expected[i], scheduler.Sigmas[i], 1e-6 * expected[i], $"σ[{i}] of {steps}");
        }
        Assert.AreEqual(700f, scheduler.Sigmas[0]);
        Assert.AreEqual(steps == 1 ? 700f : 0.002f, scheduler.Sigmas[steps - 1], 1e-9f);
        Assert.AreEqual(Math.Sqrt(700.0 * 700.0 + 1), scheduler.InitNoiseSigma, 1e-4);
    }

    [TestMethod]
    public void FirstEulerStepMatchesAHandComputation()
    {
        var scheduler = new EulerKarrasScheduler(25);
        float[] x = [1f, -2f, 0.5f, 0f];
        float[] v = [0.5f, 0.25f, -1f, 3f];
        // σ = 700 → 545.729248: x̂₀ = −σ/√(σ²+1)·v + x/(σ²+1), d = (x − x̂₀)/σ, x + d·Δσ, evaluated in double.
        double[] expected = [0.6694203794534088, -1.6143239634322306, 0.6101933942521174, -0.6611596908609914];
        scheduler.Step(0, v, x);
        for (var i = 0; i < x.Length; i++)
        {
            Assert.AreEqual(expected[i], x[i], 2e-6, $"x[{i}]");
        }
    }

    [TestMethod]
    public void LastEulerStepLandsOnThePredictedCleanSample()
    {
        // σ_next = 0, so x + (x − x̂₀)/σ·(0 − σ) = x̂₀.
        var scheduler = new EulerKarrasScheduler(25);
        float[] x = [1f, -2f, 0.5f, 0f];
        float[] v = [0.5f, 0.25f, -1f, 3f];
        double[] expected = [0.9989960019681168, -2.0004919990549914, 0.5019979961028163, -0.0059999882850189975];
        scheduler.Step(24, v, x);
        for (var i = 0; i < x.Length; i++)
        {
            Assert.AreEqual(expected[i], x[i], 2e-6, $"x[{i}]");
        }
    }

    [TestMethod]
    public void EveryStepMatchesTheFormulaInDouble()
    {
        var scheduler = new EulerKarrasScheduler(6);
        var latents = TestData.Uniform(64, 3, 2f);
        var velocity = TestData.Uniform(64, 4);
        for (var step = 0; step < 6; step++)
        {
            double sigma = scheduler.Sigmas[step], next = scheduler.Sigmas[step + 1];
            var expected = latents.Select((x, i) =>
            {
                var denoised = -sigma / Math.Sqrt(sigma * sigma + 1) * velocity[i] + x / (sigma * sigma + 1);
                return (float)(x + (x - denoised) / sigma * (next - sigma));
            }).ToArray();
            scheduler.Step(step, velocity, latents);
            TestData.AssertClose(expected, latents, 1e-5f, $"step {step}");
        }
    }

    [TestMethod]
    public void ArgumentsAreValidated()
    {
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new EulerKarrasScheduler(0));
        Assert.AreEqual("steps", e.ParamName);
        var scheduler = new EulerKarrasScheduler(3);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => scheduler.InputScale(3));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => scheduler.InputScale(-1));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => scheduler.Step(3, new float[2], new float[2]));
        Assert.ThrowsExactly<ArgumentException>(() => scheduler.Step(0, new float[2], new float[3]));
    }
}
