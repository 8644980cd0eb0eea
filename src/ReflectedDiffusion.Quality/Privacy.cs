using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.Quality;

/// <summary>
/// Distances between rows of two tables with the same columns (Gower's distance): the mean over columns of
/// |a - b| / range for numeric columns (the range of the training table; 0 where it has none), 0 or 1 for categorical
/// columns (equal or not); a missing value is 0 from another missing value and 1 from any value.
/// </summary>
public sealed class RowDistance
{
    private readonly string[] _names;
    private readonly double[] _range;

    /// <summary>Distances scaled by the ranges of <paramref name="training"/>'s numeric columns.</summary>
    public RowDistance(Table training)
    {
        _names = training.Names.ToArray();
        _range = training.Columns.Select(c => c.Numbers is { } n && n.Any(v => !double.IsNaN(v))
            ? n.Where(v => !double.IsNaN(v)).Max() - n.Where(v => !double.IsNaN(v)).Min() : 0).ToArray();
    }

    /// <summary>For each row of <paramref name="rows"/>, the distance to its closest row of <paramref name="training"/>.</summary>
    public double[] ToClosest(Table rows, Table training)
    {
        var a = _names.Select(n => rows[n]).ToArray();
        var b = _names.Select(n => training[n]).ToArray();
        var result = new double[rows.RowCount];
        for (int i = 0; i < result.Length; i++)
        {
            double best = double.PositiveInfinity;
            for (int k = 0; k < training.RowCount && best > 0; k++)
            {
                double d = 0;
                for (int j = 0; j < a.Length && d < best * a.Length; j++) d += Column(a[j], i, b[j], k, _range[j]);
                best = Math.Min(best, d / a.Length);
            }
            result[i] = best;
        }
        return result;
    }

    private static double Column(TableColumn a, int i, TableColumn b, int k, double range)
    {
        bool ma = a.IsMissing(i), mb = b.IsMissing(k);
        if (ma || mb) return ma && mb ? 0 : 1;
        if (a.Texts is { } ta) return ta[i] == b.Texts![k] ? 0 : 1;
        double diff = Math.Abs(a.Numbers![i] - b.Numbers![k]);
        return range > 0 ? diff / range : diff > 0 ? 1 : 0;
    }
}
