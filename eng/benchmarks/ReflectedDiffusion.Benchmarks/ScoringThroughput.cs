using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Likelihood scoring throughput of the same compiled graph, side by side in one run: the built-in chain that
/// mlContext.Model.Load gives back (ML.NET's row-at-a-time OnnxTransformer), the fitted transformer's Transform
/// (lazy batches) and ScoreBatched (eager, batch 1024).
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
        ml.RegisterReflectedDiffusion();
        var rng = new Random(1);
        IDataView Data(int n) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, n)
            .Select(_ => new Row { Features = Enumerable.Range(0, 8).Select(_ => (float)rng.NextDouble()).ToArray() }).ToList());
        var train = Data(500);
        using var model = ml.Transforms.ReflectedDiffusion(new ReflectedDiffusionOptions { NumberOfSteps = 50, HiddenWidth = 128, Blocks = 2, LikelihoodSteps = 50 }).Fit(train);
        var saved = new MemoryStream();
        ml.Model.Save(model, train.Schema, saved);
        saved.Position = 0;
        var loaded = ml.Model.Load(saved, out _);
        var data = Data(rows);
        float[] Column(ITransformer t, IDataView d) => t.Transform(d).GetColumn<float>(ReflectedDiffusionEstimator.LogLikelihoodColumn).ToArray();
        Column(loaded, Data(20)); // warm-up
        Column(model, Data(20));
        model.ScoreBatched(Data(20));

        var clock = Stopwatch.StartNew();
        var rowAtATime = Column(loaded, data);
        double slow = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var transformed = Column(model, data);
        double lazy = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var (batched, _) = model.ScoreBatched(data, batchSize: 1024);
        double eager = clock.Elapsed.TotalSeconds;
        double MaxDiff(float[] a) => rowAtATime.Zip(a, (x, y) => (double)System.Math.Abs(x - y)).Max();
        Console.WriteLine($"{rows} rows, d = 8, 50 RK4 steps, rows/s: loaded chain (row at a time) {rows / slow:F0}; " +
                          $"Transform (batches of 256) {rows / lazy:F0}, {slow / lazy:F1}x; ScoreBatched (1024) {rows / eager:F0}, {slow / eager:F1}x; " +
                          $"max |difference| {MaxDiff(transformed):E1}, {MaxDiff(batched):E1}");
    }
}
