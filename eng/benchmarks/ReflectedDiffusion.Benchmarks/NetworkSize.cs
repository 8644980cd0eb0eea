using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Whether a smaller vector network scores as well as a larger one at the estimator's default options: per data set,
/// split (the anomaly benchmark's protocol) and network size, one model fitted with every other option at its default
/// (SigmaMin chosen from the training rows, the default training length), then the test rows through the fitted
/// transformer's Transform (one pass: likelihood and Score). Prints the held-out normal rows' mean log-likelihood per
/// dimension (the density's quality; rows outside the bounds counted apart), the AUC of the default Score and of the
/// likelihood score, the training time and the scoring rate. The sizes alternate within each split, so a ratio of
/// rates compares like with like. A size written WxBn trains with NeumannFaces.
/// </summary>
internal static class NetworkSize
{
    private sealed class Row
    {
        public float[] Features = [];
    }

    private sealed class Scored
    {
        public float LogLikelihood { get; set; }
        public float Score { get; set; }
    }

    public static void Run(IReadOnlyCollection<string> sets, int splits, IReadOnlyList<(int Width, int Blocks, bool Neumann)> sizes)
    {
        Console.WriteLine($"Network size at the default options ({Environment.ProcessorCount} cores); held-out log-likelihood per dimension over the held-out normal rows inside the bounds");
        Console.WriteLine("| data set | split | network | SigmaMin | held-out nats/dim (rows inside) | AUC Score | AUC likelihood | training s | rows/s (Transform) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        var sums = new Dictionary<(string, string), double[]>();
        foreach (var data in AnomalyBenchmark.Sets.Where(s => sets.Contains(s.Key)).Select(s => s.Load()))
            for (int split = 1; split <= splits; split++)
            {
                var (train, test, labels) = AnomalyBenchmark.Split(data, split);
                int d = train[0].Length;
                foreach (var (width, blocks, neumann) in sizes)
                {
                    var ml = new MLContext(seed: 1);
                    var options = new ReflectedDiffusionOptions { HiddenWidth = width, Blocks = blocks, NeumannFaces = neumann, Seed = (ulong)split };
                    data.ApplyBounds(options);
                    var clock = Stopwatch.StartNew();
                    using var model = ml.Transforms.ReflectedDiffusion(options).Fit(VectorDataView.Create(ml, train, d));
                    double trainSeconds = clock.Elapsed.TotalSeconds;
                    var definition = SchemaDefinition.Create(typeof(Row));
                    definition[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
                    var view = ml.Data.LoadFromEnumerable(test.Select(f => new Row { Features = f }).ToList(), definition);
                    clock.Restart();
                    var scored = ml.Data.CreateEnumerable<Scored>(model.Transform(view), reuseRowObject: false).ToList();
                    double rate = test.Count / clock.Elapsed.TotalSeconds;
                    var heldOut = scored.Where((_, i) => labels[i] == 0).Select(s => (double)s.LogLikelihood).Where(double.IsFinite).ToList();
                    double nats = heldOut.Average() / d;
                    var likelihoodScore = scored.Select(s => float.IsFinite(s.LogLikelihood) ? -s.LogLikelihood : float.MaxValue).ToArray();
                    double aucScore = AnomalyBenchmark.Auc(scored.Select(s => s.Score).ToArray(), labels), aucLikelihood = AnomalyBenchmark.Auc(likelihoodScore, labels);
                    int normals = labels.Count(l => l == 0);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {data.Name} | {split} | {width}x{blocks}{(neumann ? " Neumann" : "")} | {model.Model.Sde.SigmaMin:G3} | {nats:F4} ({heldOut.Count}/{normals}) | {aucScore:F4} | {aucLikelihood:F4} | {trainSeconds:F0} | {rate:F1} |"));
                    var key = (data.Name, $"{width}x{blocks}{(neumann ? " Neumann" : "")}");
                    if (!sums.TryGetValue(key, out var sum)) sums[key] = sum = new double[5];
                    double[] values = [nats, aucScore, aucLikelihood, trainSeconds, rate];
                    for (int k = 0; k < values.Length; k++) sum[k] += values[k] / splits;
                }
            }
        Console.WriteLine();
        Console.WriteLine("| data set | network | mean held-out nats/dim | mean AUC Score | mean AUC likelihood | training s | rows/s |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var ((name, network), m) in sums)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {network} | {m[0]:F4} | {m[1]:F4} | {m[2]:F4} | {m[3]:F0} | {m[4]:F1} |"));
    }
}
