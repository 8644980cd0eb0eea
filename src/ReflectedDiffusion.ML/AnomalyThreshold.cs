using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.ML;

/// <summary>
/// The anomaly score's settings fitted from training rows: the tail bandwidth outside the bounds and the threshold, the
/// upper <see cref="ReflectedDiffusionOptions.FalsePositiveRate"/> quantile of the training rows' scores.
/// </summary>
internal static class AnomalyThreshold
{
    /// <summary>
    /// Silverman's rule of thumb, 1.06 sd n^(-1/5), for a feature spread evenly over its range (sd = 1/sqrt 12 in
    /// unit-box coordinates), never below the model's smallest noise level.
    /// </summary>
    public static double TailBandwidth(long rows, double sigmaMin)
        => System.Math.Max(sigmaMin, 1.06 / System.Math.Sqrt(12) * System.Math.Pow(System.Math.Max(rows, 1), -0.2));

    /// <summary>At most this many training rows are scored (a seeded sample, <see cref="RowScan.ThresholdSample"/>): the quantile needs no more, and scoring costs.</summary>
    public const int MaximumRows = 1000;

    /// <summary>The threshold from the scores of <paramref name="sample"/>, training rows in the user's units.</summary>
    public static double FromTrainingRows(ScoreModel model, ReflectedDiffusionOptions options, double tailBandwidth, IReadOnlyList<float[]> sample, TrainingLog log)
    {
        var anomaly = ScoringStage.Anomaly(double.PositiveInfinity, tailBandwidth);
        using var scorer = ScoringStage.Scorer(model, ScoringStage.CompileGraph(model, options, anomaly), options.FeatureColumnName, anomaly, (null, true));
        var scores = scorer.Score(sample.SelectMany(r => r).ToArray()).Score!;
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
