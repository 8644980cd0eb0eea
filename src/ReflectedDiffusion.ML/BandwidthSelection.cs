using ReflectedDiffusion.Training;
using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.ML;

/// <summary>The pieces of choosing <see cref="ReflectedDiffusionOptions.SigmaMin"/> by held-out likelihood.</summary>
internal static class BandwidthSelection
{
    /// <summary>Below this many rows nothing is held out.</summary>
    public const int MinimumRows = 10;
    /// <summary>At most this many held-out rows are scored per candidate (the scoring cost bounds the choice's cost).</summary>
    public const int MaximumHeldOutRows = 500;

    /// <summary>A seeded split: a fifth of the rows (at most <see cref="MaximumHeldOutRows"/>) held out, the rest for training.</summary>
    public static (List<int> Train, List<int> HeldOut) Split(int count, ulong seed)
    {
        var order = Enumerable.Range(0, count).OrderBy(i => CounterRng.Hash(seed, 0x5E1EC7, (ulong)i)).ToList();
        int held = System.Math.Clamp(count / 5, 1, MaximumHeldOutRows);
        return (order.Skip(held).Order().ToList(), order.Take(held).Order().ToList());
    }

    /// <summary>
    /// The mean log-likelihood of held-out rows under <paramref name="model"/>'s network with the smallest noise level
    /// <paramref name="sigmaMin"/>, as the deployed score sees them: rows outside the model's bounds (fitted to the
    /// training part, as deployment's bounds are fitted to all training rows) continue by the Gaussian tail of
    /// <paramref name="tailBandwidth"/>. Returns the mean and its standard error; minus infinity when any row's flow fails
    /// (a bandwidth too small for the network).
    /// </summary>
    public static (double Mean, double StandardError) MeanLogLikelihood(ScoreModel model, double sigmaMin, double tailBandwidth, float[] rows, ReflectedDiffusionOptions options)
    {
        var atBandwidth = new ScoreModel(model.Network, new ReflectedVeSde(sigmaMin, ReflectedVeSde.DefaultSigmaMax), model.Bounds); // shares the network: not disposed
        var anomaly = ScoringStage.Anomaly(double.PositiveInfinity, tailBandwidth);
        using var scorer = ScoringStage.Scorer(atBandwidth, ScoringStage.CompileGraph(atBandwidth, options, anomaly), options.FeatureColumnName, anomaly, (null, true));
        int d = model.Network.Config.Dimension;
        var score = scorer.Score(rows).Score!;
        if (score.Any(s => !float.IsFinite(s) || s >= float.MaxValue)) return (double.NegativeInfinity, 0);
        var logLikelihood = score.Select(s => -(double)s * d).ToArray();
        double mean = logLikelihood.Average();
        double variance = logLikelihood.Sum(v => (v - mean) * (v - mean)) / System.Math.Max(1, logLikelihood.Length - 1);
        return (mean, System.Math.Sqrt(variance / logLikelihood.Length));
    }

    /// <summary>
    /// The one-standard-error rule: the largest bandwidth whose held-out mean lies within one standard error of the
    /// best. Held-out likelihood is often flat below the scale the network resolves; the widest bandwidth that the held
    /// out rows cannot tell from the best is the smoothest density the data support. The scores are in ascending bandwidth order.
    /// </summary>
    public static int Choose(IReadOnlyList<(double Mean, double StandardError)> scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Count; i++) if (scores[i].Mean > scores[best].Mean) best = i;
        if (double.IsNegativeInfinity(scores[best].Mean)) return scores.Count - 1;
        double floor = scores[best].Mean - scores[best].StandardError;
        int chosen = best;
        for (int i = best + 1; i < scores.Count; i++) if (scores[i].Mean >= floor) chosen = i;
        return chosen;
    }
}
