using ReflectedDiffusion.Density;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.Onnx.Tests;

[Collection(TorchCollection.Name)]
public sealed class LikelihoodGraphTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(0, false, 0.01)]
    [InlineData(2, false, 0.01)]
    // Folded flows (both implementations fold after each step): a fold at a step's end is first-order accurate
    // where a flow touches a face, so fixed RK4 and adaptive RK45 agree less closely (measured 1.4e-2).
    [InlineData(2, true, 0.03)]
    public void OnnxLikelihoodMatchesTheTorchSharpAdaptiveReference(int classes, bool fold, double tolerance)
    {
        // A likelihood model (sigma_min = 1e-4) briefly trained on a 3-D mixture with mass at the faces.
        var mix = new KernelMixture(new double[,] { { 0.0, 0.5, 0.9 }, { 0.7, 1.0, 0.2 } }, [0.08, 0.1],
            classes: classes > 0 ? [0, 1] : null);
        var sde = new ReflectedVeSde(ReflectedVeSde.LikelihoodSigmaMin, 5);
        using var gen = new Generator(3);
        using var data = mix.Sample(4000, gen).to(float32);
        using var labels = classes > 0 ? torch.tensor(Enumerable.Range(0, 4000).Select(i => (long)(i % 2)).ToArray()) : null;
        var config = new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 64, Blocks = 2, EmbeddingDim = 16, NumClasses = classes };
        var trained = new ScoreTrainer(config, sde, new TrainerOptions { Steps = 300, BatchSize = 128, LearningRate = 2e-3, Seed = 4 })
            .Fit(new InMemoryTrainingSet(data, labels, classes));
        var bounds = new BoxBounds([0.0, -1.0, 5.0], [1.0, 1.0, 9.0]);
        using var model = new ScoreModel(trained.Network, sde, bounds);

        using var g2 = new Generator(5);
        using var unit = mix.Sample(40, g2, sde.SigmaMin).to(float32);
        var reference = Likelihood.Evaluate(model.Network, sde, unit, new LikelihoodOptions { FoldIntoBox = fold }, null, bounds);
        using var user = bounds.FromUnit(unit);
        using var scorer = new OnnxScorer(LikelihoodGraph.Build(model, steps: 100, foldSteps: fold), 3);
        var (logp, bpd) = scorer.Score(user.data<float>().ToArray());
        double worst = logp.Zip(reference.LogLikelihood, (a, b) => System.Math.Abs(a - b) / 3).Max();
        output.WriteLine($"classes {classes}, fold {fold}: max |ONNX RK4(100) - TorchSharp RK45| = {worst:E2} nats/dim; mean log-likelihood {reference.LogLikelihood.Average():F3}");
        Assert.True(worst <= tolerance, $"ONNX likelihood differs by {worst} nats/dim");
        for (int i = 0; i < logp.Length; i++) Assert.Equal(-logp[i] / (3 * System.Math.Log(2)), bpd[i], 4);
    }

    /// <summary>A fresh (smooth) 3-feature network with sigma_min 0.01, and 10 seeded rows in the unit box.</summary>
    internal static (ScoreModel Model, float[] Rows) FreshModelAndRows()
    {
        torch.random.manual_seed(11);
        var network = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 32, Blocks = 1, EmbeddingDim = 8 });
        var rng = new Random(6);
        return (new ScoreModel(network, new ReflectedVeSde(0.01, 5)), Enumerable.Range(0, 10 * 3).Select(_ => (float)rng.NextDouble()).ToArray());
    }

    [Fact]
    public void HutchinsonProbesGiveAnUnbiasedLogLikelihood()
    {
        // Any network will do: averaged over probe draws, Hutchinson's estimate equals the exact-trace graph.
        var (model, rows) = FreshModelAndRows();
        using var _ = model;
        using var exactScorer = new OnnxScorer(LikelihoodGraph.Build(model, steps: 20), 3);
        var exact = exactScorer.Score(rows).LogLikelihood;
        const int draws = 30;
        var estimates = Enumerable.Range(0, draws).Select(seed =>
        {
            using var scorer = new OnnxScorer(LikelihoodGraph.Build(model, steps: 20, probes: 2, probeSeed: (ulong)seed), 3);
            return scorer.Score(rows).LogLikelihood;
        }).ToArray();
        for (int i = 0; i < exact.Length; i++)
        {
            var values = estimates.Select(e => (double)e[i]).ToArray();
            double mean = values.Average(), se = System.Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (draws - 1) / draws);
            output.WriteLine($"row {i}: exact {exact[i]:F4}, Hutchinson mean {mean:F4} (SE {se:F4})");
            Assert.True(System.Math.Abs(mean - exact[i]) <= 4 * se + 1e-4, $"row {i}: exact {exact[i]}, Hutchinson {mean} +- {se}");
            Assert.True(se > 0, "the probes should make the estimate vary");
        }
    }

    [Fact]
    public void MultiscaleAnomalyScoreIsTheProfileAndLikelihoodScoreDistanceFromTheReference()
    {
        // An untrained conditional network in a non-unit box: the graph's score equals the Core profile (null label)
        // and the graph's own likelihood score, put through the fitted reference; rows outside the box included.
        var sde = new ReflectedVeSde(0.02, 5);
        torch.random.manual_seed(12);
        using var network = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 32, Blocks = 1, EmbeddingDim = 8, NumClasses = 2 });
        var bounds = new BoxBounds([0.0, -1.0, 5.0], [1.0, 1.0, 9.0]);
        using var model = new ScoreModel(network, sde, bounds);
        var rng = new Random(8);
        var unit = Enumerable.Range(0, 30 * 3).Select(i => (float)(i < 27 * 3 ? rng.NextDouble() : 1.1 + 0.1 * rng.NextDouble())).ToArray();
        var user = unit.Select((u, i) => (float)(bounds.Lower[i % 3] + u * (bounds.Upper[i % 3] - bounds.Lower[i % 3]))).ToArray();
        var likelihoodOnly = new LikelihoodGraph.AnomalyOutputs("Score", "PredictedLabel", double.PositiveInfinity, 0.1);
        using var plain = new OnnxScorer(LikelihoodGraph.Build(model, steps: 10, anomaly: likelihoodOnly), 3, anomaly: likelihoodOnly);
        var likelihoodScores = plain.Score(user).Score!;

        var levels = MultiscaleProfile.Levels(0.05, 4);
        var profiles = MultiscaleProfile.Compute(network, unit, levels);
        var vectors = Enumerable.Range(0, 30).Select(i => profiles.AsSpan(i * 4, 4).ToArray().Append(likelihoodScores[i]).ToArray()).ToArray();
        var reference = MahalanobisReference.Fit(vectors.Take(20).SelectMany(v => v).ToArray(), 5);
        // The Gaussian's distance (models fitted before the neighbour variant) and the 3rd-nearest-neighbour distance.
        foreach (var profile in new[] { new AnomalyProfile(levels, reference), new AnomalyProfile(levels, reference, vectors.Take(20).SelectMany(v => v).ToArray(), 3) })
        {
            var multiscale = likelihoodOnly with { Profile = profile, Threshold = 3.0 };
            using var scorer = new OnnxScorer(LikelihoodGraph.Build(model, steps: 10, anomaly: multiscale), 3, anomaly: multiscale);
            var scored = scorer.Score(user);
            for (int i = 0; i < 30; i++)
            {
                double expected = profile.Distance(vectors[i]);
                Assert.True(System.Math.Abs(scored.Score![i] - expected) <= 1e-3 * (1 + expected), $"row {i}: graph {scored.Score[i]}, expected {expected}");
                Assert.Equal(scored.Score[i] > 3.0, scored.PredictedLabel![i]);
            }
        }
    }
}
