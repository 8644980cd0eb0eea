using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Sde;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Density;

/// <summary>Per-row log-likelihoods (nats, in the bounds' units) and bits per dimension.</summary>
public sealed record LikelihoodResult(double[] LogLikelihood, double[] BitsPerDimension, double EvaluationsPerRow, DivergenceMethod Method);

/// <summary>
/// Exact log-likelihoods through the probability-flow ODE: log p_0(x) = log p_1(x_1) + integral_0^1 div v(x_t, t) dt,
/// with x and the divergence integrated together by adaptive RK45 from t = 0 (sigma_min) to t = 1 (sigma_max), where the
/// reflected density is uniform on the box (log p_1 = 0).
/// </summary>
public static class Likelihood
{
    internal const long HutchinsonStream = 4, DequantizationStream = 5;

    /// <summary>
    /// Log-likelihood of rows <paramref name="x"/> [N, d] in the unit box. With <paramref name="bounds"/>, the result is in
    /// the bounds' units (the log-determinant of the map to the unit box is added).
    /// </summary>
    public static LikelihoodResult Evaluate(IScoreFunction model, ReflectedVeSde sde, Tensor x, LikelihoodOptions? options = null, long[]? labels = null, BoxBounds? bounds = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sde);
        ArgumentNullException.ThrowIfNull(x);
        options ??= new LikelihoodOptions();
        options.Validate();
        if (x.dim() != 2 || x.shape[1] != model.Dimension)
            throw new ArgumentException($"Expected rows of {model.Dimension} features; got shape [{string.Join(", ", x.shape)}].", nameof(x));
        CheckInBox(x);
        long n = x.shape[0];
        Sampler.CheckLabels(model, labels, n);
        if (bounds is not null && bounds.Dimension != model.Dimension)
            throw new ArgumentException($"Bounds have {bounds.Dimension} features; the model has {model.Dimension}.", nameof(bounds));
        int d = model.Dimension;
        var method = options.MethodFor(d);
        IScoreFunction score = options.Guidance != 0 ? new GuidedScore(model, options.Guidance) : model;

        var logp = new double[n];
        double evaluations = 0;
        for (long first = 0; first < n; first += options.BatchSize)
        {
            using var scope = NewDisposeScope();
            long len = System.Math.Min(options.BatchSize, n - first);
            var xb = x.narrow(0, first, len).to(float64);
            var lab = labels is null ? null : torch.tensor(labels.AsSpan((int)first, (int)len).ToArray());
            var seeds = CounterNoise.RowSeeds(options.Seed, first, len);
            var probes = method == DivergenceMethod.Hutchinson ? CounterNoise.Rademacher(seeds, HutchinsonStream, 0, d) : null;
            var state0 = torch.cat([xb, torch.zeros(len, 1, dtype: float64)], 1);
            var (state1, nfe) = Dopri5.Solve(
                (state, t, rows) => Dynamics(score, sde, state, t, lab?.index_select(0, rows), probes?.index_select(0, rows)),
                state0, 0.0, 1.0, options.RelativeTolerance, options.AbsoluteTolerance, options.FoldIntoBox ? FoldPosition : null, options.Callback, options.CancellationToken);
            var delta = state1[.., d].data<double>().ToArray();
            for (long i = 0; i < len; i++) logp[first + i] = ReflectedVeSde.PriorLogDensity + delta[i] + (bounds?.LogDensityOffset ?? 0);
            evaluations += nfe.Sum();
        }
        double byteBits = options.ByteData ? 8 : 0;
        var bpd = logp.Select(l => -l / (d * System.Math.Log(2)) + byteBits).ToArray();
        return new LikelihoodResult(logp, bpd, evaluations / n, method);
    }

    /// <summary>Uniform dequantisation of bytes [N, d] (values 0..255): (k + u) / 256 with u from the row seeds of (seed, row).</summary>
    public static Tensor Dequantize(Tensor bytes, ulong seed)
    {
        using var scope = NewDisposeScope();
        var k = bytes.to(float64);
        if ((k < 0).any().item<bool>() || (k > 255).any().item<bool>()) throw new ArgumentOutOfRangeException(nameof(bytes), "Byte data must lie in [0, 255].");
        var u = CounterNoise.Uniform(CounterNoise.RowSeeds(seed, 0, k.shape[0]), DequantizationStream, 0, k.shape[1]);
        return ((k + u) / 256).MoveToOuterDisposeScope();
    }

    // The state [x, delta]: x folds into the box (a reflection has |det| = 1, so delta needs no correction).
    private static Tensor FoldPosition(Tensor state)
    {
        long d = state.shape[1] - 1;
        return torch.cat([ReflectedHeatKernel.Reflect(state.narrow(1, 0, d)), state.narrow(1, d, 1)], 1);
    }

    // d/dt [x, delta] = [v(x, t), div v(x, t)].
    private static Tensor Dynamics(IScoreFunction score, ReflectedVeSde sde, Tensor state, Tensor t, Tensor? labels, Tensor? probes)
    {
        long a = state.shape[0], d = state.shape[1] - 1;
        var x = state.narrow(1, 0, d).detach();
        using var _ = torch.enable_grad();
        Tensor v, div;
        if (probes is null)
        {
            // Exact trace: d copies of every row; copy j's backward seed is unit vector e_j.
            var xe = x.unsqueeze(0).expand(d, a, d).reshape(d * a, d).clone().requires_grad_(true);
            var te = t.unsqueeze(0).expand(d, a).reshape(d * a);
            var le = labels?.unsqueeze(0).expand(d, a).reshape(d * a);
            var ve = Sampler.Velocity(score, sde, xe, te, le, bump: false);
            var diag = ve.reshape(d, a, d).permute(1, 0, 2).diagonal(0, 1, 2);   // [a, d]: dv_j at copy j
            var grad = torch.autograd.grad([diag.sum()], [xe])[0];
            div = grad.reshape(d, a, d).permute(1, 0, 2).diagonal(0, 1, 2).sum(1);
            v = ve.reshape(d, a, d)[0];
        }
        else
        {
            var xg = x.clone().requires_grad_(true);
            v = Sampler.Velocity(score, sde, xg, t, labels, bump: false);
            var grad = torch.autograd.grad([(v * probes).sum()], [xg])[0];
            div = (grad * probes).sum(1);
        }
        return torch.cat([v.detach(), div.detach().unsqueeze(1)], 1);
    }

    private static void CheckInBox(Tensor x)
    {
        using var scope = NewDisposeScope();
        var bad = (~torch.isfinite(x)) | (x < 0) | (x > 1);
        if (!bad.any().item<bool>()) return;
        long flat = bad.flatten().nonzero()[0, 0].item<long>();
        long row = flat / x.shape[1], col = flat % x.shape[1];
        double value = x[row, col].to(float64).item<double>();
        throw new ArgumentOutOfRangeException(nameof(x), value, $"Row {row}, feature {col}: value {value} is not finite or lies outside the unit box [0, 1].");
    }
}
