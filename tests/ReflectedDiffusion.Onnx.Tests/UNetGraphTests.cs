using ReflectedDiffusion.Density;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Onnx.Tests;

/// <summary>The U-Net compiled to ONNX against its TorchSharp forward: generation (values) and likelihood (tangents).</summary>
[Collection(TorchCollection.Name)]
public sealed class UNetGraphTests(ITestOutputHelper output)
{
    // Random weights, then every parameter nudged so that GroupNorm's affine terms are not the trivial (1, 0).
    private static ScoreModel Model(int channels, int[] multipliers, int blocksPerLevel, int classes, BoxBounds? bounds = null, double nudge = 0.1)
    {
        torch.random.manual_seed(31 + channels + classes);
        var network = ScoreNetwork.Create(new ScoreNetworkConfig
        {
            Kind = NetworkKind.UNet, Channels = channels, Height = 8, Width = 8, Dimension = channels * 64, BaseChannels = 8,
            ChannelMultipliers = multipliers, ResBlocksPerLevel = blocksPerLevel, EmbeddingDim = 16, NumClasses = classes,
        });
        using (torch.no_grad())
            foreach (var p in network.parameters()) p.add_(torch.randn_like(p) * nudge);
        network.eval();
        return new ScoreModel(network, new ReflectedVeSde(0.01, 5), bounds);
    }

    [Theory]
    [InlineData(1, new[] { 1, 2 }, 1, 0)]
    [InlineData(3, new[] { 1, 2, 2 }, 2, 2)]
    public void NetworkScoreAndTangentsMatchTorchSharp(int channels, int[] multipliers, int blocksPerLevel, int classes)
    {
        using var model = Model(channels, multipliers, blocksPerLevel, classes);
        var network = model.Network;
        int d = channels * 64;
        const int n = 4, k = 3;
        var rng = new Random(2);
        var rows = Enumerable.Range(0, n * d).Select(_ => (float)rng.NextDouble()).ToArray();
        float[] sigmas = [0.02f, 0.1f, 0.5f, 2f];
        var directions = Enumerable.Range(0, k * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        long[]? labels = classes > 0 ? [0, 1, classes, 0] : null; // the last class index is the null label

        NetworkComparison.AssertGraphMatchesTorchSharp(network, rows, n, sigmas, labels, directions, k, output, $"{channels} channels, levels {string.Join(',', multipliers)}");
    }

    [Theory]
    [InlineData(1, new[] { 1, 2 }, 1, 0, 0.0, 20, 0.05)]
    [InlineData(3, new[] { 1, 2, 2 }, 2, 2, 0.0, 20, 0.05)]  // three levels, two blocks per level, conditional
    // Guided: 3 s(x, c) - 2 s(x, null) of a random network is a stiff field that amplifies float rounding step by
    // step (measured 0.07 of 255 after 2 steps, 9 after 10; unguided 0.02 after 20), so only two steps here.
    [InlineData(3, new[] { 1, 2, 2 }, 2, 2, 2.0, 2, 0.2)]
    public void OnnxGenerationMatchesTheTorchSharpHeunSampler(int channels, int[] multipliers, int blocksPerLevel, int classes, double guidance, int steps, double tolerance)
    {
        int d = channels * 64;
        var bounds = new BoxBounds(Enumerable.Repeat(0.0, d).ToArray(), Enumerable.Repeat(255.0, d).ToArray());
        using var model = Model(channels, multipliers, blocksPerLevel, classes, bounds, nudge: 0);
        const int n = 12;
        using var generator = new OnnxGenerator(GenerationGraph.Build(model, steps), d, classes > 0);
        using var seeds = CounterNoise.RowSeeds(5, 0, n);
        long[]? labels = classes > 0 ? Enumerable.Range(0, n).Select(i => (long)(i % (classes + 1))).ToArray() : null;
        var onnx = generator.Generate(seeds.data<long>().ToArray(), labels, labels is null ? null : Enumerable.Repeat((float)guidance, n).ToArray());

        using var prior = CounterNoise.Uniform(seeds, Sampler.PriorStream, 0, d);
        using var lab = labels is null ? null : torch.tensor(labels);
        IScoreFunction score = guidance != 0 ? new GuidedScore(model.Network, guidance) : model.Network;
        float[] expected;
        using (torch.no_grad())
        using (var reference = model.Bounds.FromUnit(Sampler.Heun(score, model.Sde, prior, lab, steps).to(float32)))
            expected = reference.data<float>().ToArray();
        double worst = onnx.Zip(expected, (a, b) => (double)System.Math.Abs(a - b)).Max();
        output.WriteLine($"{channels} channels, levels {string.Join(',', multipliers)}, w {guidance}, {steps} steps: max |ONNX - TorchSharp| = {worst:E2} (pixel units 0..255)");
        Assert.True(worst <= tolerance, $"ONNX generation differs from TorchSharp by {worst} of 255");
        Assert.All(onnx, v => Assert.InRange(v, 0f, 255f));
    }

    [Fact]
    public void OnnxLikelihoodMatchesTheTorchSharpReference()
    {
        // The exact trace takes one tangent per pixel through every layer: a wrong tangent rule shows here.
        using var model = Model(1, [1, 2], 1, 0);
        var rng = new Random(8);
        const int n = 2;
        var rows = Enumerable.Range(0, n * 64).Select(_ => (float)(0.1 + 0.8 * rng.NextDouble())).ToArray();
        using var x = torch.tensor(rows, [n, 64]);
        var reference = Likelihood.Evaluate(model.Network, model.Sde, x, new LikelihoodOptions { Divergence = DivergenceMethod.Exact });
        using var scorer = new OnnxScorer(LikelihoodGraph.Build(model, steps: 100), 64);
        var (logp, _) = scorer.Score(rows);
        double worst = logp.Zip(reference.LogLikelihood, (a, b) => System.Math.Abs(a - b) / 64).Max();
        output.WriteLine($"max |ONNX RK4(100) - TorchSharp RK45| = {worst:E2} nats/dim; log-likelihoods {string.Join(", ", reference.LogLikelihood.Select(v => v.ToString("F2")))}");
        Assert.True(worst <= 0.01, $"ONNX likelihood differs by {worst} nats/dim");
    }
}
