namespace ReflectedDiffusion.Randomness;

/// <summary>
/// SplitMix64's constants and the counter layout built on them: the one source for the scalar hash
/// (<see cref="Training.CounterRng"/>), the tensor noise (<see cref="Sampling.CounterNoise"/>) and the ONNX
/// generation graph, which must agree bit for bit.
/// </summary>
public static class SplitMix64
{
    /// <summary>The golden-ratio increment (2^64 / phi, odd) that spaces consecutive counters.</summary>
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;
    /// <summary>Multiplier of the finaliser's first round.</summary>
    public const ulong Mix1 = 0xBF58476D1CE4E5B9UL;
    /// <summary>Multiplier of the finaliser's second round.</summary>
    public const ulong Mix2 = 0x94D049BB133111EBUL;
    /// <summary>Right shift before the first multiplication.</summary>
    public const int Shift1 = 30;
    /// <summary>Right shift before the second multiplication.</summary>
    public const int Shift2 = 27;
    /// <summary>Right shift of the final xor.</summary>
    public const int Shift3 = 31;

    /// <summary>
    /// Multiplier of a row seed in a counter-noise state, rowSeed * RowSeedMultiplier + counter * Gamma: a second odd
    /// constant, so rows and counters do not share one arithmetic progression.
    /// </summary>
    public const ulong RowSeedMultiplier = 0xD1B54A32D192ED03UL;
    /// <summary>Counter-noise steps per stream: the counter base of (stream, step) is (stream * StreamStride + step) * columns.</summary>
    public const long StreamStride = 1_000_003;
    /// <summary>Salt of the row seeds: row i of a run seeded s has seed CounterRng.Hash(s, RowSeedSalt, i).</summary>
    public const ulong RowSeedSalt = 0x5A3F1E;
    /// <summary>A uniform double keeps a word's top 53 bits: (bits &gt;&gt; UniformShift) * UniformScale lies in [0, 1).</summary>
    public const int UniformShift = 11;
    /// <summary>2^-53, the spacing of the uniform doubles.</summary>
    public const double UniformScale = 1.0 / (1UL << 53);

    /// <summary>The SplitMix64 finaliser of <paramref name="z"/>.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> Shift1)) * Mix1;
        z = (z ^ (z >> Shift2)) * Mix2;
        return z ^ (z >> Shift3);
    }

    /// <summary>
    /// The counter before column 1 of (stream, step) in a row of <paramref name="columns"/> numbers: column j
    /// (1-based) uses counter CounterBase + j, so distinct (stream, step, column) never share a counter in practice.
    /// Wraps around in 64 bits.
    /// </summary>
    public static long CounterBase(long stream, long step, long columns) => unchecked((stream * StreamStride + step) * columns);
}
