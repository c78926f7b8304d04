namespace Vcut.Graph.Weights;

/// <summary>
/// SplitMix64: a tiny, fully specified generator, so seeded weights are bit-identical on every machine and
/// every .NET version (unlike <see cref="System.Random"/>, whose algorithm is not a contract).
/// </summary>
internal struct SplitMix64
{
    private ulong _state;

    /// <summary>Starts the sequence at <paramref name="seed"/>.</summary>
    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform float in [-1, 1) with 24 random bits; exact in binary, so identical everywhere.</summary>
    public float NextSymmetricSingle() => (NextUInt64() >> 40) * (2f / (1 << 24)) - 1f;

    /// <summary>FNV-1a over the UTF-16 code units of <paramref name="text"/>, to derive a stream per parameter key.</summary>
    public static ulong Hash(string text)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 0x100000001B3UL;
        }
        return hash;
    }
}
