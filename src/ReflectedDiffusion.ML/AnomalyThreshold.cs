using ReflectedDiffusion.Onnx;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.ML;

/// <summary>The anomaly threshold fitted from training rows: the upper <see cref="ReflectedDiffusionOptions.FalsePositiveRate"/> quantile of their scores.</summary>
internal static class AnomalyThreshold
{
    /// <summary>At most this many training rows are scored (seeded sample): the quantile needs no more, and scoring costs.</summary>
    public const int MaximumRows = 1000;

    public static double FromTrainingRows(ScoreModel model, ReflectedDiffusionOptions options, IReadOnlyList<float[]> rows, TrainingLog log)
    {
        var sample = Enumerable.Range(0, rows.Count).OrderBy(i => CounterRng.Hash(options.Seed, 0x7A5E, (ulong)i)).Take(MaximumRows).Order().ToList();
        using var scorer = ScoringStage.Scorer(model, ScoringStage.CompileGraph(model, options, double.PositiveInfinity), options.FeatureColumnName,
            double.PositiveInfinity, (null, true));
        var scores = scorer.Score(sample.SelectMany(i => rows[i]).ToArray()).Score!;
        double threshold = Quantile(scores, 1 - options.FalsePositiveRate);
        log.Info($"Anomaly threshold {threshold:G5} on {options.ScoreColumnName}: {options.FalsePositiveRate:P1} of {sample.Count} training rows lie above it.");
        return threshold;
    }

    /// <summary>The smallest score that at most a share 1 - <paramref name="level"/> of the scores exceed.</summary>
    public static double Quantile(IReadOnlyCollection<float> scores, double level)
    {
        var sorted = scores.Order().ToArray();
        int index = System.Math.Clamp((int)System.Math.Ceiling(level * sorted.Length) - 1, 0, sorted.Length - 1);
        return sorted[index];
    }
}
