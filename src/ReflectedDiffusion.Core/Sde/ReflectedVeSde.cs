using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sde;

/// <summary>
/// The reflected variance-exploding SDE on the unit box: dx = g(t) dB + dL with
/// sigma(t) = sigma_min (sigma_max / sigma_min)^t and g(t) = sigma(t) sqrt(2 ln(sigma_max / sigma_min)), t in [0, 1].
/// </summary>
public sealed class ReflectedVeSde
{
    /// <summary>The reference's sigma_min for generation models.</summary>
    public const double GenerationSigmaMin = 0.01;
    /// <summary>The reference's sigma_min for likelihood models.</summary>
    public const double LikelihoodSigmaMin = 1e-4;
    /// <summary>The reference's sigma_max: at 5 the reflected density is uniform to machine precision.</summary>
    public const double DefaultSigmaMax = 5.0;

    /// <summary>Creates the SDE; throws when the noise range is not 0 &lt; sigmaMin &lt; sigmaMax.</summary>
    public ReflectedVeSde(double sigmaMin = GenerationSigmaMin, double sigmaMax = DefaultSigmaMax)
    {
        if (!(sigmaMin > 0) || double.IsInfinity(sigmaMin))
            throw new ArgumentOutOfRangeException(nameof(sigmaMin), sigmaMin, "sigmaMin must be a positive finite number.");
        if (!(sigmaMax > sigmaMin) || double.IsInfinity(sigmaMax))
            throw new ArgumentOutOfRangeException(nameof(sigmaMax), sigmaMax, $"sigmaMax must be finite and greater than sigmaMin ({sigmaMin}).");
        SigmaMin = sigmaMin;
        SigmaMax = sigmaMax;
        LogRatio = System.Math.Log(sigmaMax / sigmaMin);
    }

    /// <summary>Noise level at t = 0.</summary>
    public double SigmaMin { get; }
    /// <summary>Noise level at t = 1.</summary>
    public double SigmaMax { get; }
    /// <summary>ln(sigma_max / sigma_min).</summary>
    public double LogRatio { get; }

    private static readonly Arithmetic<double> Doubles = new((c, x) => c * x, (x, y) => x * y, System.Math.Exp);
    private static readonly Arithmetic<Tensor> Tensors = new((c, x) => c * x, (x, y) => x * y, torch.exp);

    /// <summary>sigma(t).</summary>
    public double Sigma(double t) => Sigma(t, Doubles);
    /// <summary>sigma(t), elementwise.</summary>
    public Tensor Sigma(Tensor t) => Sigma(t, Tensors);
    /// <summary>sigma(t) = sigma_min exp(ln(sigma_max / sigma_min) t) in <paramref name="a"/>'s arithmetic.</summary>
    internal T Sigma<T>(T t, Arithmetic<T> a) => a.Scale(SigmaMin, a.Exp(a.Scale(LogRatio, t)));

    /// <summary>Diffusion coefficient g(t).</summary>
    public double G(double t) => Sigma(t) * System.Math.Sqrt(2 * LogRatio);
    /// <summary>g(t)^2 = 2 ln(sigma_max/sigma_min) sigma(t)^2, elementwise.</summary>
    public Tensor GSquared(Tensor t)
    {
        using var s = Sigma(t);
        return 2 * LogRatio * s * s;
    }

    /// <summary>
    /// The probability-flow scale -g(t)^2 / 2 = -ln(sigma_max / sigma_min) sigma^2 at noise level sigma = sigma(t),
    /// elementwise: the probability-flow ODE is dx/dt = scale * score (the reflection adds no drift inside the box).
    /// </summary>
    public Tensor ProbabilityFlowScale(Tensor sigma)
    {
        using var scope = NewDisposeScope();
        return ProbabilityFlowScale(sigma, Tensors).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="ProbabilityFlowScale(Tensor)"/> in <paramref name="a"/>'s arithmetic.</summary>
    internal T ProbabilityFlowScale<T>(T sigma, Arithmetic<T> a) => a.Multiply(a.Scale(-LogRatio, sigma), sigma);

    /// <summary>
    /// The probability-flow velocity dx/dt = -g(t)^2 / 2 * s for the score <paramref name="score"/> [B, d] evaluated
    /// at the noise levels <paramref name="sigma"/> [B].
    /// </summary>
    public Tensor ProbabilityFlowVelocity(Tensor score, Tensor sigma)
    {
        using var scope = NewDisposeScope();
        return (ProbabilityFlowScale(sigma).unsqueeze(1) * score).MoveToOuterDisposeScope();
    }

    /// <summary>The time at which the noise level is <paramref name="sigma"/>.</summary>
    public double TimeOf(double sigma) => System.Math.Log(sigma / SigmaMin) / LogRatio;

    /// <summary>Exact draw of x_t given x_0: x_0 + sigma z folded into the box. Also returns the noise-free offset.</summary>
    public Tensor SampleTransition(Tensor x0, Tensor sigma, Generator? generator = null)
    {
        using var scope = NewDisposeScope();
        var z = torch.randn(x0.shape, dtype: x0.dtype, device: x0.device, generator: generator);
        return ReflectedHeatKernel.Reflect(x0 + sigma * z).MoveToOuterDisposeScope();
    }

    /// <summary>A draw from the prior, uniform on [0,1]^d (the reflected process at sigma_max).</summary>
    public static Tensor SamplePrior(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, Generator? generator = null)
        => torch.rand(shape, dtype: dtype, device: device, generator: generator);

    /// <summary>The prior log-density on the unit box: 0 everywhere (uniform).</summary>
    public static double PriorLogDensity => 0.0;
}
