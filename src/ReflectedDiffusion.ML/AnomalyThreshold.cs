using ReflectedDiffusion.Density;
using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.ML;

/// <summary>
/// The anomaly score's settings fitted from training rows: the tail bandwidth outside the bounds, the multiscale
/// score's reference (<see cref="MultiscaleProfile"/>), and the threshold, the upper
/// <see cref="ReflectedDiffusionOptions.FalsePositiveRate"/> quantile of the training rows' scores.
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

    /// <summary>
    /// The threshold (the options' own when given) and, for the multiscale score, its reference (the options' own when
    /// given; null for the likelihood score), from <paramref name="sample"/>, training rows in the user's units.
    /// </summary>
    public static (double Threshold, AnomalyProfile? Profile) Fit(ScoreModel model, ReflectedDiffusionOptions options, double tailBandwidth, IReadOnlyList<float[]> sample, TrainingLog log)
    {
        bool multiscale = options.AnomalyScore == AnomalyScoreKind.Multiscale;
        var profile = multiscale ? options.AnomalyProfile : null;
        if (options.Threshold is { } given && (!multiscale || profile is not null)) return (given, profile);
        var scores = LikelihoodScores(model, options, tailBandwidth, sample);
        if (multiscale && profile is null)
            (profile, scores) = FitProfile(model, sample, scores, tailBandwidth, log);
        if (options.Threshold is { } explicitThreshold) return (explicitThreshold, profile);
        double threshold = Quantile(scores, 1 - options.FalsePositiveRate);
        log.Info($"Anomaly threshold {threshold:G5} on {options.ScoreColumnName}: {options.FalsePositiveRate:P1} of {sample.Count} training rows lie above it.");
        return (threshold, profile);
    }

    // The likelihood score (negative log-likelihood per dimension with its tail) of rows, through the likelihood graph.
    private static float[] LikelihoodScores(ScoreModel model, ReflectedDiffusionOptions options, double tailBandwidth, IReadOnlyList<float[]> rows)
    {
        var anomaly = ScoringStage.Anomaly(double.PositiveInfinity, tailBandwidth);
        using var scorer = ScoringStage.Scorer(model, ScoringStage.CompileGraph(model, options, anomaly), options.FeatureColumnName, anomaly, (null, true));
        return scorer.Score(rows.SelectMany(r => r).ToArray()).Score!;
    }

    // Two rows per coordinate of the profile's vector: fewer leave its covariance too noisy to invert.
    private static int MinimumProfileRows(int k) => 2 * k;

    // The Gaussian over the sample's vectors [profile, likelihood score] and the sample's distances from it, as the
    // graph computes them. Rows whose likelihood flow failed (score float.MaxValue) stay out of the fit.
    private static (AnomalyProfile? Profile, float[] Distances) FitProfile(ScoreModel model, IReadOnlyList<float[]> rows, float[] likelihoodScores, double narrowest, TrainingLog log)
    {
        var levels = MultiscaleProfile.Levels(narrowest, MultiscaleProfile.LevelsFor(rows.Count, model.Bounds.Dimension));
        int k = levels.Length + 1;
        var profiles = MultiscaleProfile.Compute(model.Network, model.Bounds.ToUnitRows(rows), levels);
        var vectors = Enumerable.Range(0, rows.Count).Select(i => profiles.AsSpan(i * levels.Length, levels.Length).ToArray().Append(likelihoodScores[i]).ToArray()).ToList();
        static bool Usable(double[] v) => v.All(double.IsFinite) && v[^1] < float.MaxValue;
        var usable = vectors.Where(Usable).ToList();
        if (usable.Count < MinimumProfileRows(k))
        {
            log.Info($"Anomaly score: the likelihood score; the multiscale one needs {MinimumProfileRows(k)} training rows with a finite likelihood to fit its {k} x {k} covariance, and {usable.Count} have one.");
            return (null, likelihoodScores);
        }
        var flat = usable.SelectMany(v => v).ToArray();
        var profile = new AnomalyProfile(levels, MahalanobisReference.Fit(flat, k), flat, AnomalyProfile.RankFor(usable.Count));
        log.Info($"Anomaly score: multiscale profile at {levels.Length} noise levels from {levels[0]:G3} to {levels[^1]:G3} plus the likelihood score; " +
                 $"a row's distance to the {profile.Rank}th nearest of {usable.Count} training rows' vectors, in the metric of the Gaussian fitted to them.");
        // Each training row leaves itself out, so the threshold sees training rows as it will see new ones.
        var distances = vectors.Select(v => Usable(v) ? (float)System.Math.Min(profile.Distance(v, excludeSelf: true), float.MaxValue) : float.MaxValue).ToArray();
        return (profile, distances);
    }

    /// <summary>The smallest score that at most a share 1 - <paramref name="level"/> of the scores exceed.</summary>
    public static double Quantile(IReadOnlyCollection<float> scores, double level)
    {
        var sorted = scores.Order().ToArray();
        int index = System.Math.Clamp((int)System.Math.Ceiling(level * sorted.Length) - 1, 0, sorted.Length - 1);
        return sorted[index];
    }
}
