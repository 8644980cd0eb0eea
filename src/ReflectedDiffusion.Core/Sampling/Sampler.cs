using ReflectedDiffusion.Sde;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sampling;

/// <summary>
/// Generation from a reflected score: the reverse reflected SDE, predictor-corrector, and the probability-flow
/// ODE (adaptive RK45 or fixed-step Heun). Each sampler is a small function of (score, SDE, start, row seeds);
/// <see cref="Generate"/> batches rows, derives row seeds and draws the uniform prior.
/// </summary>
public static class Sampler
{
    /// <summary>Counter-noise stream of the prior draw (uniform, step 0).</summary>
    public const long PriorStream = 1;
    /// <summary>Counter-noise stream of the reverse-SDE noise (step = step index).</summary>
    public const long SdeStream = 2;
    /// <summary>Counter-noise stream of the Langevin corrector noise.</summary>
    public const long CorrectorStream = 3;

    /// <summary>
    /// Draws <paramref name="count"/> samples. <paramref name="labels"/> (one per sample, or null) conditions a
    /// conditional model; <see cref="SamplerOptions.Guidance"/> applies classifier-free guidance.
    /// </summary>
    public static SamplingResult Generate(IScoreFunction model, ReflectedVeSde sde, long count, SamplerKind kind, SamplerOptions? options = null, long[]? labels = null)
    {
        ArgumentNullException.ThrowIfNull(sde);
        var score = Prepare(model, count, ref options, labels);
        return InBatches(count, options, labels, (seeds, lab, first) => Run(score, sde, kind, seeds, lab, options, first));
    }

    /// <summary>Validates a sampling request and returns the score to sample (guided when asked).</summary>
    internal static IScoreFunction Prepare(IScoreFunction model, long count, [System.Diagnostics.CodeAnalysis.NotNull] ref SamplerOptions? options, long[]? labels)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new SamplerOptions();
        options.Validate();
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "The number of samples must be positive.");
        CheckLabels(model, labels, count);
        return options.Guidance != 0 ? new GuidedScore(model, options.Guidance) : model;
    }

    /// <summary>
    /// Runs <paramref name="run"/> on batches of rows with their row seeds and labels, and joins the float32 results.
    /// Returns the mean of the evaluations per sample that each batch reports.
    /// </summary>
    internal static SamplingResult InBatches(long count, SamplerOptions options, long[]? labels, Func<Tensor, Tensor?, long, (Tensor X, double Nfe)> run)
    {
        // Sampling never differentiates: without this every network call would record an autograd graph (about 1.5x the time).
        using var noGrad = torch.no_grad();
        var chunks = new List<Tensor>();
        double evaluations = 0;
        for (long first = 0; first < count; first += options.BatchSize)
        {
            using var scope = NewDisposeScope();
            long n = System.Math.Min(options.BatchSize, count - first);
            var seeds = CounterNoise.RowSeeds(options.Seed, options.FirstRow + first, n);
            var lab = labels is null ? null : torch.tensor(labels.AsSpan((int)first, (int)n).ToArray());
            var (x, nfe) = run(seeds, lab, first);
            evaluations += nfe * n;
            chunks.Add(x.to(float32).MoveToOuterDisposeScope());
        }
        var samples = torch.cat(chunks);
        foreach (var c in chunks) c.Dispose();
        return new SamplingResult(samples, evaluations / count);
    }

    internal static void CheckLabels(IScoreFunction model, long[]? labels, long count)
    {
        if (labels is null) return;
        if (labels.Length != count) throw new ArgumentException($"Expected {count} labels, got {labels.Length}.", nameof(labels));
        if (model.NumClasses == 0) throw new ArgumentException("The model is unconditional; it takes no labels.", nameof(labels));
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] < 0 || labels[i] > model.NumClasses)
                throw new ArgumentOutOfRangeException(nameof(labels), $"Label {labels[i]} of sample {i} lies outside [0, {model.NumClasses}] ({model.NumClasses} is the null label).");
    }

    private static (Tensor X, double Nfe) Run(IScoreFunction score, ReflectedVeSde sde, SamplerKind kind, Tensor seeds, Tensor? labels, SamplerOptions o, long rowsDone)
    {
        int d = score.Dimension;
        var u = CounterNoise.Uniform(seeds, PriorStream, 0, d);
        bool ode = kind is SamplerKind.OdeAdaptive or SamplerKind.OdeHeun;
        var x = ode && o.InteriorStart ? 0.01 + 0.98 * u : u;
        Action<int, int, double>? report = o.Callback is null ? null : (step, total, t) => o.Callback(new SamplerStep(step, total, t, rowsDone));
        return kind switch
        {
            SamplerKind.ReflectedSde => (ReflectedEulerMaruyama(score, sde, x, seeds, labels, o.Steps, 0, 0.01, report, o.CancellationToken), o.Steps),
            SamplerKind.PredictorCorrector => (ReflectedEulerMaruyama(score, sde, x, seeds, labels, o.Steps, o.CorrectorSteps, o.SignalToNoise, report, o.CancellationToken), o.Steps * (1 + o.CorrectorSteps)),
            SamplerKind.OdeHeun => (Heun(score, sde, x, labels, o.Steps, o.BoundaryBump, report, o.CancellationToken), 2 * o.Steps),
            SamplerKind.OdeAdaptive => AdaptiveOde(score, sde, x, labels, o, report),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown sampler."),
        };
    }

    /// <summary>The score at float64 states, evaluated in the model's dtype.</summary>
    internal static Tensor ScoreAt(IScoreFunction score, Tensor x, Tensor sigma, Tensor? labels)
    {
        var dt = score.DType;
        return score.Score(x.to(dt), sigma.to(dt), labels).to(float64);
    }

    /// <summary>
    /// Reverse reflected SDE on the uniform t grid from 1 to 0: x_mean = x + g^2 s dt, x = fold(x_mean + g sqrt(dt) z);
    /// the last step returns fold(x_mean). With corrector steps, each predictor step is preceded by reflected Langevin
    /// steps x = fold(x + e s + sqrt(2e) z), e = 2 (snr sigma)^2.
    /// </summary>
    public static Tensor ReflectedEulerMaruyama(IScoreFunction score, ReflectedVeSde sde, Tensor x, Tensor rowSeeds, Tensor? labels, int steps,
        int correctorSteps = 0, double snr = 0.01, Action<int, int, double>? progress = null, CancellationToken token = default)
    {
        using var noGrad = torch.no_grad();
        long b = x.shape[0], d = x.shape[1];
        x = x.to(float64);
        double dt = 1.0 / steps;
        for (int i = 0; i < steps; i++)
        {
            token.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            double t = 1.0 - i * dt;
            var sigma = torch.full(b, sde.Sigma(t), dtype: float64);
            // Langevin step e = 2 (snr |z| / |s|)^2 with both norms at their expectations for noise level sigma
            // (|z|^2 ~ d, |s|^2 ~ d / sigma^2): e = 2 (snr sigma)^2. The reference's batch-mean norms would make a sample
            // depend on its batch, and per-row norms explode where the score vanishes (at modes).
            double eps = 2 * System.Math.Pow(snr * sde.Sigma(t), 2);
            for (int c = 0; c < correctorSteps; c++)
            {
                var sc = ScoreAt(score, x, sigma, labels);
                var zc = CounterNoise.Normal(rowSeeds, CorrectorStream, (long)i * correctorSteps + c, d);
                x = ReflectedHeatKernel.Reflect(x + eps * sc + System.Math.Sqrt(2 * eps) * zc);
            }
            var s = ScoreAt(score, x, sigma, labels);
            double g2 = System.Math.Pow(sde.G(t), 2);
            var mean = x + g2 * dt * s;
            x = i == steps - 1
                ? ReflectedHeatKernel.Reflect(mean)
                : ReflectedHeatKernel.Reflect(mean + System.Math.Sqrt(g2 * dt) * CounterNoise.Normal(rowSeeds, SdeStream, i, d));
            x = x.MoveToOuterDisposeScope();
            progress?.Invoke(i + 1, steps, t - dt);
        }
        return x;
    }

    /// <summary>
    /// The probability-flow velocity (<see cref="ReflectedVeSde.ProbabilityFlowVelocity"/>) of the score at states x [B, d]
    /// and times t [B], optionally times the reference's boundary bump.
    /// </summary>
    internal static Tensor Velocity(IScoreFunction score, ReflectedVeSde sde, Tensor x, Tensor t, Tensor? labels, bool bump)
    {
        var sigma = sde.Sigma(t);
        var v = sde.ProbabilityFlowVelocity(ScoreAt(score, x, sigma, labels), sigma);
        return bump ? v * BoundaryBump(x) : v;
    }

    // b(x) = exp((4 - 1 / (0.25 - (0.5 - x)^2)) / 200): 1 at the centre, 0 at (and beyond) the faces.
    private static Tensor BoundaryBump(Tensor x)
    {
        var q = (0.25 - (0.5 - x).pow(2)).clamp_min(1e-12);
        return torch.exp((4 - 1 / q) / 200);
    }

    /// <summary>Probability-flow ODE by Heun's method on the uniform t grid (a geometric sigma grid), folding after each step.</summary>
    public static Tensor Heun(IScoreFunction score, ReflectedVeSde sde, Tensor x, Tensor? labels, int steps, bool bump = false,
        Action<int, int, double>? progress = null, CancellationToken token = default)
    {
        using var noGrad = torch.no_grad();
        long b = x.shape[0];
        x = x.to(float64);
        double dt = -1.0 / steps;
        for (int i = 0; i < steps; i++)
        {
            token.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            double t0 = 1.0 + i * dt, t1 = t0 + dt;
            var d1 = Velocity(score, sde, x, torch.full(b, t0, dtype: float64), labels, bump);
            var euler = ReflectedHeatKernel.Reflect(x + dt * d1);
            var d2 = Velocity(score, sde, euler, torch.full(b, t1, dtype: float64), labels, bump);
            x = ReflectedHeatKernel.Reflect(x + 0.5 * dt * (d1 + d2)).MoveToOuterDisposeScope();
            progress?.Invoke(i + 1, steps, t1);
        }
        return x;
    }

    private static (Tensor X, double Nfe) AdaptiveOde(IScoreFunction score, ReflectedVeSde sde, Tensor x, Tensor? labels, SamplerOptions o, Action<int, int, double>? report)
    {
        var (y, evaluations) = Dopri5.Solve(
            (state, t, rows) => Velocity(score, sde, state, t, labels?.index_select(0, rows), o.BoundaryBump),
            x, 1.0, 0.0, o.RelativeTolerance, o.AbsoluteTolerance, ReflectedHeatKernel.Reflect,
            report is null ? null : (it, t) => report(it, -1, t), o.CancellationToken);
        return (y, evaluations.Average());
    }
}
