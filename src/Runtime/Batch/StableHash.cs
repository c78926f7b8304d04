using System.Text;

namespace Vcut.Runtime.Batch;

/// <summary>
/// Fully specified 64-bit hashes of an input's key, the same on every machine, process and .NET version
/// (unlike <see cref="string.GetHashCode()"/>, which is randomised per process): they pick each input's shard and seed.
/// </summary>
/// <remarks>
/// <c>h = FNV-1a-64(UTF-8 bytes of the key)</c> (offset basis 0xCBF29CE484222325, prime 0x100000001B3);
/// <c>mix(z)</c> is SplitMix64's output function: z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27;
/// z *= 0x94D049BB133111EB; z ^= z >> 31. Shard of a key: <c>mix(h) mod n</c>. Seed of a key:
/// <c>mix(h XOR mix(base seed + 0x9E3779B97F4A7C15))</c>, so the seed changes with the base seed and the shard does not.
/// </remarks>
internal static class StableHash
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>FNV-1a (64-bit) over the UTF-8 bytes of <paramref name="key"/>.</summary>
    public static ulong Fnv1a64(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var hash = 0xCBF29CE484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            hash = (hash ^ b) * 0x100000001B3UL;
        }
        return hash;
    }

    /// <summary>SplitMix64's output function: a bijection of 64-bit values that spreads every input bit over the output.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The seed of the video made from the input <paramref name="key"/> in a batch with <paramref name="baseSeed"/>.</summary>
    public static ulong SeedFor(ulong baseSeed, string key) => Mix(Fnv1a64(key) ^ Mix(baseSeed + Golden));

    /// <summary>The shard, in [0, <paramref name="shardCount"/>), that processes the input <paramref name="key"/>.</summary>
    public static int ShardOf(string key, int shardCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        return (int)(Mix(Fnv1a64(key)) % (ulong)shardCount);
    }
}
