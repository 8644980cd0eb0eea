using ReflectedDiffusion.Sde;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sampling;

/// <summary>How a standard (unreflected) diffusion sampler is kept in the box.</summary>
public enum Thresholding
{
    /// <summary>No thresholding: samples may leave the box.</summary>
    None,
    /// <summary>Static thresholding: clip the iterate to the box after every step.</summary>
    Static,
    /// <summary>Static thresholding of the predicted x0 = x + sigma^2 s, which then defines the step's score.</summary>
    PredictedX0,
    /// <summary>Dynamic thresholding (Imagen): per sample, rescale the predicted x0 by its 99.5th percentile distance from the centre when that exceeds the box, then clip.</summary>
    Dynamic,
}

/// <summary>
/// The thresholding baselines: reverse-time Euler-Maruyama of a standard (Gaussian, unreflected) VE diffusion with
/// the same schedule, prior 0.5 + sigma_max z, kept in the box by clipping. For comparison with the reflected
/// samplers on equal footing (same networks, trainer, schedule and budgets); not a recommended sampler.
/// </summary>
public static class ThresholdedSampler
{
    /// <summary>Percentile of |x0 - 0.5| used by dynamic thresholding (Imagen's 99.5%).</summary>
    public const double DynamicPercentile = 0.995;

    /// <summary>Draws <paramref name="count"/> samples with <see cref="SamplerOptions.Steps"/> Euler-Maruyama steps.</summary>
    public static SamplingResult Generate(IScoreFunction model, ReflectedVeSde schedule, long count, Thresholding kind, SamplerOptions? options = null, long[]? labels = null)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var score = Sampler.Prepare(model, count, ref options, labels);
        return Sampler.InBatches(count, options, labels, (seeds, lab, first) => (Run(score, schedule, kind, seeds, lab, options, first), options.Steps));
    }

    private static Tensor Run(IScoreFunction score, ReflectedVeSde sde, Thresholding kind, Tensor seeds, Tensor? labels, SamplerOptions o, long rowsDone)
    {
        long b = seeds.shape[0], d = score.Dimension;
        var x = 0.5 + sde.SigmaMax * CounterNoise.Normal(seeds, Sampler.PriorStream, 0, d);
        double dt = 1.0 / o.Steps;
        for (int i = 0; i < o.Steps; i++)
        {
            o.CancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            double t = 1.0 - i * dt, sigma = sde.Sigma(t);
            var s = Sampler.ScoreAt(score, x, torch.full(b, sigma, dtype: float64), labels);
            if (kind is Thresholding.PredictedX0 or Thresholding.Dynamic)
            {
                var x0 = ThresholdPrediction(x + sigma * sigma * s, kind);
                s = (x0 - x) / (sigma * sigma);
            }
            double g2 = System.Math.Pow(sde.G(t), 2);
            var mean = x + g2 * dt * s;
            x = i == o.Steps - 1 ? mean : mean + System.Math.Sqrt(g2 * dt) * CounterNoise.Normal(seeds, Sampler.SdeStream, i, d);
            if (kind == Thresholding.Static) x = x.clamp(0.0, 1.0);
            x = x.MoveToOuterDisposeScope();
            o.Callback?.Invoke(new SamplerStep(i + 1, o.Steps, t - dt, rowsDone));
        }
        return kind == Thresholding.None ? x : x.clamp(0.0, 1.0);
    }

    private static Tensor ThresholdPrediction(Tensor x0, Thresholding kind)
    {
        if (kind == Thresholding.PredictedX0) return x0.clamp(0.0, 1.0);
        // Dynamic: in [-1, 1] coordinates, s = max(1, percentile of |y|); y <- clip(y, -s, s) / s.
        var y = 2 * x0 - 1;
        long d = y.shape[1];
        long k = System.Math.Max(0, (long)System.Math.Ceiling(DynamicPercentile * d) - 1);
        var s = y.abs().sort(1).Values.narrow(1, k, 1).clamp_min(1.0);
        return (torch.maximum(torch.minimum(y, s), -s) / s + 1) / 2;
    }
}
