using ReflectedDiffusion.Randomness;
using DataType = Onnx.TensorProto.Types.DataType;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// <see cref="Sampling.CounterNoise"/> as graph nodes on uint64 row seeds, with the constants and counter layout of
/// <see cref="SplitMix64"/>, so a graph draws the same numbers as TorchSharp bit for bit.
/// </summary>
internal static class CounterNoiseGraph
{
    /// <summary>
    /// CounterNoise.Uniform: SplitMix64(seed * RowSeedMultiplier + (base + column) * Gamma), top 53 bits as a double
    /// in [0, 1); <paramref name="seeds"/> is uint64 [N, 1], the result double [N, columns].
    /// </summary>
    public static string Uniform(GraphBuilder g, string seeds, long stream, long step, int columns)
    {
        ulong counterBase = unchecked((ulong)SplitMix64.CounterBase(stream, step, columns));
        var column = Enumerable.Range(1, columns).Select(j => unchecked(counterBase + (ulong)j)).ToArray();
        var colTerm = g.Mul(g.UInt64(column), g.UInt64(SplitMix64.Gamma));
        var state = g.Add(g.Mul(seeds, g.UInt64(SplitMix64.RowSeedMultiplier)), colTerm);
        var top = ShiftRight(g, Mix(g, state), SplitMix64.UniformShift);
        return g.Mul(g.Cast(top, DataType.Double), g.Double(SplitMix64.UniformScale));
    }

    private static string Mix(GraphBuilder g, string z)
    {
        z = g.Mul(g.Op("BitwiseXor", z, ShiftRight(g, z, SplitMix64.Shift1)), g.UInt64(SplitMix64.Mix1));
        z = g.Mul(g.Op("BitwiseXor", z, ShiftRight(g, z, SplitMix64.Shift2)), g.UInt64(SplitMix64.Mix2));
        return g.Op("BitwiseXor", z, ShiftRight(g, z, SplitMix64.Shift3));
    }

    private static string ShiftRight(GraphBuilder g, string z, int k) => g.OpWith("BitShift", [z, g.UInt64((ulong)k)], [GraphBuilder.Str("direction", "RIGHT")]);
}
