using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sde;

/// <summary>
/// The transition density of Brownian motion reflected at the faces of [0,1] (the heat kernel with
/// Neumann boundary conditions), its log and its score, elementwise on tensors.
/// </summary>
/// <remarks>
/// <para>The density after noise level <c>sigma</c> (heat time sigma^2/2) started at <c>x0</c> has two exact series:
/// a sum of Gaussian images at <c>x0 + 2k</c> and <c>-x0 + 2k</c>, fast for small sigma, and a Neumann cosine series,
/// fast for large sigma. Images are combined by log-sum-exp, so the result stays exact where
/// |x - x0| is many times sigma (a plain sum of exponentials underflows there). The branch is chosen per element
/// with a mask, and the unselected branch is evaluated at a harmless sigma so that neither its values nor its
/// gradients can leak NaN.</para>
/// <para>Inputs of any floating dtype are evaluated in float64 and returned in the dtype of <c>x</c>.
/// Points outside [0,1] are first folded into it (the images sum is even and 2-periodic), so every finite
/// input with sigma &gt; 0 gives a finite result.</para>
/// </remarks>
public static class ReflectedHeatKernel
{
    /// <summary>Below this sigma the images series is used, above it the cosine series.</summary>
    public const double BranchSigma = 0.5;

    // Images at shifts 2k, k in [-ImageShifts, ImageShifts]: at sigma <= 0.5 the first omitted image lies
    // at least 5 away, a relative weight below exp(-50).
    private const int ImageShifts = 3;

    // Cosine terms: at sigma >= 0.5 the first omitted term is exp(-13^2 pi^2 / 8) ~ 1e-90.
    private const int CosineTerms = 12;

    /// <summary>Folds values into [0,1] by reflection at the faces: floor-modulo 2, then mirror (1.2 -> 0.8, -0.3 -> 0.3).</summary>
    public static Tensor Reflect(Tensor x)
    {
        using var scope = NewDisposeScope();
        var m = x - 2 * torch.floor(0.5 * x);
        return (1 - torch.abs(m - 1)).MoveToOuterDisposeScope();
    }

    /// <summary>Folds a scalar into [0,1]; the scalar twin of <see cref="Reflect(Tensor)"/>.</summary>
    public static double Reflect(double x)
    {
        double m = x - 2 * System.Math.Floor(0.5 * x);
        return 1 - System.Math.Abs(m - 1);
    }

    /// <summary>Log transition density log p_sigma(x | x0) on [0,1]; sigma broadcasts against x.</summary>
    public static Tensor LogDensity(Tensor x, Tensor x0, Tensor sigma) => Evaluate(x, x0, sigma, wantScore: false);

    /// <summary>Score d/dx log p_sigma(x | x0) on [0,1]; sigma broadcasts against x.</summary>
    public static Tensor Score(Tensor x, Tensor x0, Tensor sigma) => Evaluate(x, x0, sigma, wantScore: true);

    /// <summary>Log transition density with a scalar sigma.</summary>
    public static Tensor LogDensity(Tensor x, Tensor x0, double sigma)
    {
        using var s = torch.tensor(sigma, float64);
        return LogDensity(x, x0, s);
    }

    /// <summary>Score with a scalar sigma.</summary>
    public static Tensor Score(Tensor x, Tensor x0, double sigma)
    {
        using var s = torch.tensor(sigma, float64);
        return Score(x, x0, s);
    }

    private static Tensor Evaluate(Tensor x, Tensor x0, Tensor sigma, bool wantScore)
    {
        var outType = torch.is_floating_point(x) ? x.dtype : float32;
        using var scope = NewDisposeScope();
        var xd = x.to(float64);
        var x0d = Reflect(x0.to(float64));
        var sd = sigma.to(float64, device: x.device);

        // Fold x into the box; the score flips sign on mirrored stretches.
        var m = xd - 2 * torch.floor(0.5 * xd);
        var xr = 1 - torch.abs(m - 1);
        var shape = torch.broadcast_shapes(xr.shape, x0d.shape, sd.shape);
        xr = xr.expand(shape);
        x0d = x0d.expand(shape);
        sd = sd.expand(shape);

        var useImages = sd <= BranchSigma;
        var sImages = torch.where(useImages, sd, torch.full_like(sd, BranchSigma));
        var sCosine = torch.where(useImages, torch.full_like(sd, 1.0), sd);

        Tensor result = wantScore
            ? torch.where(useImages, ImagesScore(xr, x0d, sImages), CosineScore(xr, x0d, sCosine))
            : torch.where(useImages, ImagesLogDensity(xr, x0d, sImages), CosineLogDensity(xr, x0d, sCosine));
        if (wantScore)
            result = torch.where(m > 1, -result, result);
        return result.to(outType).MoveToOuterDisposeScope();
    }

    // Signed offsets x - c for every image c, stacked on a new last axis. Offsets are formed from exact
    // differences (x - x0, x + x0, (x - 1) + (x0 - 1)) so that near-coincident points keep full precision.
    private static Tensor ImageOffsets(Tensor x, Tensor x0)
    {
        var direct = x - x0;                  // image at x0
        var mirrorLow = x + x0;               // image at -x0
        var mirrorHigh = (x - 1) + (x0 - 1);  // image at 2 - x0
        var offsets = new List<Tensor>(4 * ImageShifts + 3) { direct, mirrorLow, mirrorHigh };
        for (int k = 1; k <= ImageShifts; k++)
        {
            offsets.Add(direct + 2 * k);
            offsets.Add(direct - 2 * k);
            offsets.Add(mirrorLow + 2 * k);
            offsets.Add(mirrorHigh - 2 * k);
        }
        return torch.stack(offsets, -1);
    }

    private static Tensor ImagesLogDensity(Tensor x, Tensor x0, Tensor sigma)
    {
        var s = sigma.unsqueeze(-1);
        var z = ImageOffsets(x, x0) / s;
        return torch.logsumexp(-0.5 * z * z, -1) - torch.log(sigma) - 0.5 * System.Math.Log(2 * System.Math.PI);
    }

    private static Tensor ImagesScore(Tensor x, Tensor x0, Tensor sigma)
    {
        var s = sigma.unsqueeze(-1);
        var u = ImageOffsets(x, x0);
        var z = u / s;
        var w = torch.softmax(-0.5 * z * z, -1);
        return -(w * z).sum(-1) / sigma;
    }

    // Returns (p, dp/dx) of the cosine series: p = 1 + 2 sum_k exp(-k^2 pi^2 tau) cos(k pi x) cos(k pi x0).
    private static (Tensor P, Tensor DP) CosineSeries(Tensor x, Tensor x0, Tensor sigma)
    {
        var k = torch.arange(1, CosineTerms + 1, dtype: float64, device: x.device);
        var kpi = k * System.Math.PI;
        var tau = (0.5 * sigma * sigma).unsqueeze(-1);
        var decay = torch.exp(-kpi * kpi * tau);
        var ax = kpi * x.unsqueeze(-1);
        var c0 = torch.cos(kpi * x0.unsqueeze(-1));
        var p = 1 + 2 * (decay * torch.cos(ax) * c0).sum(-1);
        var dp = -2 * (decay * kpi * torch.sin(ax) * c0).sum(-1);
        return (p, dp);
    }

    private static Tensor CosineLogDensity(Tensor x, Tensor x0, Tensor sigma) => torch.log(CosineSeries(x, x0, sigma).P);

    private static Tensor CosineScore(Tensor x, Tensor x0, Tensor sigma)
    {
        var (p, dp) = CosineSeries(x, x0, sigma);
        return dp / p;
    }
}
