using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Training;

/// <summary>
/// Adam with an explicit, serialisable state (moments and step count), global gradient-norm clipping and a
/// caller-supplied learning rate per step, so that checkpoints resume bit-exactly.
/// </summary>
internal sealed class AdamOptimizer : IDisposable
{
    private readonly (string Name, Tensor Param)[] _params;
    private readonly Tensor[] _m, _v;
    private readonly double _beta1, _beta2, _eps;
    // Scalars held for the optimizer's life. An implicitly converted Scalar can be finalized by the GC while the
    // native call that received its handle still runs (seen as a garbage Scalar in mul_ in CI); held ones cannot.
    private readonly Scalar _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _epsScalar;

    public AdamOptimizer(IEnumerable<(string, TorchSharp.Modules.Parameter)> parameters, double beta1, double beta2, double eps)
    {
        _params = parameters.Select(p => (p.Item1, (Tensor)p.Item2)).ToArray();
        _m = _params.Select(p => torch.zeros_like(p.Param)).ToArray();
        _v = _params.Select(p => torch.zeros_like(p.Param)).ToArray();
        (_beta1, _beta2, _eps) = (beta1, beta2, eps);
        (_beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _epsScalar) =
            (beta1.ToScalar(), beta2.ToScalar(), (1 - beta1).ToScalar(), (1 - beta2).ToScalar(), eps.ToScalar());
    }

    /// <summary>Number of updates taken.</summary>
    public long StepCount { get; private set; }

    /// <summary>Scales gradients so that their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public double ClipGradients(double maxNorm)
    {
        using var scope = NewDisposeScope();
        var grads = _params.Select(p => p.Param.grad).Where(g => g is not null).Select(g => g!).ToArray();
        if (grads.Length == 0) return 0;
        var total = torch.sqrt(torch.stack(grads.Select(g => g.pow(2).sum()).ToArray()).sum()).item<float>();
        if (maxNorm > 0 && total > maxNorm)
        {
            using var scale = (maxNorm / (total + 1e-6)).ToScalar();
            using (torch.no_grad()) foreach (var g in grads) g.mul_(scale);
        }
        return total;
    }

    /// <summary>One Adam update with learning rate <paramref name="lr"/>.</summary>
    public void Step(double lr)
    {
        StepCount++;
        double c1 = 1 - System.Math.Pow(_beta1, StepCount), c2 = 1 - System.Math.Pow(_beta2, StepCount);
        using var scope = NewDisposeScope();
        using var _ = torch.no_grad();
        using Scalar c2Scalar = c2.ToScalar(), stepScalar = (-lr / c1).ToScalar();
        for (int i = 0; i < _params.Length; i++)
        {
            var g = _params[i].Param.grad;
            if (g is null) continue;
            _m[i].mul_(_beta1Scalar).add_(g, alpha: _oneMinusBeta1);
            _v[i].mul_(_beta2Scalar).addcmul_(g, g, value: _oneMinusBeta2);
            var denom = _v[i].div(c2Scalar).sqrt_().add_(_epsScalar);
            _params[i].Param.addcdiv_(_m[i], denom, value: stepScalar);
        }
    }

    public IEnumerable<KeyValuePair<string, Tensor>> State()
    {
        for (int i = 0; i < _params.Length; i++)
        {
            yield return new($"m.{_params[i].Name}", _m[i]);
            yield return new($"v.{_params[i].Name}", _v[i]);
        }
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        using var _ = torch.no_grad();
        for (int i = 0; i < _params.Length; i++)
        {
            _m[i].copy_(state[$"m.{_params[i].Name}"]);
            _v[i].copy_(state[$"v.{_params[i].Name}"]);
        }
        StepCount = stepCount;
    }

    public void Dispose()
    {
        foreach (var t in _m.Concat(_v)) t.Dispose();
        foreach (var s in new[] { _beta1Scalar, _beta2Scalar, _oneMinusBeta1, _oneMinusBeta2, _epsScalar }) s.Dispose();
    }
}
