using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Likelihood scoring at the default network (width 256, 3 blocks, exact trace, folded flow) on a 13-feature model
/// (the first 13 columns of breast cancer, first anomaly split), through the three ways users score, for the old
/// default (100 RK4 steps) and the given solver settings side by side in one process, alternating rounds: the fitted
/// transformer's Transform (batches through one session), the same file loaded with LoadBatched (batched too), the chain
/// mlContext.Model.Load gives back, and a prediction engine on it (both ML.NET's row-at-a-time OnnxTransformer). Accuracy: mean and largest |difference| in
/// log-likelihood per dimension against a fine solve (1,000 RK4 steps) over the same rows inside the bounds.
/// RDIFF_SCORING_MODEL=path keeps the trained model there and reuses it (for repeated runs; threshold then infinite).
/// </summary>
internal static class ScoringPaths
{
    private const int Dimension = 13;

    private sealed class Row
    {
        [VectorType(Dimension)] public float[] Features = [];
    }

    private sealed class Scored
    {
        public float LogLikelihood { get; set; }
    }

    /// <param name="settings">Solver settings: "rk4:N" (N fixed steps) or "tol:X" (adaptive to tolerance X); the first is the baseline.</param>
    public static void Run(int rows, int rowAtATimeRows, int trainingSteps, double? sigmaMin, IReadOnlyList<string> settings, int rounds)
    {
        var data = AnomalyBenchmark.Sets.First(s => s.Key == "breast").Load();
        var (train, test, _) = AnomalyBenchmark.Split(data, 1);
        float[] Cut(float[] r) => r[..Dimension];
        var trainRows = train.Select(Cut).ToList();
        var testRows = test.Select(Cut).Take(rows).ToList();
        var ml = new MLContext(seed: 1);
        ml.RegisterReflectedDiffusion();
        var options = new ReflectedDiffusionOptions { NumberOfSteps = trainingSteps, SigmaMin = sigmaMin, Context = ml, FoldLikelihoodFlow = Fold, NeumannFaces = Neumann };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Scoring paths: breast cancer's first {Dimension} columns, {trainRows.Count} training rows, {testRows.Count} test rows ({rowAtATimeRows} row at a time); network {options.HiddenWidth}x{options.Blocks}, {trainingSteps} training steps, {Environment.ProcessorCount} cores"));
        var cached = Environment.GetEnvironmentVariable("RDIFF_SCORING_MODEL");
        using var fitted = cached is not null && File.Exists(cached)
            ? ReflectedDiffusionTransformer.FromScoreModel(ScoreModel.Load(cached))
            : ml.Transforms.ReflectedDiffusion(options).Fit(VectorDataView.Create(ml, trainRows, Dimension));
        var modelPath = Path.GetTempFileName();
        fitted.Model.Save(modelPath);
        if (cached is not null && !File.Exists(cached)) fitted.Model.Save(cached);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SigmaMin {fitted.Model.Sde.SigmaMin:G3}, threshold {fitted.Threshold:G4}, tail {fitted.TailBandwidth:G3}"));

        var flat = testRows.SelectMany(r => r).ToArray();
        using var fine = new OnnxScorer(LikelihoodGraph.Build(fitted.Model, LikelihoodSolver.Rk4(1000), foldSteps: options.FoldLikelihoodFlow), Dimension);
        var clock = Stopwatch.StartNew();
        var reference = fine.Score(flat).LogLikelihood;
        Console.WriteLine($"fine solve (1,000 RK4 steps): {clock.Elapsed.TotalSeconds:F1} s; {reference.Count(float.IsFinite)} of {reference.Length} rows inside the bounds");

        var view = VectorDataView.Create(ml, testRows, Dimension);
        var single = VectorDataView.Create(ml, testRows.Take(rowAtATimeRows).ToList(), Dimension);
        var transformers = settings.Select(s =>
        {
            var o = Parse(s);
            (o.Threshold, o.TailBandwidth) = (double.IsFinite(fitted.Threshold) ? fitted.Threshold : null, fitted.TailBandwidth);
            var t = ReflectedDiffusionTransformer.FromScoreModel(ScoreModel.Load(modelPath), o);
            var saved = new MemoryStream();
            ml.Model.Save(t, view.Schema, saved);
            saved.Position = 0;
            var loaded = ml.Model.Load(saved, out _);
            saved.Position = 0;
            var batched = ml.Model.LoadBatched(saved, out _);
            return (Setting: s, Fitted: t, Loaded: loaded, Batched: batched, Engine: ml.Model.CreatePredictionEngine<Row, Scored>(loaded));
        }).ToList();
        var rates = transformers.Select(_ => new List<double>[] { [], [], [], [] }).ToList();
        var values = new float[transformers.Count][];
        for (int round = 0; round < rounds; round++)
            for (int i = 0; i < transformers.Count; i++)
            {
                var (_, t, loaded, batched, engine) = transformers[i];
                clock.Restart();
                values[i] = t.Transform(view).GetColumn<float>(ReflectedDiffusionEstimator.LogLikelihoodColumn).ToArray();
                rates[i][0].Add(testRows.Count / clock.Elapsed.TotalSeconds);
                clock.Restart();
                var viaBatched = batched.Transform(view).GetColumn<float>(ReflectedDiffusionEstimator.LogLikelihoodColumn).ToArray();
                rates[i][3].Add(testRows.Count / clock.Elapsed.TotalSeconds);
                if (round == 0)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{transformers[i].Setting}: loaded batched against Transform, max |difference| {viaBatched.Zip(values[i], (a, b) => System.Math.Abs(a - b)).Max():G3} nats"));
                if (rowAtATimeRows == 0) continue;
                clock.Restart();
                var viaLoaded = loaded.Transform(single).GetColumn<float>(ReflectedDiffusionEstimator.LogLikelihoodColumn).ToArray();
                rates[i][1].Add(rowAtATimeRows / clock.Elapsed.TotalSeconds);
                clock.Restart();
                var viaEngine = testRows.Take(rowAtATimeRows).Select(r => engine.Predict(new Row { Features = r }).LogLikelihood).ToArray();
                rates[i][2].Add(rowAtATimeRows / clock.Elapsed.TotalSeconds);
                if (round == 0)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{transformers[i].Setting}: row at a time against batched, max |difference| {viaLoaded.Zip(values[i], (a, b) => System.Math.Abs(a - b)).Concat(viaEngine.Zip(values[i], (a, b) => System.Math.Abs(a - b))).Max():G3} nats"));
            }

        Console.WriteLine();
        Console.WriteLine("| solver | Transform (rows/s) | loaded, LoadBatched (rows/s) | loaded chain, Model.Load (rows/s) | prediction engine (rows/s) | mean abs. diff. (nats/dim) | max abs. diff. |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        for (int i = 0; i < transformers.Count; i++)
        {
            var diff = values[i].Zip(reference, (a, b) => System.Math.Abs((double)a - b) / Dimension).Where(double.IsFinite).ToArray();
            string Cell(int path)
            {
                if (rates[i][path].Count == 0) return "-";
                double median = Median(rates[i][path]);
                return i == 0 ? $"{median:F1}" : $"{median:F1} ({median / Median(rates[0][path]):F1}x)";
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Describe(Parse(transformers[i].Setting))} | {Cell(0)} | {Cell(3)} | {Cell(1)} | {Cell(2)} | {diff.Average():E1} | {diff.Max():E1} |"));
        }
        foreach (var t in transformers) { t.Engine.Dispose(); t.Fitted.Dispose(); (t.Loaded as IDisposable)?.Dispose(); (t.Batched as IDisposable)?.Dispose(); }
        File.Delete(modelPath);
    }

    // RDIFF_SCORING_FOLD=0: every solve unfolded (FoldLikelihoodFlow = false), the reference included.
    private static bool Fold => Environment.GetEnvironmentVariable("RDIFF_SCORING_FOLD") != "0";
    // RDIFF_SCORING_NEUMANN=1: the model trained with NeumannFaces (a model cached by RDIFF_SCORING_MODEL keeps its own setting).
    private static bool Neumann => Environment.GetEnvironmentVariable("RDIFF_SCORING_NEUMANN") == "1";

    private static ReflectedDiffusionOptions Parse(string setting)
    {
        var parts = setting.Split(':');
        return parts[0] switch
        {
            "rk4" => new ReflectedDiffusionOptions { LikelihoodSteps = int.Parse(parts[1], CultureInfo.InvariantCulture), FoldLikelihoodFlow = Fold },
            "tol" => new ReflectedDiffusionOptions { LikelihoodSteps = null, LikelihoodTolerance = double.Parse(parts[1], CultureInfo.InvariantCulture), FoldLikelihoodFlow = Fold },
            _ => throw new ArgumentException($"Setting '{setting}': expected rk4:STEPS or tol:TOLERANCE."),
        };
    }

    private static string Describe(ReflectedDiffusionOptions o)
        => o.LikelihoodSteps is { } steps ? $"RK4, {steps} steps" : string.Create(CultureInfo.InvariantCulture, $"adaptive, tolerance {o.LikelihoodTolerance:G3}");

    private static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
