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
        Width = Upper.Zip(Lower, (hi, lo) => hi - lo).ToArray();
        LogDensityOffset = -Width.Sum(System.Math.Log);
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
    /// <summary>hi - lo per feature: the scale of the map from the unit box.</summary>
    public double[] Width { get; }
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

    /// <summary>
    /// Maps one row in the user's units to the unit box: (x - lo) / (hi - lo) in double, rounded to float and clamped
    /// into [0, 1] (rounding at a face can land a hair outside).
    /// </summary>
    public void ToUnit(ReadOnlySpan<float> row, Span<float> unit)
    {
        if (row.Length != Dimension || unit.Length != Dimension)
            throw new ArgumentException($"Expected rows of {Dimension} features; got {row.Length} in and {unit.Length} out.");
        // Min/Max rather than Clamp: Max also turns -0 into +0, so the training data keep the bits they always had.
        for (int j = 0; j < row.Length; j++)
            unit[j] = System.Math.Min(1f, System.Math.Max(0f, (float)((row[j] - Lower[j]) / Width[j])));
    }

    /// <summary>
    /// Checks every row (<see cref="Validate"/>) and maps it to the unit box (<see cref="ToUnit(ReadOnlySpan{float}, Span{float})"/>),
    /// row-major [rows.Count * <see cref="Dimension"/>], e.g. for a training tensor.
    /// </summary>
    public float[] ToUnitRows(IReadOnlyList<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var unit = new float[rows.Count * (long)Dimension];
        for (int i = 0; i < rows.Count; i++)
        {
            Validate(rows[i], i);
            ToUnit(rows[i], unit.AsSpan(i * Dimension, Dimension));
        }
        return unit;
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
        var width = torch.tensor(Width, dtype: like.dtype, device: like.device);
        return (lo, width);
    }
}
