using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sde;

/// <summary>
/// A mixture of product reflected heat kernels on [0,1]^d: p(x) = sum_j w_j prod_i K(x_i | mu_ji, s_j).
/// Reflected kernels compose (K_a * K_b = K_sqrt(a^2+b^2)), so after noise level sigma the data density is the
/// same mixture with widths sqrt(s_j^2 + sigma^2), and its score and log-density are exact for every sigma.
/// Used as ground truth ("oracle") in tests and benchmarks.
/// </summary>
public sealed class ReflectedKernelMixture : IScoreFunction
{
    private readonly double[,] _means;
    private readonly double[] _widths, _logWeights;

    /// <summary>Creates the mixture; means [K, d] in [0,1], widths [K] positive, weights [K] positive (normalised here).</summary>
    public ReflectedKernelMixture(double[,] means, double[] widths, double[]? weights = null)
    {
        ArgumentNullException.ThrowIfNull(means);
        ArgumentNullException.ThrowIfNull(widths);
        int k = means.GetLength(0);
        if (k == 0 || means.GetLength(1) == 0) throw new ArgumentException("The mixture needs at least one component and one dimension.", nameof(means));
        if (widths.Length != k) throw new ArgumentException($"Expected {k} widths, got {widths.Length}.", nameof(widths));
        weights ??= Enumerable.Repeat(1.0, k).ToArray();
        if (weights.Length != k) throw new ArgumentException($"Expected {k} weights, got {weights.Length}.", nameof(weights));
        if (widths.Any(w => !(w > 0)) || weights.Any(w => !(w > 0)))
            throw new ArgumentOutOfRangeException(nameof(widths), "Widths and weights must be positive.");
        foreach (var m in means)
            if (!(m >= 0 && m <= 1)) throw new ArgumentOutOfRangeException(nameof(means), m, "Means must lie in [0, 1].");
        _means = (double[,])means.Clone();
        _widths = (double[])widths.Clone();
        double total = weights.Sum();
        _logWeights = weights.Select(w => System.Math.Log(w / total)).ToArray();
    }

    /// <summary>Number of features.</summary>
    public int Dimension => _means.GetLength(1);
    /// <summary>Unconditional: 0.</summary>
    public int NumClasses => 0;

    /// <summary>The exact score (labels are ignored).</summary>
    Tensor IScoreFunction.Score(Tensor x, Tensor sigma, Tensor? labels) => Score(x, sigma);

    /// <summary>Number of components.</summary>
    public int Components => _means.GetLength(0);

    /// <summary>Draws <paramref name="n"/> rows [n, d] (float64) from the mixture at extra noise <paramref name="sigma"/> (0 for the data itself).</summary>
    public Tensor Sample(long n, Generator? generator = null, double sigma = 0)
    {
        using var scope = NewDisposeScope();
        var probs = torch.exp(torch.tensor(_logWeights));
        var component = torch.multinomial(probs, n, replacement: true, generator: generator);
        var mu = torch.tensor(_means).index_select(0, component);
        var width = torch.sqrt(torch.tensor(_widths).index_select(0, component).pow(2) + sigma * sigma).unsqueeze(1);
        var z = torch.randn([n, Dimension], dtype: float64, generator: generator);
        return ReflectedHeatKernel.Reflect(mu + width * z).MoveToOuterDisposeScope();
    }

    /// <summary>Log-density at noise level sigma: x [B, d], sigma a scalar or [B]; returns [B] (float64).</summary>
    public Tensor LogDensity(Tensor x, Tensor sigma) => Evaluate(x, sigma, wantScore: false);

    /// <summary>Score at noise level sigma: x [B, d], sigma a scalar or [B]; returns [B, d] in the dtype of x.</summary>
    public Tensor Score(Tensor x, Tensor sigma) => Evaluate(x, sigma, wantScore: true);

    private Tensor Evaluate(Tensor x, Tensor sigma, bool wantScore)
    {
        using var scope = NewDisposeScope();
        var xd = x.to(float64).unsqueeze(1);                                   // [B, 1, d]
        var mu = torch.tensor(_means, device: x.device).unsqueeze(0);          // [1, K, d]
        var s = sigma.to(float64, device: x.device).reshape(-1, 1);            // [B or 1, 1]
        var width = torch.sqrt(torch.tensor(_widths, device: x.device).unsqueeze(0).pow(2) + s * s).unsqueeze(-1); // [B, K, 1]
        var logK = ReflectedHeatKernel.LogDensity(xd, mu, width);            // [B, K, d]
        var logJoint = logK.sum(-1) + torch.tensor(_logWeights, device: x.device).unsqueeze(0); // [B, K]
        if (!wantScore) return torch.logsumexp(logJoint, 1).MoveToOuterDisposeScope();
        var responsibility = torch.softmax(logJoint, 1).unsqueeze(-1);         // [B, K, 1]
        var componentScore = ReflectedHeatKernel.Score(xd.expand(logK.shape), mu.expand(logK.shape), width.expand(logK.shape));
        return (responsibility * componentScore).sum(1).to(x.dtype).MoveToOuterDisposeScope();
    }
}
