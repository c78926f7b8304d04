namespace Vcut.Runtime.Scheduling;

/// <summary>
/// SVD's scheduler (docs/svd.md §7 step 5): diffusers' <c>EulerDiscreteScheduler</c> as SVD configures it — Karras sigmas
/// between 700 and 0.002 with ρ = 7, v-prediction, continuous timesteps 0.25·ln σ, no stochastic churn.
/// </summary>
/// <remarks>
/// Sigmas are computed in double and stored as float, as diffusers computes them in numpy float64 and casts to
/// float32; everything after that (timesteps, scalings, the Euler step) is float arithmetic in diffusers' order.
/// </remarks>
public sealed class EulerKarrasScheduler
{
    /// <summary>The largest noise level, σ at the first step.</summary>
    public const double SigmaMax = 700.0;

    /// <summary>The smallest non-zero noise level, σ at the last step.</summary>
    public const double SigmaMin = 0.002;

    /// <summary>Karras' ρ: spaces the steps evenly in σ^(1/ρ), so more of them fall at low noise.</summary>
    public const double Rho = 7.0;

    private readonly float[] _sigmas;
    private readonly float[] _timesteps;

    /// <summary>Creates the schedule for <paramref name="steps"/> denoising steps.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is below 1.</exception>
    public EulerKarrasScheduler(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        StepCount = steps;
        _sigmas = new float[steps + 1];
        var maxInverse = Math.Pow(SigmaMax, 1.0 / Rho);
        var minInverse = Math.Pow(SigmaMin, 1.0 / Rho);
        // numpy's linspace(0, 1, n): i·(1/(n − 1)) with the last point exactly 1; a single step sits at σ_max.
        var increment = steps > 1 ? 1.0 / (steps - 1) : 0.0;
        for (var i = 0; i < steps; i++)
        {
            var ramp = steps > 1 && i == steps - 1 ? 1.0 : i * increment;
            _sigmas[i] = (float)Math.Pow(maxInverse + ramp * (minInverse - maxInverse), Rho);
        }
        _sigmas[steps] = 0f;
        _timesteps = new float[steps];
        for (var i = 0; i < steps; i++)
        {
            _timesteps[i] = 0.25f * MathF.Log(_sigmas[i]);
        }
        var first = _sigmas[0];
        InitNoiseSigma = MathF.Sqrt(first * first + 1f);
    }

    /// <summary>The number of denoising steps.</summary>
    public int StepCount { get; }

    /// <summary>σ for each step, then a final 0: <see cref="StepCount"/> + 1 values, decreasing.</summary>
    public IReadOnlyList<float> Sigmas => _sigmas;

    /// <summary>The timestep given to the UNet at each step: 0.25·ln σ (<see cref="StepCount"/> values).</summary>
    public IReadOnlyList<float> Timesteps => _timesteps;

    /// <summary>The scale of the initial noise, √(σ_max² + 1): latents start as standard normal noise times this.</summary>
    public float InitNoiseSigma { get; }

    /// <summary>The factor the latents are multiplied by before the UNet at <paramref name="step"/>: 1/√(σ² + 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is not in [0, <see cref="StepCount"/>).</exception>
    public float InputScale(int step)
    {
        var sigma = SigmaAt(step);
        return 1f / MathF.Sqrt(sigma * sigma + 1f);
    }

    /// <summary>
    /// One Euler step from σ(<paramref name="step"/>) to σ(<paramref name="step"/> + 1), in place on <paramref name="latents"/>,
    /// given the UNet's v-prediction (after guidance): x̂₀ = −σ/√(σ²+1)·v + x/(σ²+1); d = (x − x̂₀)/σ; x ← x + d·(σ_next − σ).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is not in [0, <see cref="StepCount"/>).</exception>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    public void Step(int step, ReadOnlySpan<float> velocity, Span<float> latents)
    {
        var sigma = SigmaAt(step);
        if (velocity.Length != latents.Length)
        {
            throw new ArgumentException($"Velocity has {velocity.Length} values but the latents have {latents.Length}.", nameof(velocity));
        }
        var sigmaSquaredPlusOne = sigma * sigma + 1f;
        var outputScale = -sigma / MathF.Sqrt(sigmaSquaredPlusOne);
        var dt = _sigmas[step + 1] - sigma;
        for (var i = 0; i < latents.Length; i++)
        {
            var x = latents[i];
            var denoised = velocity[i] * outputScale + x / sigmaSquaredPlusOne;
            var derivative = (x - denoised) / sigma;
            latents[i] = x + derivative * dt;
        }
    }

    private float SigmaAt(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(step, StepCount);
        return _sigmas[step];
    }
}
