using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sde;

/// <summary>
/// Per-feature box [lo, hi] mapped affinely onto the unit box. Densities in the user's units pick up
/// <see cref="LogDensityOffset"/> = -sum(log(hi - lo)).
/// </summary>
public sealed class BoxBounds
{
    /// <summary>Creates bounds; every lo must be finite and strictly below its finite hi.</summary>
    public BoxBounds(IReadOnlyList<double> lower, IReadOnlyList<double> upper)
    {
        ArgumentNullException.ThrowIfNull(lower);
        ArgumentNullException.ThrowIfNull(upper);
        if (lower.Count != upper.Count)
            throw new ArgumentException($"Lower bounds have {lower.Count} features but upper bounds have {upper.Count}.", nameof(upper));
        if (lower.Count == 0)
            throw new ArgumentException("Bounds need at least one feature.", nameof(lower));
        for (int j = 0; j < lower.Count; j++)
        {
            if (!double.IsFinite(lower[j]) || !double.IsFinite(upper[j]) || !(upper[j] > lower[j]))
                throw new ArgumentOutOfRangeException(nameof(upper), $"Feature {j}: bounds [{lower[j]}, {upper[j]}] must be finite with lower < upper.");
        }
        Lower = lower.ToArray();
        Upper = upper.ToArray();
        LogDensityOffset = -Lower.Zip(Upper, (lo, hi) => System.Math.Log(hi - lo)).Sum();
    }

    /// <summary>The unit box [0,1]^d.</summary>
    public static BoxBounds Unit(int dimension) => new(Enumerable.Repeat(0.0, dimension).ToArray(), Enumerable.Repeat(1.0, dimension).ToArray());

    /// <summary>Per-feature minimum and maximum of the rows (a constant feature gets a unit-wide box around its value).</summary>
    public static BoxBounds FromData(IEnumerable<float[]> rows)
    {
        double[]? lo = null, hi = null;
        long row = 0;
        foreach (var r in rows)
        {
            lo ??= Enumerable.Repeat(double.PositiveInfinity, r.Length).ToArray();
            hi ??= Enumerable.Repeat(double.NegativeInfinity, r.Length).ToArray();
            if (r.Length != lo.Length)
                throw new ArgumentException($"Row {row} has {r.Length} features; earlier rows have {lo.Length}.");
            for (int j = 0; j < r.Length; j++)
            {
                if (!float.IsFinite(r[j]))
                    throw new ArgumentException($"Row {row}, feature {j}: value {r[j]} is not finite.");
                lo[j] = System.Math.Min(lo[j], r[j]);
                hi[j] = System.Math.Max(hi[j], r[j]);
            }
            row++;
        }
        if (lo is null || hi is null)
            throw new ArgumentException("Bounds from data need at least one row.");
        for (int j = 0; j < lo.Length; j++)
        {
            if (hi[j] <= lo[j]) { lo[j] -= 0.5; hi[j] += 0.5; }
        }
        return new BoxBounds(lo, hi);
    }

    /// <summary>Lower bound per feature.</summary>
    public double[] Lower { get; }
    /// <summary>Upper bound per feature.</summary>
    public double[] Upper { get; }
    /// <summary>Number of features.</summary>
    public int Dimension => Lower.Length;
    /// <summary>-sum(log(hi - lo)): add to a unit-box log-density to get the density in the user's units.</summary>
    public double LogDensityOffset { get; }

    /// <summary>Maps values in the user's units (last axis = features) to the unit box.</summary>
    public Tensor ToUnit(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (lo, width) = Affine(x);
        return ((x - lo) / width).MoveToOuterDisposeScope();
    }

    /// <summary>Maps unit-box values (last axis = features) back to the user's units.</summary>
    public Tensor FromUnit(Tensor u)
    {
        using var scope = NewDisposeScope();
        var (lo, width) = Affine(u);
        return (lo + u * width).MoveToOuterDisposeScope();
    }

    /// <summary>Throws naming the first row and feature that is not finite or lies outside the bounds.</summary>
    public void Validate(ReadOnlySpan<float> row, long rowIndex)
    {
        if (row.Length != Dimension)
            throw new ArgumentException($"Row {rowIndex} has {row.Length} features; the bounds have {Dimension}.");
        for (int j = 0; j < row.Length; j++)
        {
            float v = row[j];
            if (!float.IsFinite(v))
                throw new ArgumentException($"Row {rowIndex}, feature {j}: value {v} is not finite.");
            if (v < Lower[j] || v > Upper[j])
                throw new ArgumentOutOfRangeException(nameof(row), v, $"Row {rowIndex}, feature {j}: value {v} lies outside the bounds [{Lower[j]}, {Upper[j]}].");
        }
    }

    private (Tensor Lo, Tensor Width) Affine(Tensor like)
    {
        if (like.shape[^1] != Dimension)
            throw new ArgumentException($"Expected {Dimension} features on the last axis, got {like.shape[^1]}.");
        var lo = torch.tensor(Lower, dtype: like.dtype, device: like.device);
        var width = torch.tensor(Upper.Zip(Lower, (h, l) => h - l).ToArray(), dtype: like.dtype, device: like.device);
        return (lo, width);
    }
}
