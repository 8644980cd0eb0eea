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
/// by partitioning the elements, so no element ever sees the other branch: neither its values nor its
/// gradients can leak NaN, and no work is wasted.</para>
/// <para>Inputs of any floating dtype are evaluated in float64 and returned in the dtype of <c>x</c>.
/// Points outside [0,1] are first folded into it (the images sum is even and 2-periodic), so every finite
/// input with sigma &gt; 0 gives a finite result.</para>
/// </remarks>
public static class ReflectedHeatKernel
{
    static ReflectedHeatKernel() => TorchRuntime.EnsureConfigured();

    /// <summary>Below this sigma the images series is used, above it the cosine series.</summary>
    public const double BranchSigma = 0.5;

    // Images at shifts 2k, |k| <= K: the nearest image lies within 1 of x and the first omitted one at least
    // 2K + 1 away, a relative weight below exp(-((2K+1)^2 - 1) / (2 sigma^2)): K = 1 gives exp(-100) at
    // sigma <= 0.2, K = 2 gives exp(-48) at sigma <= 0.5.
    private const double OneShiftSigma = 0.2;

    // Cosine terms: at sigma >= 0.5 the first omitted term is exp(-9^2 pi^2 / 8) ~ 1e-44, against p >= 0.4.
    private const int CosineTerms = 8;

    /// <summary>
    /// Folds values into [0,1] by reflection at the faces: floor-modulo 2, then mirror (1.2 -> 0.8, -0.3 -> 0.3).
    /// Values already in the box are returned unchanged (bit for bit).
    /// </summary>
    public static Tensor Reflect(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Fold(x, out _).MoveToOuterDisposeScope();
    }

    // The fold, and m = x mod 2 (floor modulo): the score changes sign where m > 1 (mirrored stretches).
    private static Tensor Fold(Tensor x, out Tensor m)
    {
        m = x - 2 * torch.floor(0.5 * x);
        return torch.where((x >= 0) & (x <= 1), x, 1 - torch.abs(m - 1));
    }

    /// <summary>Folds a scalar into [0,1]; the scalar twin of <see cref="Reflect(Tensor)"/>.</summary>
    public static double Reflect(double x)
    {
        if (x >= 0 && x <= 1) return x;
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
        var xr = Fold(xd, out var m);
        var shape = torch.broadcast_shapes(xr.shape, x0d.shape, sd.shape);
        xr = xr.expand(shape);
        x0d = x0d.expand(shape);
        sd = sd.expand(shape);

        // Each element is evaluated by its own branch only: partition the flattened elements by regime.
        var useImages = (sd <= BranchSigma).flatten();
        var (xf, x0f, sf) = (xr.flatten(), x0d.flatten(), sd.flatten());
        var imageIdx = useImages.nonzero().squeeze(1);
        var cosineIdx = (~useImages).nonzero().squeeze(1);
        var result = torch.empty_like(xf);
        if (imageIdx.shape[0] > 0)
        {
            var (xi, x0i, si) = (xf.index_select(0, imageIdx), x0f.index_select(0, imageIdx), sf.index_select(0, imageIdx));
            int shifts = si.max().item<double>() <= OneShiftSigma ? 1 : 2;
            result.index_copy_(0, imageIdx, wantScore ? ImagesScore(xi, x0i, si, shifts) : ImagesLogDensity(xi, x0i, si, shifts));
        }
        if (cosineIdx.shape[0] > 0)
        {
            var (xc, x0c, sc) = (xf.index_select(0, cosineIdx), x0f.index_select(0, cosineIdx), sf.index_select(0, cosineIdx));
            result.index_copy_(0, cosineIdx, wantScore ? CosineScore(xc, x0c, sc) : CosineLogDensity(xc, x0c, sc));
        }
        result = result.reshape(shape.ToArray());
        if (wantScore)
            result = torch.where(m > 1, -result, result);
        return result.to(outType).MoveToOuterDisposeScope();
    }

    // Signed offsets x - c for every image c, stacked on a new leading axis: [images, n]. With the series index
    // leading, every reduction below runs over a few contiguous rows of length n (vectorised elementwise work)
    // instead of over a short strided last axis. (Dimension arguments are written 0L: a bare 0 binds to the
    // ScalarType overloads.) Offsets are formed from exact
    // differences (x - x0, x + x0, (x - 1) + (x0 - 1)) so that near-coincident points keep full precision.
    private static Tensor ImageOffsets(Tensor x, Tensor x0, int shifts)
    {
        var direct = x - x0;                  // image at x0
        var mirrorLow = x + x0;               // image at -x0
        var mirrorHigh = (x - 1) + (x0 - 1);  // image at 2 - x0
        var offsets = new List<Tensor>(4 * shifts + 3) { direct, mirrorLow, mirrorHigh };
        for (int k = 1; k <= shifts; k++)
        {
            offsets.Add(direct + 2 * k);
            offsets.Add(direct - 2 * k);
            offsets.Add(mirrorLow + 2 * k);
            offsets.Add(mirrorHigh - 2 * k);
        }
        return torch.stack(offsets, 0L);
    }

    private static Tensor ImagesLogDensity(Tensor x, Tensor x0, Tensor sigma, int shifts)
    {
        var z = ImageOffsets(x, x0, shifts) / sigma;
        return torch.logsumexp(Logits(z), 0L) - torch.log(sigma) - 0.5 * System.Math.Log(2 * System.Math.PI);
    }

    private static Tensor ImagesScore(Tensor x, Tensor x0, Tensor sigma, int shifts)
    {
        var z = ImageOffsets(x, x0, shifts) / sigma;
        var w = torch.softmax(Logits(z), dim: 0);
        return -(w * z).sum(0L) / sigma;
    }

    // Image log-weights -z^2/2, floored 600 below the largest: exp() of the floored values stays a normal
    // number (denormals are tens of times slower on x86), and weights below e^-600 change nothing.
    private static Tensor Logits(Tensor z)
    {
        var logits = -0.5 * z * z;
        return torch.maximum(logits, logits.amax([0L], keepdim: true) - 600);
    }

    // Returns (p, dp/dx) of the cosine series: p = 1 + 2 sum_k exp(-k^2 pi^2 tau) cos(k pi x) cos(k pi x0).
    // cos(k pi x), sin(k pi x) and cos(k pi x0) come from the angle-addition recurrence: three trig calls per
    // element instead of three per element and term.
    private static (Tensor P, Tensor DP) CosineSeries(Tensor x, Tensor x0, Tensor sigma)
    {
        var tau = 0.5 * sigma * sigma;
        var (c1, s1) = (torch.cos(System.Math.PI * x), torch.sin(System.Math.PI * x));
        var (d1, e1) = (torch.cos(System.Math.PI * x0), torch.sin(System.Math.PI * x0));
        Tensor ck = c1, sk = s1, dk = d1, ek = e1;
        var p = torch.ones_like(x);
        var dp = torch.zeros_like(x);
        for (int k = 1; k <= CosineTerms; k++)
        {
            if (k > 1)
            {
                (ck, sk) = (ck * c1 - sk * s1, sk * c1 + ck * s1);
                (dk, ek) = (dk * d1 - ek * e1, ek * d1 + dk * e1);
            }
            double kpi = k * System.Math.PI;
            var a = 2 * torch.exp((-(kpi * kpi) * tau).clamp_min(-600)) * dk;  // clamp: no denormals
            p = p + a * ck;
            dp = dp - kpi * a * sk;
        }
        return (p, dp);
    }

    private static Tensor CosineLogDensity(Tensor x, Tensor x0, Tensor sigma) => torch.log(CosineSeries(x, x0, sigma).P);

    private static Tensor CosineScore(Tensor x, Tensor x0, Tensor sigma)
    {
        var (p, dp) = CosineSeries(x, x0, sigma);
        return dp / p;
    }
}
