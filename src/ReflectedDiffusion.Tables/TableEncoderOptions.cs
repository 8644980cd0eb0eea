namespace ReflectedDiffusion.Tables;

/// <summary>Settings of <see cref="TableEncoder.Fit"/>.</summary>
public sealed record TableEncoderOptions
{
    /// <summary>
    /// Declared bounds per numeric column (name to lower and upper). The data must lie inside them; other numeric
    /// columns take their observed minimum and maximum.
    /// </summary>
    public IReadOnlyDictionary<string, (double Lower, double Upper)> ColumnBounds { get; init; } = new Dictionary<string, (double, double)>();

    /// <summary>
    /// Opt-in widening of observed bounds: each side moves out by this fraction of the observed range (0, the
    /// default: generated values never leave the observed range). Declared bounds are never widened.
    /// </summary>
    public double BoundsMargin { get; init; }

    /// <summary>
    /// A value that holds at least this share of a numeric column's rows (zeros, floors, caps) gets an indicator
    /// dimension of its own (when it also holds <see cref="MinPointMassRows"/> rows), so it comes back at its real
    /// rate rather than smeared by the continuous value.
    /// 1 or more turns point masses off.
    /// </summary>
    public double PointMassShare { get; init; } = 0.05;

    /// <summary>The fewest rows a point mass holds, whatever its share (in small tables every value would pass the share).</summary>
    public const int MinPointMassRows = 5;

    /// <summary>Throws naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!(BoundsMargin >= 0) || !double.IsFinite(BoundsMargin)) throw new ArgumentOutOfRangeException(nameof(BoundsMargin), BoundsMargin, "BoundsMargin must be a finite number not below 0.");
        if (!(PointMassShare > 0)) throw new ArgumentOutOfRangeException(nameof(PointMassShare), PointMassShare, "PointMassShare must be positive.");
        foreach (var (name, (lo, hi)) in ColumnBounds)
            if (!double.IsFinite(lo) || !double.IsFinite(hi) || !(lo < hi))
                throw new TableInputException($"Bounds of column '{name}': {lo}:{hi} is not a finite range with lower < upper.");
    }
}
