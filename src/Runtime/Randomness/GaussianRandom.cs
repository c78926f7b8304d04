using Vcut.Graph.Weights;

namespace Vcut.Runtime.Randomness;

/// <summary>
/// Seeded standard normal numbers, fully specified so a seed means the same noise on every .NET version: SplitMix64
/// supplies 64-bit words, and each pair of words becomes two normals by the Box–Muller transform in double,
/// z₀ = √(−2 ln u₁)·cos(2π u₂), z₁ = √(−2 ln u₁)·sin(2π u₂), with u₁ = (top 53 bits + 1)/2⁵³ ∈ (0, 1] (so ln u₁ is
/// finite) and u₂ = (top 53 bits)/2⁵³ ∈ [0, 1). z₀ comes out first, then z₁.
/// </summary>
/// <remarks>
/// The values form one stream: filling 10 values and then 20 gives the same 30 numbers as filling 30 at once.
/// They are not torch's <c>randn</c> (no seed reproduces that outside torch). The double-precision math functions
/// may differ in the last bit between C libraries; after rounding to float such a difference almost never shows.
/// Not thread-safe.
/// </remarks>
internal sealed class GaussianRandom
{
    private const double TwoToMinus53 = 1.0 / (1UL << 53);

    private SplitMix64 _bits;
    private double _spare;
    private bool _hasSpare;

    /// <summary>Starts the stream for <paramref name="seed"/>.</summary>
    public GaussianRandom(ulong seed)
    {
        Seed = seed;
        _bits = new SplitMix64(seed);
    }

    /// <summary>The seed the stream started from.</summary>
    public ulong Seed { get; }

    /// <summary>The next standard normal number.</summary>
    public double NextDouble()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spare;
        }
        var u1 = ((_bits.NextUInt64() >> 11) + 1) * TwoToMinus53;
        var u2 = (_bits.NextUInt64() >> 11) * TwoToMinus53;
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        var angle = 2.0 * Math.PI * u2;
        _spare = radius * Math.Sin(angle);
        _hasSpare = true;
        return radius * Math.Cos(angle);
    }

    /// <summary>Fills <paramref name="destination"/> with the next standard normal numbers, rounded to float.</summary>
    public void Fill(Span<float> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = (float)NextDouble();
        }
    }
}
