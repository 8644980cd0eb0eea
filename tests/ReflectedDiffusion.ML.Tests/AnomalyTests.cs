using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace ReflectedDiffusion.ML.Tests;

public sealed class AnomalyRow
{
    [VectorType(3)] public float[] Features = [];
    public float Label; // 1 = anomaly, as ML.NET's anomaly evaluator reads it
}

[Collection(TorchCollection.Name)]
public sealed class AnomalyTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rd-anomaly-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // Normal rows in the user's units (no normaliser): two clusters in a box of about [0, 200] x [-5, 5] x [1000, 3000].
    private static AnomalyRow Normal(Random rng)
    {
        bool first = rng.Next(2) == 0;
        double u = first ? 0.25 : 0.7, v = first ? 0.3 : 0.75;
        return new AnomalyRow { Features = [(float)(200 * (u + 0.05 * Gauss(rng))), (float)(10 * (v + 0.05 * Gauss(rng)) - 5), (float)(1000 + 2000 * (u + 0.05 * Gauss(rng)))] };
    }

    private static double Gauss(Random rng) => System.Math.Sqrt(-2 * System.Math.Log(1 - rng.NextDouble())) * System.Math.Cos(2 * System.Math.PI * rng.NextDouble());

    [Fact]
    public void ScoreAndPredictedLabelFeedMlNetsAnomalyEvaluatorWithNoMapping()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { if (e.Source == "ReflectedDiffusion") lock (messages) messages.Add(e.Message); };
        var rng = new Random(3);
        var train = Enumerable.Range(0, 300).Select(_ => Normal(rng)).ToList();
        var options = new ReflectedDiffusionOptions { NumberOfSteps = 400, BatchSize = 128, HiddenWidth = 64, Blocks = 2, LikelihoodSteps = 30, Seed = 2, Context = ml };
        using var model = ml.Transforms.ReflectedDiffusion(options).Fit(ml.Data.LoadFromEnumerable(train));

        // The bandwidth was chosen from the training rows alone, and the choice was logged.
        Assert.Contains(model.Model.Sde.SigmaMin, options.SigmaMinCandidates);
        Assert.Contains(messages, m => m.Contains("SigmaMin: held-out mean log-likelihood per candidate") && m.Contains("chose"));
        output.WriteLine(messages.First(m => m.Contains("chose")));

        // Held-out normal rows, uniform rows in the box, and rows outside it.
        var inBox = Enumerable.Range(0, 40).Select(_ => new AnomalyRow { Label = 1, Features = [(float)(200 * rng.NextDouble()), (float)(10 * rng.NextDouble() - 5), (float)(1000 + 2000 * rng.NextDouble())] });
        var outside = Enumerable.Range(1, 10).Select(k => new AnomalyRow { Label = 1, Features = [(float)(50 + 5 * k), 2f, (float)(3000 + 100 * k)] });
        var test = Enumerable.Range(0, 100).Select(_ => Normal(rng)).Concat(inBox).Concat(outside).ToList();
        var scored = model.Transform(ml.Data.LoadFromEnumerable(test));
        Assert.Equal(NumberDataViewType.Single, scored.Schema["Score"].Type);
        Assert.Equal(BooleanDataViewType.Instance, scored.Schema["PredictedLabel"].Type);
        var scores = scored.GetColumn<float>("Score").ToArray();
        Assert.All(scores, s => Assert.True(float.IsFinite(s), $"score {s}"));
        // Outside the bounds the score is finite and grows with the distance outside.
        var outsideScores = scores[^10..];
        for (int k = 1; k < outsideScores.Length; k++) Assert.True(outsideScores[k] > outsideScores[k - 1], $"outside row {k}: {outsideScores[k]} after {outsideScores[k - 1]}");
        Assert.All(scored.GetColumn<float>("LogLikelihood").ToArray()[^10..], v => Assert.Equal(float.NegativeInfinity, v));

        var metrics = ml.AnomalyDetection.Evaluate(scored);
        output.WriteLine($"AUC {metrics.AreaUnderRocCurve:F4}, detection rate at FP count {metrics.DetectionRateAtFalsePositiveCount:F4}");
        Assert.True(metrics.AreaUnderRocCurve > 0.9, $"AUC {metrics.AreaUnderRocCurve}");

        // The threshold marks about FalsePositiveRate of the training rows.
        var trainFlags = model.Transform(ml.Data.LoadFromEnumerable(train)).GetColumn<bool>("PredictedLabel").ToArray();
        Assert.InRange(trainFlags.Count(f => f) / (double)trainFlags.Length, 0.0, 0.03);
        var batched = model.ScoreBatched(ml.Data.LoadFromEnumerable(test), batchSize: 16);
        for (int i = 0; i < scores.Length; i++) Assert.Equal(scores[i], batched.Score![i], 4);

        // A loaded model gives the same columns and metrics.
        var path = Path.Combine(_dir, "anomaly.zip");
        ml.Model.Save(model, ml.Data.LoadFromEnumerable(train).Schema, path);
        var loaded = new MLContext().RegisterReflectedDiffusion().Model.Load(path, out _);
        var reloaded = ml.AnomalyDetection.Evaluate(loaded.Transform(ml.Data.LoadFromEnumerable(test)));
        Assert.Equal(metrics.AreaUnderRocCurve, reloaded.AreaUnderRocCurve, 6);
        (loaded as IDisposable)?.Dispose();
    }

    [Fact]
    public void AnomalyColumnNamesAndThresholdAreOptions()
    {
        var ml = new MLContext(seed: 1);
        var options = new ReflectedDiffusionOptions { ScoreColumnName = "Surprise", PredictedLabelColumnName = "IsOdd", SigmaMin = 0.05 };
        var shape = ml.Transforms.ReflectedDiffusion(options).GetOutputSchema(SchemaShapeOf(ml));
        Assert.Contains(shape, c => c.Name == "Surprise" && c.ItemType == NumberDataViewType.Single);
        Assert.Contains(shape, c => c.Name == "IsOdd" && c.ItemType == BooleanDataViewType.Instance);
        Assert.DoesNotContain(shape, c => c.Name == "Score" || c.Name == "PredictedLabel");

        // An untrained network is enough for the plumbing: an explicit threshold splits the rows by their scores.
        var config = new Networks.ScoreNetworkConfig { Dimension = 3, HiddenWidth = 16, Blocks = 1 };
        ScoreModel Untrained() { TorchSharp.torch.random.manual_seed(7); return new ScoreModel(Networks.ScoreNetwork.Create(config), new Sde.ReflectedVeSde(0.05, 5)); }
        var rows = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 20).Select(i => new AnomalyRow { Features = [i / 20f, 0.5f, 1 - i / 20f] }));
        using var probe = ReflectedDiffusionTransformer.FromScoreModel(Untrained(), options);
        var scores = probe.Transform(rows).GetColumn<float>("Surprise").ToArray();
        options.Threshold = scores.Order().ElementAt(10);
        using var thresholded = ReflectedDiffusionTransformer.FromScoreModel(Untrained(), options);
        Assert.Equal(options.Threshold.Value, thresholded.Threshold);
        var scored = thresholded.Transform(rows);
        Assert.Equal(scored.GetColumn<float>("Surprise").Select(s => s > options.Threshold), scored.GetColumn<bool>("IsOdd"));
        Assert.Contains("FalsePositiveRate", Assert.Throws<ArgumentOutOfRangeException>(() => new ReflectedDiffusionOptions { FalsePositiveRate = 1.5 }.Validate()).Message);
    }

    private static SchemaShape SchemaShapeOf(MLContext ml)
        => (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, [typeof(DataViewSchema)])!
            .Invoke(null, [ml.Data.LoadFromEnumerable(new[] { new AnomalyRow() }).Schema])!;
}
