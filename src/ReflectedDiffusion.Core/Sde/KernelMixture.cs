using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sde;

/// <summary>
/// A mixture of product heat kernels: p(x) = sum_j w_j prod_i K(x_i | mu_ji, s_j), with K the reflected kernel on
/// [0,1] (the default) or the plain Gaussian on the real line. Heat kernels compose (K_a * K_b = K_sqrt(a^2+b^2)),
/// so after noise level sigma the density is the same mixture with widths sqrt(s_j^2 + sigma^2): its score and
/// log-density are exact for every sigma. Components may carry class labels, giving exact class-conditional scores
/// (the null label, <see cref="NumClasses"/>, or no label means the whole mixture). Used as ground truth ("oracle").
/// </summary>
public sealed class KernelMixture : IScoreFunction
{
    private readonly double[,] _means;
    private readonly double[] _widths, _logWeights;
    private readonly long[]? _classes;

    /// <summary>
    /// Creates the mixture: means [K, d] (in [0,1] when reflected), widths [K] and weights [K] positive (normalised
    /// here), optional class per component in [0, C).
    /// </summary>
    public KernelMixture(double[,] means, double[] widths, double[]? weights = null, int[]? classes = null, bool reflected = true)
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
        if (reflected)
            foreach (var m in means)
                if (!(m >= 0 && m <= 1)) throw new ArgumentOutOfRangeException(nameof(means), m, "Means of a reflected mixture must lie in [0, 1].");
        if (classes is not null && (classes.Length != k || classes.Any(c => c < 0)))
            throw new ArgumentException($"Expected {k} non-negative classes.", nameof(classes));
        _means = (double[,])means.Clone();
        _widths = (double[])widths.Clone();
        double total = weights.Sum();
        _logWeights = weights.Select(w => System.Math.Log(w / total)).ToArray();
        _classes = classes?.Select(c => (long)c).ToArray();
        Reflected = reflected;
        NumClasses = classes is null ? 0 : classes.Max() + 1;
    }

    /// <summary>True for reflected kernels on the box, false for Gaussians on the real line.</summary>
    public bool Reflected { get; }
    /// <inheritdoc />
    public int Dimension => _means.GetLength(1);
    /// <inheritdoc />
    public int NumClasses { get; }
    /// <summary>Exact scores want float64 inputs.</summary>
    public ScalarType DType => ScalarType.Float64;
    /// <summary>Number of components.</summary>
    public int Components => _means.GetLength(0);

    /// <summary>
    /// Draws <paramref name="n"/> rows [n, d] (float64) at extra noise <paramref name="sigma"/> (0 for the data itself),
    /// from the components of class <paramref name="label"/> (all components when null).
    /// </summary>
    public Tensor Sample(long n, Generator? generator = null, double sigma = 0, int? label = null)
    {
        using var scope = NewDisposeScope();
        var logw = torch.tensor(_logWeights);
        if (label is { } c)
        {
            if (_classes is null || c < 0 || c >= NumClasses) throw new ArgumentOutOfRangeException(nameof(label), label, "No component has this class.");
            logw = torch.where(torch.tensor(_classes) == c, logw, double.NegativeInfinity);
        }
        var component = torch.multinomial(torch.softmax(logw, 0), n, replacement: true, generator: generator);
        var mu = torch.tensor(_means).index_select(0, component);
        var width = torch.sqrt(torch.tensor(_widths).index_select(0, component).pow(2) + sigma * sigma).unsqueeze(1);
        var y = mu + width * torch.randn([n, Dimension], dtype: float64, generator: generator);
        return (Reflected ? ReflectedHeatKernel.Reflect(y) : y).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Log-density at noise level sigma (scalar or [B]) of x [B, d], returned as [B] float64: log p(x) without labels,
    /// log p(x | c) for rows labelled c (the null label gives log p(x)).
    /// </summary>
    public Tensor LogDensity(Tensor x, Tensor sigma, Tensor? labels = null)
    {
        using var scope = NewDisposeScope();
        return torch.logsumexp(ComponentLogJoint(x, sigma, labels, out _, out _, out _), 1).MoveToOuterDisposeScope();
    }

    /// <summary>Score at noise level sigma (scalar or [B]) of x [B, d]; per-row labels optional. Returns [B, d] in x's dtype.</summary>
    public Tensor Score(Tensor x, Tensor sigma, Tensor? labels = null)
    {
        using var scope = NewDisposeScope();
        var logJoint = ComponentLogJoint(x, sigma, labels, out var xd, out var mu, out var width);
        var responsibility = torch.softmax(logJoint, 1).unsqueeze(-1);        // [B, K, 1]
        var shape = new[] { xd.shape[0], mu.shape[1], xd.shape[2] };
        var componentScore = Reflected
            ? ReflectedHeatKernel.Score(xd.expand(shape), mu.expand(shape), width.expand(shape))
            : -(xd - mu) / width.pow(2);
        return (responsibility * componentScore).sum(1).to(x.dtype).MoveToOuterDisposeScope();
    }

    // log w_j + sum_i log K(x_i | mu_ji, width_j) [B, K], with components outside a row's class masked out.
    private Tensor ComponentLogJoint(Tensor x, Tensor sigma, Tensor? labels, out Tensor xd, out Tensor mu, out Tensor width)
    {
        xd = x.to(float64).unsqueeze(1);                                       // [B, 1, d]
        mu = torch.tensor(_means, device: x.device).unsqueeze(0);              // [1, K, d]
        var s = sigma.to(float64, device: x.device).reshape(-1, 1);            // [B or 1, 1]
        width = torch.sqrt(torch.tensor(_widths, device: x.device).unsqueeze(0).pow(2) + s * s).unsqueeze(-1); // [B, K, 1]
        Tensor logK;
        if (Reflected)
        {
            var shape = new[] { xd.shape[0], mu.shape[1], xd.shape[2] };
            logK = ReflectedHeatKernel.LogDensity(xd.expand(shape), mu.expand(shape), width.expand(shape));
        }
        else
        {
            var z = (xd - mu) / width;
            logK = -0.5 * z * z - torch.log(width) - 0.5 * System.Math.Log(2 * System.Math.PI);
        }
        var logJoint = logK.sum(-1) + torch.tensor(_logWeights, device: x.device).unsqueeze(0);
        if (labels is not null && _classes is not null)
        {
            var lab = labels.to(int64, device: x.device).reshape(-1, 1);
            var member = (torch.tensor(_classes, device: x.device).unsqueeze(0) == lab) | (lab == NumClasses);
            var logWeights = torch.tensor(_logWeights, device: x.device).unsqueeze(0).expand(member.shape);
            // Renormalise the weights within the class, so densities are conditional: log p(x | c).
            var classLogWeight = torch.logsumexp(torch.where(member, logWeights, double.NegativeInfinity), 1, keepdim: true);
            logJoint = torch.where(member, logJoint - classLogWeight, double.NegativeInfinity);
        }
        return logJoint;
    }
}
