using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Training;

/// <summary>
/// Reflected denoising score matching: x_t = fold(x_0 + sigma(t) z), target = the reflected heat-kernel score
/// at (x_t, x_0), loss = lambda(t) ||s(x_t, sigma, label) - target||^2 reduced over dimensions. Needs no boundary
/// terms: the kernel is exact on the box. The standard process (baselines only) uses x_t = x_0 + sigma z and the
/// Gaussian target -z / sigma.
/// </summary>
public static class DenoisingScoreMatching
{
    /// <summary>Per-sample losses [B] for data x0 [B, d], times t [B] and standard normal noise z [B, d].</summary>
    public static Tensor PerSampleLoss(IScoreFunction model, ReflectedVeSde sde, Tensor x0, Tensor? labels, Tensor t,
        Tensor z, LossWeighting weighting, LossReduction reduction, DiffusionProcess process = DiffusionProcess.Reflected)
    {
        using var scope = NewDisposeScope();
        var sigma = sde.Sigma(t).to(x0.dtype).unsqueeze(1);
        Tensor xt, target;
        using (torch.no_grad())
        {
            if (process == DiffusionProcess.Reflected)
            {
                xt = ReflectedHeatKernel.Reflect(x0 + sigma * z);
                target = ReflectedHeatKernel.Score(xt, x0, sigma);
            }
            else
            {
                xt = x0 + sigma * z;
                target = -z / sigma;
            }
        }
        var score = model.Score(xt, sigma.squeeze(1), labels);
        // sigma^2 ||s - target||^2 = ||sigma s - sigma target||^2: both terms are of order one.
        var scaled = (score - target) * sigma;
        var perSample = reduction == LossReduction.HalfSum ? 0.5 * scaled.pow(2).sum(1) : scaled.pow(2).mean([1]);
        if (weighting == LossWeighting.Likelihood) perSample = perSample * (2 * sde.LogRatio);
        return perSample.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean loss over all rows of <paramref name="x0"/> with noise fixed by <paramref name="seed"/> and times on a
    /// stratified grid, without gradients: comparable across calls and across models, e.g. for held-out loss.
    /// </summary>
    public static double Evaluate(IScoreFunction model, ReflectedVeSde sde, Tensor x0, Tensor? labels, ulong seed,
        LossWeighting weighting = LossWeighting.Sigma2, LossReduction reduction = LossReduction.HalfSum, double minTime = 1e-5, int batchSize = 1024,
        DiffusionProcess process = DiffusionProcess.Reflected)
    {
        using var scope = NewDisposeScope();
        using var _ = torch.no_grad();
        var module = model as nn.Module;
        bool wasTraining = module?.training ?? false;
        module?.eval();
        long n = x0.shape[0];
        double total = 0;
        using var gen = new Generator((ulong)CounterRng.TorchSeed(seed, 0xE7A1));
        for (long start = 0; start < n; start += batchSize)
        {
            long len = System.Math.Min(batchSize, n - start);
            var xb = x0.narrow(0, start, len);
            var yb = labels?.narrow(0, start, len);
            var strata = (torch.arange(start, start + len, dtype: float64) + 0.5) / n;
            var t = (minTime + (1 - minTime) * strata).to(xb.dtype).to(xb.device);
            var z = torch.randn(xb.shape, dtype: xb.dtype, generator: gen).to(xb.device);
            total += PerSampleLoss(model, sde, xb, yb, t, z, weighting, reduction, process).sum().item<float>();
        }
        if (wasTraining) module!.train();
        return total / n;
    }
}
