namespace ReflectedDiffusion.Training;

/// <summary>
/// Counter-based randomness (SplitMix64): a value depends only on (seed, counters), never on call order,
/// so a step, an epoch or a row can be replayed exactly, e.g. after resuming from a checkpoint.
/// </summary>
public static class CounterRng
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    /// <summary>The SplitMix64 finaliser of <paramref name="z"/>.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A 64-bit value determined by a seed and a stream of counters.</summary>
    public static ulong Hash(ulong seed, params ReadOnlySpan<ulong> counters)
    {
        ulong h = Mix(seed + Gamma);
        foreach (var c in counters) h = Mix(h ^ (c + Gamma) * Gamma);
        return h;
    }

    /// <summary>A seed for torch generators (which take a non-negative 63-bit value).</summary>
    public static long TorchSeed(ulong seed, params ReadOnlySpan<ulong> counters) => (long)(Hash(seed, counters) >> 1);

    /// <summary>A double uniform in [0, 1) from the top 53 bits.</summary>
    public static double Uniform(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));
}
