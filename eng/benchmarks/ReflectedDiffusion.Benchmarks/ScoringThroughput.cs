using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Likelihood scoring throughput of the same compiled graph, side by side in one run: ML.NET's row-at-a-time
/// OnnxTransformer (Transform + GetColumn) versus the batched InferenceSession path (ScoreBatched).
/// </summary>
internal static class ScoringThroughput
{
    private sealed class Row
    {
        [VectorType(8)] public float[] Features = [];
    }

    public static void Run(int rows)
    {
        var ml = new MLContext(seed: 1);
        var rng = new Random(1);
        IDataView Data(int n) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, n)
            .Select(_ => new Row { Features = Enumerable.Range(0, 8).Select(_ => (float)rng.NextDouble()).ToArray() }).ToList());
        using var model = ml.Transforms.ReflectedDiffusion(new ReflectedDiffusionOptions { NumberOfSteps = 50, HiddenWidth = 128, Blocks = 2, LikelihoodSteps = 50 }).Fit(Data(500));
        var data = Data(rows);
        model.ScoreBatched(Data(50)); // warm-up
        model.Transform(Data(50)).GetColumn<float>("LogLikelihood").ToArray();

        var clock = Stopwatch.StartNew();
        var rowAtATime = model.Transform(data).GetColumn<float>("LogLikelihood").ToArray();
        double slow = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var (batched, _) = model.ScoreBatched(data, batchSize: 1024);
        double fast = clock.Elapsed.TotalSeconds;
        double maxDiff = rowAtATime.Zip(batched, (a, b) => (double)System.Math.Abs(a - b)).Max();
        Console.WriteLine($"{rows} rows, d = 8, 50 RK4 steps: ML.NET row-at-a-time {rows / slow:F0} rows/s, batched {rows / fast:F0} rows/s, " +
                          $"ratio {slow / fast:F1}x; max |difference| {maxDiff:E1}");
    }
}
