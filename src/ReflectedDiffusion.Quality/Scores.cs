namespace ReflectedDiffusion.Quality;

/// <summary>The plain-array figures behind the efficacy section: accuracy, macro-F1, R squared.</summary>
public static class Scores
{
    /// <summary>Share of rows whose predicted class equals the true one.</summary>
    public static double Accuracy<T>(IReadOnlyList<T> truth, IReadOnlyList<T> predicted) where T : IEquatable<T>
    {
        SameLength(truth.Count, predicted.Count);
        return truth.Count == 0 ? double.NaN : (double)truth.Where((t, i) => t.Equals(predicted[i])).Count() / truth.Count;
    }

    /// <summary>
    /// The unweighted mean over the classes present in <paramref name="truth"/> of F1 = 2 TP / (2 TP + FP + FN); a
    /// class never predicted scores 0. Classes predicted but absent from the truth add to the false positives only.
    /// </summary>
    public static double MacroF1<T>(IReadOnlyList<T> truth, IReadOnlyList<T> predicted) where T : IEquatable<T>
    {
        SameLength(truth.Count, predicted.Count);
        var classes = truth.Distinct().ToArray();
        if (classes.Length == 0) return double.NaN;
        double sum = 0;
        foreach (var c in classes)
        {
            int tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < truth.Count; i++)
            {
                bool p = predicted[i].Equals(c), t = truth[i].Equals(c);
                if (p && t) tp++;
                else if (p) fp++;
                else if (t) fn++;
            }
            sum += 2.0 * tp / (2 * tp + fp + fn);
        }
        return sum / classes.Length;
    }

    /// <summary>Coefficient of determination 1 - SS_res / SS_tot against the mean of <paramref name="truth"/>.</summary>
    public static double RSquared(IReadOnlyList<double> truth, IReadOnlyList<double> predicted)
    {
        SameLength(truth.Count, predicted.Count);
        if (truth.Count == 0) return double.NaN;
        double mean = truth.Average();
        double res = truth.Select((t, i) => (t - predicted[i]) * (t - predicted[i])).Sum();
        double tot = truth.Sum(t => (t - mean) * (t - mean));
        return tot == 0 ? double.NaN : 1 - res / tot;
    }

    /// <summary>The <paramref name="q"/>-quantile (0..1) by linear interpolation between order statistics.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToArray();
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }

    private static void SameLength(int a, int b)
    {
        if (a != b) throw new ArgumentException($"{a} true values and {b} predictions.");
    }
}
