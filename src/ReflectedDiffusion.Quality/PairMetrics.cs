namespace ReflectedDiffusion.Quality;

/// <summary>
/// Dependence between two columns: Pearson correlation for two numeric columns, the joint category frequencies
/// (a contingency table) otherwise. Rows where either value is missing are left out.
/// </summary>
public static class PairMetrics
{
    /// <summary>Pearson's correlation over the rows where both values are present; NaN when either has no spread.</summary>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"The columns have {x.Count} and {y.Count} rows.", nameof(y));
        double sx = 0, sy = 0;
        int n = 0;
        for (int i = 0; i < x.Count; i++)
            if (!double.IsNaN(x[i]) && !double.IsNaN(y[i])) { sx += x[i]; sy += y[i]; n++; }
        if (n < 2) return double.NaN;
        double mx = sx / n, my = sy / n, cxy = 0, cxx = 0, cyy = 0;
        for (int i = 0; i < x.Count; i++)
        {
            if (double.IsNaN(x[i]) || double.IsNaN(y[i])) continue;
            double dx = x[i] - mx, dy = y[i] - my;
            cxy += dx * dy; cxx += dx * dx; cyy += dy * dy;
        }
        return cxx == 0 || cyy == 0 ? double.NaN : cxy / Math.Sqrt(cxx * cyy);
    }

    /// <summary>
    /// Total variation distance between the joint category frequencies of (<paramref name="a1"/>, <paramref name="b1"/>)
    /// and (<paramref name="a2"/>, <paramref name="b2"/>): half the summed absolute difference over the cells of the
    /// contingency table, in [0, 1].
    /// </summary>
    public static double ContingencyDistance(IReadOnlyList<string?> a1, IReadOnlyList<string?> b1, IReadOnlyList<string?> a2, IReadOnlyList<string?> b2)
        => ColumnMetrics.TotalVariation(Joint(a1, b1), Joint(a2, b2));

    /// <summary>
    /// A numeric column as categories for the contingency of a mixed pair: <paramref name="bins"/> equal-width bins over
    /// [<paramref name="min"/>, <paramref name="max"/>] (the real column's range); values past either end fall in the end
    /// bin (the boundary shares report them separately); NaN stays missing.
    /// </summary>
    public static string?[] Discretize(IReadOnlyList<double> values, double min, double max, int bins)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bins, 1);
        var result = new string?[values.Count];
        double width = max > min ? (max - min) / bins : 1;
        for (int i = 0; i < values.Count; i++)
        {
            if (double.IsNaN(values[i])) continue;
            int k = (int)Math.Floor((values[i] - min) / width);
            result[i] = "bin" + Math.Clamp(k, 0, bins - 1);
        }
        return result;
    }

    // A pair of categories as one category; a row with either value missing is missing.
    private static string?[] Joint(IReadOnlyList<string?> a, IReadOnlyList<string?> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"The columns have {a.Count} and {b.Count} rows.", nameof(b));
        return a.Select((v, i) => v is null || b[i] is null ? null : v + "\u001f" + b[i]).ToArray();
    }
}
