namespace ReflectedDiffusion.Quality;

/// <summary>How often a numeric column sits on (or past) the real column's observed minimum and maximum.</summary>
/// <param name="AtMin">Share of the non-missing values equal to the real minimum (within <see cref="ColumnMetrics.BoundaryTolerance"/> of the range).</param>
/// <param name="AtMax">Share of the non-missing values equal to the real maximum.</param>
/// <param name="BelowMin">Share of the non-missing values below the real minimum: outside the observed range.</param>
/// <param name="AboveMax">Share of the non-missing values above the real maximum.</param>
public readonly record struct BoundaryShares(double AtMin, double AtMax, double BelowMin, double AboveMax)
{
    /// <summary>Share of values outside the real observed range, on either side.</summary>
    public double Outside => BelowMin + AboveMax;
}

/// <summary>
/// One-column comparisons of a real and a synthetic column. Missing values (NaN, null) are left out of the shapes and
/// counted by <c>MissingRate</c>; a column with no value left gives NaN, never a made-up score.
/// </summary>
public static class ColumnMetrics
{
    /// <summary>
    /// Values within this fraction of the real range of a bound count as on it: synthetic values pass through float32
    /// and text, so equality to the last bit would miss clipped values.
    /// </summary>
    public const double BoundaryTolerance = 1e-6;

    /// <summary>
    /// The two-sample Kolmogorov-Smirnov statistic: the largest gap between the two empirical distribution functions,
    /// in [0, 1]. NaN values are ignored.
    /// </summary>
    public static double KolmogorovSmirnov(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        var x = Present(a);
        var y = Present(b);
        if (x.Length == 0 || y.Length == 0) return double.NaN;
        Array.Sort(x);
        Array.Sort(y);
        int i = 0, j = 0;
        double gap = 0;
        // Step over every distinct value in both samples together, so ties move both functions before comparing.
        while (i < x.Length && j < y.Length)
        {
            double v = Math.Min(x[i], y[j]);
            while (i < x.Length && x[i] == v) i++;
            while (j < y.Length && y[j] == v) j++;
            gap = Math.Max(gap, Math.Abs((double)i / x.Length - (double)j / y.Length));
        }
        return gap;
    }

    /// <summary>
    /// Total variation distance between the category frequencies of two columns: half the sum over categories of the
    /// absolute difference in shares, in [0, 1]. Missing (null) values are ignored.
    /// </summary>
    public static double TotalVariation(IReadOnlyList<string?> a, IReadOnlyList<string?> b)
    {
        var p = Frequencies(a);
        var q = Frequencies(b);
        if (p.Count == 0 || q.Count == 0) return double.NaN;
        return 0.5 * p.Keys.Union(q.Keys).Sum(k => Math.Abs(p.GetValueOrDefault(k) - q.GetValueOrDefault(k)));
    }

    /// <summary>The share of each category among the non-missing values.</summary>
    public static Dictionary<string, double> Frequencies(IReadOnlyList<string?> values)
    {
        var counts = new Dictionary<string, double>(StringComparer.Ordinal);
        int n = 0;
        foreach (var v in values)
        {
            if (v is null) continue;
            counts[v] = counts.GetValueOrDefault(v) + 1;
            n++;
        }
        foreach (var k in counts.Keys) counts[k] /= n;
        return counts;
    }

    /// <summary>
    /// Shares of <paramref name="values"/> on and past the observed minimum and maximum of <paramref name="real"/>.
    /// The pile-up at the bounds that clipping causes shows as <see cref="BoundaryShares.AtMin"/> and
    /// <see cref="BoundaryShares.AtMax"/> far above the real column's own.
    /// </summary>
    public static BoundaryShares Boundaries(IReadOnlyList<double> real, IReadOnlyList<double> values)
    {
        var r = Present(real);
        var v = Present(values);
        if (r.Length == 0 || v.Length == 0) return new(double.NaN, double.NaN, double.NaN, double.NaN);
        double min = r.Min(), max = r.Max();
        double tol = BoundaryTolerance * (max - min);
        double n = v.Length;
        return new(
            v.Count(x => Math.Abs(x - min) <= tol) / n,
            v.Count(x => Math.Abs(x - max) <= tol) / n,
            v.Count(x => x < min - tol) / n,
            v.Count(x => x > max + tol) / n);
    }

    /// <summary>Share of NaN values.</summary>
    public static double MissingRate(IReadOnlyList<double> values) => values.Count == 0 ? double.NaN : (double)values.Count(double.IsNaN) / values.Count;

    /// <summary>Share of null values.</summary>
    public static double MissingRate(IReadOnlyList<string?> values) => values.Count == 0 ? double.NaN : (double)values.Count(v => v is null) / values.Count;

    internal static double[] Present(IReadOnlyList<double> values) => values.Where(v => !double.IsNaN(v)).ToArray();
}
