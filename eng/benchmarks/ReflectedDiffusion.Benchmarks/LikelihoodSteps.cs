using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// What the likelihood graph's step count and the network's size cost and buy at the default options: one model per
/// network size fitted on the first anomaly split of each data set (SigmaMin chosen from the training rows), its
/// test rows scored through the compiled graph (exact trace, folded flow, as the estimator compiles it) at several RK4
/// step counts. Prints rows per second, the mean and largest |difference| in log-likelihood per dimension against the
/// most steps, and the anomaly AUC, so a cheaper default can be checked for equal accuracy.
/// </summary>
internal static class LikelihoodSteps
{
    public static void Run(IReadOnlyCollection<string> sets, int trainingSteps)
    {
        int[] stepCounts = [10, 20, 30, 50, 100, 200];
        Console.WriteLine($"Likelihood graph steps and network size (training: {trainingSteps} steps, other options at their defaults)");
        Console.WriteLine("| data set | network | RK4 steps | rows/s | mean abs. diff. (nats/dim) | max abs. diff. | AUC |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var data in AnomalyBenchmark.Sets.Where(s => sets.Contains(s.Key)).Select(s => s.Load()))
        {
            var (train, test, labels) = AnomalyBenchmark.Split(data, 1);
            int d = train[0].Length;
            foreach (var (width, blocks) in new[] { (256, 3), (128, 2) })
            {
                var ml = new MLContext(seed: 1);
                var options = new ReflectedDiffusionOptions { NumberOfSteps = trainingSteps, HiddenWidth = width, Blocks = blocks };
                data.ApplyBounds(options);
                using var model = ml.Transforms.ReflectedDiffusion(options).Fit(VectorDataView.Create(ml, train, d));
                var rows = test.SelectMany(r => r).ToArray();
                var results = stepCounts.Select(steps =>
                {
                    using var scorer = new OnnxScorer(LikelihoodGraph.Build(model.Model, steps, foldSteps: options.FoldLikelihoodFlow), d);
                    scorer.Score(rows[..(d * 8)]); // warm-up
                    var clock = Stopwatch.StartNew();
                    var logp = scorer.Score(rows).LogLikelihood;
                    return (Steps: steps, RowsPerSecond: test.Count / clock.Elapsed.TotalSeconds, LogLikelihood: logp);
                }).ToList();
                var reference = results[^1].LogLikelihood;
                foreach (var r in results)
                {
                    var diff = r.LogLikelihood.Zip(reference, (a, b) => System.Math.Abs((double)a - b) / d).Where(double.IsFinite).DefaultIfEmpty(double.NaN).ToArray();
                    var score = r.LogLikelihood.Select(v => float.IsFinite(v) ? -v : float.MaxValue).ToArray();
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {data.Name} | {width}x{blocks} (SigmaMin {model.Model.Sde.SigmaMin:G3}) | {r.Steps} | {r.RowsPerSecond:F0} | {diff.Average():E1} | {diff.Max():E1} | {AnomalyBenchmark.Auc(score, labels):F4} |"));
                }
            }
        }
    }
}
