using ReflectedDiffusion.Randomness;

namespace ReflectedDiffusion.Training;

/// <summary>
/// Counter-based randomness (<see cref="SplitMix64"/>): a value depends only on (seed, counters), never on call order,
/// so a step, an epoch or a row can be replayed exactly, e.g. after resuming from a checkpoint.
/// </summary>
public static class CounterRng
{
    /// <summary>A 64-bit value determined by a seed and a stream of counters.</summary>
    public static ulong Hash(ulong seed, params ReadOnlySpan<ulong> counters)
    {
        const ulong gamma = SplitMix64.Gamma;
        ulong h = SplitMix64.Mix(seed + gamma);
        foreach (var c in counters) h = SplitMix64.Mix(h ^ (c + gamma) * gamma);
        return h;
    }

    /// <summary>A seed for torch generators (which take a non-negative 63-bit value).</summary>
    public static long TorchSeed(ulong seed, params ReadOnlySpan<ulong> counters) => (long)(Hash(seed, counters) >> 1);

    /// <summary>A double uniform in [0, 1) from the top 53 bits.</summary>
    public static double Uniform(ulong bits) => (bits >> SplitMix64.UniformShift) * SplitMix64.UniformScale;
}
