using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.Quality;

/// <summary>
/// Machine-learning efficacy: the same FastTree model trained once on the real table and once on the synthetic one,
/// both tested on the real hold-out rows whose target is present (training rows with a missing target are dropped).
/// </summary>
internal static class EfficacyMeasure
{
    public static EfficacyQuality Measure(Table real, Table synthetic, Table holdout, string target, int seed)
    {
        var encoder = new FeatureEncoder(real, [target]);
        var (realX, realY) = Labelled(encoder, real, target);
        var (synX, synY) = Labelled(encoder, synthetic, target);
        var (testX, testY) = Labelled(encoder, holdout, target);
        if (testX.Length == 0) throw new TableInputException($"Target column '{target}': every hold-out row has it missing.");
        if (synX.Length == 0) throw new TableInputException($"Target column '{target}': every synthetic row has it missing.");
        if (real[target].Texts is not null)
        {
            // The classes of all three tables fix the key order, so a class the synthetic table lacks still counts.
            var classes = realY.Concat(synY).Concat(testY).Cast<string>().Distinct().Order(StringComparer.Ordinal).ToArray();
            var truth = testY.Cast<string>().ToArray();
            string[] Fit(float[][] x, object[] y)
            {
                var labels = y.Cast<string>().ToArray();
                return labels.Distinct().Count() == 1 ? Enumerable.Repeat(labels[0], testX.Length).ToArray()   // one class: always that class
                    : TreeModels.Classify(x, labels, testX, classes, seed);
            }
            var onReal = Fit(realX, realY);
            var onSyn = Fit(synX, synY);
            return new(target, true, Scores.Accuracy(truth, onReal), Scores.Accuracy(truth, onSyn), Scores.MacroF1(truth, onReal), Scores.MacroF1(truth, onSyn), truth.Length);
        }
        var t = testY.Cast<double>().ToArray();
        double r2Real = Scores.RSquared(t, TreeModels.Regress(realX, realY.Cast<double>().ToArray(), testX, seed));
        double r2Syn = Scores.RSquared(t, TreeModels.Regress(synX, synY.Cast<double>().ToArray(), testX, seed));
        return new(target, false, r2Real, r2Syn, double.NaN, double.NaN, t.Length);
    }

    // Encoded rows whose target is present, and their targets (string or double).
    private static (float[][] X, object[] Y) Labelled(FeatureEncoder encoder, Table table, string target)
    {
        var x = encoder.Encode(table);
        var column = table[target];
        var keep = Enumerable.Range(0, table.RowCount).Where(i => !column.IsMissing(i)).ToArray();
        return (keep.Select(i => x[i]).ToArray(), keep.Select(i => column.Texts is { } t ? (object)t[i]! : column.Numbers![i]).ToArray());
    }
}
