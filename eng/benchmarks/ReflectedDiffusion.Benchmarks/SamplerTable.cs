using System.Diagnostics;
using ReflectedDiffusion.Density;
using ReflectedDiffusion.Evaluation;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Sde;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Per sampler: sliced W1 against the exact distribution (an 8-D kernel mixture with mass at faces and corners),
/// score evaluations per sample, and time per 1,000 samples with the exact score and with a ResidualMlp
/// (width 256, 3 blocks: what a trained model costs). Also the likelihood error against the exact log-density.
/// </summary>
internal static class SamplerTable
{
    private static readonly KernelMixture Mixture = new(
        new double[,]
        {
            { 0.0, 0.3, 0.5, 1.0, 0.2, 0.9, 0.5, 0.0 },
            { 1.0, 1.0, 0.2, 0.0, 0.8, 0.1, 0.5, 0.6 },
            { 0.5, 0.0, 0.9, 0.5, 0.0, 0.5, 1.0, 0.3 },
        }, [0.06, 0.08, 0.1]);

    public static void Run(int n)
    {
        var sde = new ReflectedVeSde(0.01, 5);
        using var g1 = new Generator(101);
        using var g2 = new Generator(202);
        using var reference = Mixture.Sample(n, g1, sde.SigmaMin);
        using var independent = Mixture.Sample(n, g2, sde.SigmaMin);
        Console.WriteLine($"8-D oracle, {n} samples; two-sample floor of sliced W1: {Metrics.SlicedWasserstein1(reference, independent, 128, 9):F5}");
        torch.random.manual_seed(1);
        using var mlp = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 8 });
        Console.WriteLine("| sampler | steps | sliced W1 | NFE per sample | s per 1,000 (exact score) | s per 1,000 (MLP) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (kind, steps) in new[] { (SamplerKind.ReflectedSde, 250), (SamplerKind.PredictorCorrector, 150), (SamplerKind.OdeAdaptive, 0), (SamplerKind.OdeHeun, 100) })
        {
            var options = new SamplerOptions { Steps = System.Math.Max(1, steps), Seed = 17 };
            var clock = Stopwatch.StartNew();
            var result = Sampler.Generate(Mixture, sde, n, kind, options);
            double exactTime = clock.Elapsed.TotalSeconds / n * 1000;
            double sw = Metrics.SlicedWasserstein1(result.Samples, reference, 128, 9);
            clock.Restart();
            using var _ = torch.no_grad();
            Sampler.Generate(mlp, sde, 1000, kind, options).Samples.Dispose();
            double mlpTime = clock.Elapsed.TotalSeconds;
            Console.WriteLine($"| {kind} | {(steps > 0 ? steps.ToString() : "adaptive")} | {sw:F5} | {result.EvaluationsPerSample:F1} | {exactTime:F2} | {mlpTime:F2} |");
            result.Samples.Dispose();
        }

        var likelihoodSde = new ReflectedVeSde(ReflectedVeSde.LikelihoodSigmaMin, 5);
        using var x = Mixture.Sample(200, g1, likelihoodSde.SigmaMin);
        var clock2 = Stopwatch.StartNew();
        var ll = Likelihood.Evaluate(Mixture, likelihoodSde, x);
        double seconds = clock2.Elapsed.TotalSeconds;
        var exact = Mixture.LogDensity(x, torch.tensor(likelihoodSde.SigmaMin)).data<double>().ToArray();
        var err = ll.LogLikelihood.Zip(exact, (a, b) => System.Math.Abs(a - b) / 8).ToArray();
        Console.WriteLine($"likelihood (exact trace, RK45 rtol=atol=1e-5, 200 points): mean |error| {err.Average():E2} nats/dim, max {err.Max():E2}, NFE {ll.EvaluationsPerRow:F0}, {seconds / 200 * 1000:F2} s per 1,000 rows");
    }
}
