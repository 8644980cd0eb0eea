using ReflectedDiffusion.Randomness;
using ReflectedDiffusion.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sampling;

/// <summary>
/// Counter-based noise on tensors: every number is SplitMix64 of (row seed, stream, step, column), so a row's
/// noise depends on its own seed only, never on the batch it sits in, its position or the thread. The same
/// arithmetic (wrapping 64-bit multiply, logical shifts, xor) maps one to one onto ONNX uint64 operators; the
/// constants and the counter layout live in <see cref="SplitMix64"/>.
/// </summary>
public static class CounterNoise
{
    // torch has no uint64 arithmetic: the same bits as int64, where multiplication wraps identically.
    private const long Gamma = unchecked((long)SplitMix64.Gamma);
    private const long RowSeedMultiplier = unchecked((long)SplitMix64.RowSeedMultiplier);
    private const long Mix1 = unchecked((long)SplitMix64.Mix1);
    private const long Mix2 = unchecked((long)SplitMix64.Mix2);

    /// <summary>Per-row seeds for rows first..first+count-1 of a run seeded with <paramref name="seed"/>.</summary>
    public static Tensor RowSeeds(ulong seed, long first, long count)
    {
        var seeds = new long[count];
        for (long i = 0; i < count; i++) seeds[i] = (long)CounterRng.Hash(seed, SplitMix64.RowSeedSalt, (ulong)(first + i));
        return torch.tensor(seeds);
    }

    /// <summary>Raw 64-bit words [B, columns] for (row seed, stream, step).</summary>
    public static Tensor Bits(Tensor rowSeeds, long stream, long step, long columns)
    {
        using var scope = NewDisposeScope();
        var column = torch.arange(1, columns + 1, dtype: int64, device: rowSeeds.device) + SplitMix64.CounterBase(stream, step, columns);
        var state = rowSeeds.to(int64).unsqueeze(1) * RowSeedMultiplier + column.unsqueeze(0) * Gamma;
        return Mix(state).MoveToOuterDisposeScope();
    }

    /// <summary>Uniform numbers in [0, 1) [B, columns] (float64, 53 random bits each).</summary>
    public static Tensor Uniform(Tensor rowSeeds, long stream, long step, long columns)
    {
        using var scope = NewDisposeScope();
        var bits = ShiftRightLogical(Bits(rowSeeds, stream, step, columns), SplitMix64.UniformShift);
        return (bits.to(float64) * SplitMix64.UniformScale).MoveToOuterDisposeScope();
    }

    /// <summary>Standard normal numbers [B, columns] (float64) by Box-Muller on two uniform streams.</summary>
    public static Tensor Normal(Tensor rowSeeds, long stream, long step, long columns)
    {
        using var scope = NewDisposeScope();
        var u1 = 1 - Uniform(rowSeeds, 2 * stream, step, columns);   // (0, 1]: log is finite
        var u2 = Uniform(rowSeeds, 2 * stream + 1, step, columns);
        return (torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * System.Math.PI * u2)).MoveToOuterDisposeScope();
    }

    /// <summary>Rademacher signs (+1 or -1) [B, columns] (float64).</summary>
    public static Tensor Rademacher(Tensor rowSeeds, long stream, long step, long columns)
    {
        using var scope = NewDisposeScope();
        var top = ShiftRightLogical(Bits(rowSeeds, stream, step, columns), 63);
        return (1 - 2 * top.to(float64)).MoveToOuterDisposeScope();
    }

    private static Tensor Mix(Tensor z)
    {
        z = (z ^ ShiftRightLogical(z, SplitMix64.Shift1)) * Mix1;
        z = (z ^ ShiftRightLogical(z, SplitMix64.Shift2)) * Mix2;
        return z ^ ShiftRightLogical(z, SplitMix64.Shift3);
    }

    // torch shifts int64 arithmetically; mask off the copies of the sign bit.
    private static Tensor ShiftRightLogical(Tensor z, int k) => z.bitwise_right_shift(k) & ((1L << (64 - k)) - 1);
}
