using System.Globalization;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Anomaly detection against classic detectors on public data sets. Protocol per data set and split: the normal classes
/// are shuffled with the split's seed; two thirds train; the test set is the other third plus every row of the anomaly
/// classes. Every detector sees only the training rows (the classic ones standardised with the training mean and
/// standard deviation). Area under the ROC curve of each detector's score (higher = more anomalous), by the rank
/// statistic; ours is also checked against ML.NET's anomaly evaluator.
/// </summary>
internal static class AnomalyBenchmark
{
    // PixelRange: the known value range of every feature (pixels), used as explicit bounds: some pixels are constant in
    // the normal rows, and data bounds refuse a constant feature.
    internal sealed record DataSet(string Name, string Anomaly, List<float[]> Normal, List<float[]> Anomalous, (double Lower, double Upper)? PixelRange = null)
    {
        /// <summary>Sets explicit bounds for a data set with a known pixel range; data bounds otherwise.</summary>
        public void ApplyBounds(ReflectedDiffusionOptions options)
        {
            if (PixelRange is not { } range) return;
            int d = Normal[0].Length;
            options.Bounds = BoundsSource.Explicit;
            options.LowerBounds = Enumerable.Repeat(range.Lower, d).ToArray();
            options.UpperBounds = Enumerable.Repeat(range.Upper, d).ToArray();
        }
    }

    /// <summary>The data sets by key (breast, penguins, digits).</summary>
    internal static readonly IReadOnlyList<(string Key, Func<DataSet> Load)> Sets = [("breast", BreastCancer), ("penguins", Penguins), ("digits", Digits)];

    /// <summary>The split's training rows (two thirds of the normal rows), test rows (the rest and every anomaly) and test labels (1 = anomaly).</summary>
    internal static (List<float[]> Train, List<float[]> Test, float[] Labels) Split(DataSet data, int split)
    {
        var order = data.Normal.Select((_, i) => i).OrderBy(i => Training.CounterRng.Hash((ulong)split, (ulong)i)).ToList();
        int trainCount = data.Normal.Count * 2 / 3;
        var train = order.Take(trainCount).Select(i => data.Normal[i]).ToList();
        var test = order.Skip(trainCount).Select(i => data.Normal[i]).Concat(data.Anomalous).ToList();
        return (train, test, test.Select((_, i) => i < data.Normal.Count - trainCount ? 0f : 1f).ToArray());
    }

    private sealed class Row
    {
        public float[] Features = [];
        public float Label;
    }

    public static void Run(int splits, int steps, IReadOnlyCollection<string>? only = null)
    {
        Console.WriteLine($"Anomaly benchmark: {splits} splits per data set; ours: ReflectedDiffusionOptions defaults with NumberOfSteps = {steps}, HiddenWidth 128, Blocks 2, LikelihoodSteps 60 (SigmaMin chosen from the training rows); 'likelihood score' is the same model's negative log-likelihood per dimension (AnomalyScore Likelihood).");
        Console.WriteLine("| data set (anomalies) | split | train | test normal / anomalous | ours | Gaussian (full cov.) | kNN distance (k=5) | LOF (k=10) | ours via ML.NET evaluator | ours, likelihood score | SigmaMin |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        var means = new List<(string Name, double[] Auc)>();
        foreach (var data in Sets.Where(s => only is null || only.Contains(s.Key)).Select(s => s.Load()))
        {
            var sum = new double[4];
            for (int split = 1; split <= splits; split++)
            {
                var (train, test, labels) = Split(data, split);
                var (ours, viaEvaluator, likelihoodOnly, sigma) = Ours(data, train, test, labels, (ulong)split, steps);
                var standardise = Standardiser(train);
                var (trainZ, testZ) = (train.Select(standardise).ToList(), test.Select(standardise).ToList());
                double[] auc = [Auc(ours, labels), Auc(Gaussian(trainZ, testZ), labels), Auc(Knn(trainZ, testZ, 5), labels), Auc(Lof(trainZ, testZ, 10), labels)];
                for (int k = 0; k < 4; k++) sum[k] += auc[k];
                Console.WriteLine($"| {data.Name} ({data.Anomaly}) | {split} | {train.Count} | {test.Count - data.Anomalous.Count} / {data.Anomalous.Count} | " +
                                  string.Join(" | ", auc.Select(a => a.ToString("F4", CultureInfo.InvariantCulture))) + $" | {viaEvaluator:F4} | {Auc(likelihoodOnly, labels):F4} | {sigma:G3} |");
            }
            means.Add((data.Name, sum.Select(s => s / splits).ToArray()));
        }
        Console.WriteLine();
        Console.WriteLine("| data set | mean AUC ours | Gaussian | kNN | LOF | best classic |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, auc) in means)
            Console.WriteLine($"| {name} | " + string.Join(" | ", auc.Select(a => a.ToString("F4", CultureInfo.InvariantCulture))) + $" | {auc.Skip(1).Max():F4} |");
    }

    private static (float[] Scores, double EvaluatorAuc, float[] LikelihoodScores, double SigmaMin) Ours(DataSet data, List<float[]> train, List<float[]> test, float[] labels, ulong seed, int steps)
    {
        var ml = new MLContext(seed: 1);
        int d = train[0].Length;
        var options = new ReflectedDiffusionOptions { NumberOfSteps = steps, BatchSize = 128, HiddenWidth = 128, Blocks = 2, LikelihoodSteps = 60, Seed = seed };
        data.ApplyBounds(options);
        if (Environment.GetEnvironmentVariable("ANOMALY_NEUMANN") == "1") (options.NeumannFaces, options.LikelihoodSteps) = (true, 20);
        if (Environment.GetEnvironmentVariable("ANOMALY_SIGMA") is { } fixedSigma) options.SigmaMin = double.Parse(fixedSigma, CultureInfo.InvariantCulture);
        if (Environment.GetEnvironmentVariable("ANOMALY_SCORE") is { } kind) options.AnomalyScore = Enum.Parse<AnomalyScoreKind>(kind, ignoreCase: true);
        if (Environment.GetEnvironmentVariable("ANOMALY_TAIL") is { } fixedTail) options.TailBandwidth = double.Parse(fixedTail, CultureInfo.InvariantCulture);
        if (Environment.GetEnvironmentVariable("ANOMALY_DEBUG") == "1")
        {
            options.Context = ml;
            ml.Log += (_, e) => { if (e.Message.Contains("SigmaMin:") || e.Message.Contains("outside the bounds") || e.Message.Contains("Anomaly score:")) Console.Error.WriteLine("  " + e.Message); };
        }
        using var model = ml.Transforms.ReflectedDiffusion(options).Fit(VectorDataView.Create(ml, train, d));
        var rows = test.Select((f, i) => new Row { Features = f, Label = labels[i] }).ToList();
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows, definition));
        var scores = scored.GetColumn<float>("Score").ToArray();
        if (Environment.GetEnvironmentVariable("ANOMALY_HELDOUT") is { } share)
            scores = HeldOutReference(data, train, test, seed, steps, double.Parse(share, CultureInfo.InvariantCulture));
        if (Environment.GetEnvironmentVariable("ANOMALY_RATIO") is { } background)
            scores = RatioToBackground(model.Model, test, scores, double.Parse(background, CultureInfo.InvariantCulture));
        if (Environment.GetEnvironmentVariable("ANOMALY_DEBUG") == "1")
        {
            var b = model.Model.Bounds;
            bool Outside(float[] r) => r.Select((v, j) => v < b.Lower[j] || v > b.Upper[j]).Any(x => x);
            for (int cls = 0; cls < 2; cls++)
            {
                var idx = Enumerable.Range(0, test.Count).Where(i => labels[i] == cls).ToList();
                var inside = idx.Where(i => !Outside(test[i])).Select(i => scores[i]).Order().ToArray();
                var outside = idx.Where(i => Outside(test[i])).Select(i => scores[i]).Order().ToArray();
                string Q(float[] v) => v.Length == 0 ? "-" : $"{v[v.Length / 10]:G3}/{v[v.Length / 2]:G3}/{v[v.Length * 9 / 10]:G3}";
                if (cls == 0)
                {
                    var trainScores = model.Transform(ml.Data.LoadFromEnumerable(train.Select(f => new Row { Features = f }).ToList(), definition)).GetColumn<float>("Score").Order().ToArray();
                    Console.Error.WriteLine($"  training rows: p10/50/90 {Q(trainScores)}");
                }
                Console.Error.WriteLine($"  class {cls}: inside {inside.Length} (p10/50/90 {Q(inside)}), outside {outside.Length} ({Q(outside)}), max-valued {idx.Count(i => scores[i] == float.MaxValue)}");
            }
        }
        return (scores, ml.AnomalyDetection.Evaluate(scored).AreaUnderRocCurve, LikelihoodScores(model, test, options.LikelihoodSteps!.Value), model.Model.Sde.SigmaMin);
    }

    // Experiment: the multiscale score with its reference fitted on training rows the network did not train on (the last
    // share of the training rows, in a seeded order), so the reference sees profiles as new normal rows have them.
    private static float[] HeldOutReference(DataSet data, List<float[]> train, List<float[]> test, ulong seed, int steps, double share)
    {
        var order = train.Select((_, i) => i).OrderBy(i => Training.CounterRng.Hash(seed + 100, (ulong)i)).ToList();
        int held = (int)System.Math.Round(train.Count * share);
        var fitRows = order.Skip(held).Select(i => train[i]).ToList();
        var refRows = order.Take(held).Select(i => train[i]).ToList();
        var ml = new MLContext(seed: 1);
        int d = train[0].Length;
        var options = new ReflectedDiffusionOptions { NumberOfSteps = steps, BatchSize = 128, HiddenWidth = 128, Blocks = 2, LikelihoodSteps = 60, Seed = seed, AnomalyScore = AnomalyScoreKind.Likelihood };
        data.ApplyBounds(options);
        using var model = ml.Transforms.ReflectedDiffusion(options).Fit(VectorDataView.Create(ml, fitRows, d));
        var levels = ReflectedDiffusion.Density.MultiscaleProfile.Levels(model.TailBandwidth, ReflectedDiffusion.Density.MultiscaleProfile.LevelsFor(refRows.Count, d));
        var reference = ReflectedDiffusion.Density.MahalanobisReference.Fit(ProfileVectors(model, refRows, levels).Where(Usable).SelectMany(v => v).ToArray(), levels.Length + 1);
        Console.Error.WriteLine($"  held-out reference: network on {fitRows.Count} rows, reference on {refRows.Count}, {levels.Length} levels");
        return ProfileVectors(model, test, levels).Select(v => Usable(v) ? (float)System.Math.Min(reference.Distance(v), float.MaxValue) : float.MaxValue).ToArray();
    }

    private static bool Usable(double[] v) => v.All(double.IsFinite) && v[^1] < float.MaxValue;

    // Each row's multiscale profile at the levels, then its likelihood score: the vectors the multiscale reference fits.
    private static double[][] ProfileVectors(ReflectedDiffusionTransformer model, List<float[]> rows, double[] levels)
    {
        var like = LikelihoodScores(model, rows, 60);
        var profile = ReflectedDiffusion.Density.MultiscaleProfile.Compute(model.Model.Network, model.Model.Bounds.ToUnitRows(rows), levels);
        return rows.Select((_, i) => profile.AsSpan(i * levels.Length, levels.Length).ToArray().Append(like[i]).ToArray()).ToArray();
    }

    // The fitted model's likelihood score (negative log-likelihood per dimension, with its tail outside the bounds).
    private static float[] LikelihoodScores(ReflectedDiffusionTransformer model, List<float[]> test, int steps)
    {
        var anomaly = new ReflectedDiffusion.Onnx.LikelihoodGraph.AnomalyOutputs("Score", "PredictedLabel", double.PositiveInfinity, model.TailBandwidth);
        int d = model.Model.Bounds.Dimension;
        using var scorer = new ReflectedDiffusion.Onnx.OnnxScorer(ReflectedDiffusion.Onnx.LikelihoodGraph.Build(model.Model, steps, foldSteps: true, anomaly: anomaly), d, anomaly: anomaly);
        return scorer.Score(test.SelectMany(r => r).ToArray()).Score!;
    }

    // Experiment: the score minus the same network's score at a wide background bandwidth, on each row clamped to the
    // bounds (so the tail outside stays), a likelihood ratio against a smooth version of the model.
    private static float[] RatioToBackground(ReflectedDiffusion.ScoreModel model, List<float[]> test, float[] scores, double backgroundSigma)
    {
        var b = model.Bounds;
        var wide = new ReflectedDiffusion.ScoreModel(model.Network, new ReflectedDiffusion.Sde.ReflectedVeSde(backgroundSigma, ReflectedDiffusion.Sde.ReflectedVeSde.DefaultSigmaMax), b);
        int d = b.Dimension;
        var clamped = test.SelectMany(r => r.Select((v, j) => (float)System.Math.Clamp(v, b.Lower[j], b.Upper[j]))).ToArray();
        using var sharp = new ReflectedDiffusion.Onnx.OnnxScorer(ReflectedDiffusion.Onnx.LikelihoodGraph.Build(model, 60, foldSteps: true), d);
        using var smooth = new ReflectedDiffusion.Onnx.OnnxScorer(ReflectedDiffusion.Onnx.LikelihoodGraph.Build(wide, 60, foldSteps: true), d);
        var inside = sharp.Score(clamped).LogLikelihood;
        var bg = smooth.Score(clamped).LogLikelihood;
        // score = -(log p(clamp) - tail)/d, so adding log p_bg(clamp)/d turns its first part into the ratio.
        return scores.Select((s, i) => float.IsFinite(inside[i]) && float.IsFinite(bg[i]) ? s + bg[i] / d : float.MaxValue).ToArray();
    }

    // Area under the ROC curve: the probability that an anomaly outscores a normal row (ties count half).
    internal static double Auc(IReadOnlyList<float> scores, float[] labels)
    {
        var ranked = scores.Select((s, i) => (Score: (double)s, Anomaly: labels[i] == 1)).OrderBy(p => p.Score).ToList();
        double rankSum = 0;
        for (int i = 0; i < ranked.Count;)
        {
            int j = i;
            while (j < ranked.Count && ranked[j].Score == ranked[i].Score) j++;
            double meanRank = (i + j + 1) / 2.0; // 1-based ranks i+1..j
            rankSum += ranked.Skip(i).Take(j - i).Count(p => p.Anomaly) * meanRank;
            i = j;
        }
        long positives = ranked.Count(p => p.Anomaly), negatives = ranked.Count - positives;
        return (rankSum - positives * (positives + 1) / 2.0) / (positives * (double)negatives);
    }

    private static Func<float[], double[]> Standardiser(List<float[]> train)
    {
        int d = train[0].Length;
        var mean = Enumerable.Range(0, d).Select(j => train.Average(r => (double)r[j])).ToArray();
        var sd = Enumerable.Range(0, d).Select(j => System.Math.Sqrt(train.Average(r => (r[j] - mean[j]) * (r[j] - mean[j])))).Select(s => s > 0 ? s : 1).ToArray();
        return r => r.Select((v, j) => (v - mean[j]) / sd[j]).ToArray();
    }

    // Squared Mahalanobis distance under the training mean and covariance (ridge 1e-6 of the mean variance).
    private static float[] Gaussian(List<double[]> train, List<double[]> test)
    {
        int d = train[0].Length;
        var mean = Enumerable.Range(0, d).Select(j => train.Average(r => r[j])).ToArray();
        var cov = new double[d, d];
        foreach (var r in train)
            for (int a = 0; a < d; a++)
                for (int b = 0; b < d; b++) cov[a, b] += (r[a] - mean[a]) * (r[b] - mean[b]) / (train.Count - 1);
        double ridge = 1e-6 * Enumerable.Range(0, d).Average(j => cov[j, j]) + 1e-9;
        for (int j = 0; j < d; j++) cov[j, j] += ridge;
        var lower = Cholesky(cov, d);
        return test.Select(r =>
        {
            // Solve L y = (x - mean); the distance is |y|^2.
            var y = new double[d];
            for (int a = 0; a < d; a++)
            {
                double s = r[a] - mean[a];
                for (int b = 0; b < a; b++) s -= lower[a, b] * y[b];
                y[a] = s / lower[a, a];
            }
            return (float)y.Sum(v => v * v);
        }).ToArray();
    }

    private static double[,] Cholesky(double[,] m, int d)
    {
        var l = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = m[i, j];
                for (int k = 0; k < j; k++) s -= l[i, k] * l[j, k];
                l[i, j] = i == j ? System.Math.Sqrt(System.Math.Max(s, 1e-12)) : s / l[j, j];
            }
        return l;
    }

    private static double Distance(double[] a, double[] b) => System.Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum());

    // The k nearest training rows of a row (excluding the row itself when it is a training row).
    private static (double Distance, int Index)[] Neighbours(List<double[]> train, double[] row, int k, int? self = null)
        => train.Select((t, i) => (Distance: Distance(t, row), Index: i)).Where(p => p.Index != self).OrderBy(p => p.Distance).Take(k).ToArray();

    private static float[] Knn(List<double[]> train, List<double[]> test, int k) => test.Select(r => (float)Neighbours(train, r, k)[^1].Distance).ToArray();

    // Local outlier factor (Breunig et al.): the mean local reachability density of a row's neighbours over its own.
    private static float[] Lof(List<double[]> train, List<double[]> test, int k)
    {
        var trainNeighbours = train.Select((r, i) => Neighbours(train, r, k, i)).ToArray();
        var kDistance = trainNeighbours.Select(n => n[^1].Distance).ToArray();
        double Lrd((double Distance, int Index)[] n) => 1 / (n.Average(p => System.Math.Max(p.Distance, kDistance[p.Index])) + 1e-12);
        var trainLrd = trainNeighbours.Select(Lrd).ToArray();
        return test.Select(r =>
        {
            var n = Neighbours(train, r, k);
            return (float)(n.Average(p => trainLrd[p.Index]) / Lrd(n));
        }).ToArray();
    }

    private static string DataPath(string file) => Path.Combine(AppContext.BaseDirectory, "data", file);

    private static DataSet BreastCancer()
    {
        var rows = File.ReadLines(DataPath("breast_cancer.csv")).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))
            .Select(p => (Features: p[..30].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(), Malignant: p[30].Trim() == "0")).ToList();
        return new DataSet("breast cancer", "malignant", rows.Where(r => !r.Malignant).Select(r => r.Features).ToList(), rows.Where(r => r.Malignant).Select(r => r.Features).ToList());
    }

    // The four body measurements of complete rows; Adelie and Gentoo are normal, Chinstrap the anomaly.
    private static DataSet Penguins()
    {
        var lines = File.ReadLines(DataPath("penguins.csv")).ToList();
        var header = lines[0].Split(',');
        int[] numeric = new[] { "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g" }.Select(c => Array.IndexOf(header, c)).ToArray();
        int species = Array.IndexOf(header, "species");
        var rows = lines.Skip(1).Select(l => l.Split(',')).Where(p => numeric.All(j => p[j] != "NA"))
            .Select(p => (Species: p[species], Features: numeric.Select(j => float.Parse(p[j], CultureInfo.InvariantCulture)).ToArray())).ToList();
        return new DataSet("penguins", "Chinstrap", rows.Where(r => r.Species != "Chinstrap").Select(r => r.Features).ToList(), rows.Where(r => r.Species == "Chinstrap").Select(r => r.Features).ToList());
    }

    // 8x8 digits: 0 to 4 are normal, 5 to 9 the anomalies (a tenth of them, so anomalies are rare).
    private static DataSet Digits()
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(DataPath("digits.csv.gz")), CompressionMode.Decompress));
        var rows = new List<(float[] Features, int Digit)>();
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            var v = line.Split(',').Select(f => float.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            rows.Add((v[..64], (int)v[64]));
        }
        var anomalies = rows.Where(r => r.Digit >= 5).Where((_, i) => i % 10 == 0).Select(r => r.Features).ToList();
        return new DataSet("digits", "5-9, a tenth", rows.Where(r => r.Digit < 5).Select(r => r.Features).ToList(), anomalies, (0, 16));
    }
}
