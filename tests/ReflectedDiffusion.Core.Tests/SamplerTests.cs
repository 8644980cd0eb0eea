using ReflectedDiffusion.Density;
using ReflectedDiffusion.Evaluation;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Tests;

[Collection(TorchCollection.Name)]
public sealed class SamplerTests(ITestOutputHelper output)
{
    private const int N = 20_000;
    private static readonly ReflectedVeSde GenerationSde = new(0.01, 5);

    [Theory]
    [InlineData(2, SamplerKind.OdeAdaptive, 0)]
    [InlineData(2, SamplerKind.OdeHeun, 50)]
    [InlineData(2, SamplerKind.ReflectedSde, 200)]
    [InlineData(2, SamplerKind.PredictorCorrector, 100)]
    [InlineData(8, SamplerKind.OdeAdaptive, 0)]
    [InlineData(8, SamplerKind.OdeHeun, 100)]
    [InlineData(8, SamplerKind.ReflectedSde, 250)]
    [InlineData(8, SamplerKind.PredictorCorrector, 150)]
    public void SamplersReproduceTheOracleDistribution(int d, SamplerKind kind, int steps)
    {
        var mix = Oracles.ByDimension(d);
        using var g1 = new Generator(101);
        using var g2 = new Generator(202);
        // The data the sampler targets: the mixture at the end noise level sigma_min.
        using var reference = mix.Sample(N, g1, GenerationSde.SigmaMin);
        using var independent = mix.Sample(N, g2, GenerationSde.SigmaMin);
        double floor = Metrics.SlicedWasserstein1(reference, independent, 128, seed: 9);

        var result = Sampler.Generate(mix, GenerationSde, N, kind, new SamplerOptions { Steps = System.Math.Max(1, steps), Seed = 17 });
        using var samples = result.Samples;
        double sw = Metrics.SlicedWasserstein1(samples, reference, 128, seed: 9);
        output.WriteLine($"d={d} {kind} ({steps} steps): SW1 {sw:F5} vs two-sample floor {floor:F5}; NFE {result.EvaluationsPerSample:F1}");
        Assert.True(((samples >= 0) & (samples <= 1)).all().item<bool>(), "a sample left the box");
        Assert.True(sw <= 1.5 * floor, $"sliced W1 {sw} exceeds 1.5 x the two-sample floor {floor}");
    }

    [Theory]
    [InlineData(SamplerKind.ReflectedSde)]
    [InlineData(SamplerKind.PredictorCorrector)]
    [InlineData(SamplerKind.OdeAdaptive)]
    [InlineData(SamplerKind.OdeHeun)]
    public void ASampleDependsOnItsSeedNotOnTheBatch(SamplerKind kind)
    {
        var options = new SamplerOptions { Steps = 20, Seed = 5, BatchSize = 30, RelativeTolerance = 1e-4, AbsoluteTolerance = 1e-4 };
        using var whole = Sampler.Generate(Oracles.Box2, GenerationSde, 30, kind, options).Samples;
        options.BatchSize = 7;
        using var pieces = Sampler.Generate(Oracles.Box2, GenerationSde, 30, kind, options).Samples;
        Assert.True((whole - pieces).abs().max().item<float>() <= 1e-6f);
        options.Seed = 6;
        using var other = Sampler.Generate(Oracles.Box2, GenerationSde, 30, kind, options).Samples;
        Assert.True((whole - other).abs().max().item<float>() > 1e-3f, "another seed gives other samples");
    }

    [Theory]
    [InlineData(2, 300)]
    [InlineData(8, 200)]
    public void OdeLikelihoodMatchesTheExactLogDensity(int d, int count)
    {
        var mix = Oracles.ByDimension(d);
        var sde = new ReflectedVeSde(ReflectedVeSde.LikelihoodSigmaMin, 5);
        using var g = new Generator(33);
        using var x = mix.Sample(count, g, sde.SigmaMin);
        var result = Likelihood.Evaluate(mix, sde, x);
        using var exactT = mix.LogDensity(x, torch.tensor(sde.SigmaMin));
        var exact = exactT.data<double>().ToArray();
        var perDim = result.LogLikelihood.Zip(exact, (a, b) => System.Math.Abs(a - b) / d).ToArray();
        output.WriteLine($"d={d}: mean |error| {perDim.Average():E2} nats/dim, max {perDim.Max():E2}; NFE {result.EvaluationsPerRow:F0}; method {result.Method}");
        Assert.Equal(DivergenceMethod.Exact, result.Method);
        Assert.True(perDim.Average() <= 0.02, $"mean error {perDim.Average()} nats/dim");
        Assert.True(perDim.Max() <= 0.1, $"max error {perDim.Max()} nats/dim");
        // Bits per dimension follow from the log-likelihood.
        Assert.Equal(-result.LogLikelihood[0] / (d * System.Math.Log(2)), result.BitsPerDimension[0], 12);
    }

    [Fact]
    public void HutchinsonEstimateIsUnbiased()
    {
        var mix = Oracles.Box8;
        var sde = new ReflectedVeSde(ReflectedVeSde.LikelihoodSigmaMin, 5);
        const int points = 6, repeats = 40;
        using var g = new Generator(44);
        using var x = mix.Sample(points, g, sde.SigmaMin);
        var exact = Likelihood.Evaluate(mix, sde, x).LogLikelihood;
        // Every row has its own probe (from its row seed): repeat each point `repeats` times.
        using var repeated = x.repeat_interleave(repeats, 0);
        var estimates = Likelihood.Evaluate(mix, sde, repeated, new LikelihoodOptions { Divergence = DivergenceMethod.Hutchinson, Seed = 3 }).LogLikelihood;
        for (int p = 0; p < points; p++)
        {
            var e = estimates.Skip(p * repeats).Take(repeats).ToArray();
            double mean = e.Average();
            double se = System.Math.Sqrt(e.Select(v => (v - mean) * (v - mean)).Sum() / (repeats - 1) / repeats);
            output.WriteLine($"point {p}: exact {exact[p]:F4}, Hutchinson mean {mean:F4} +- {se:F4}");
            Assert.True(System.Math.Abs(mean - exact[p]) <= 3 * se, $"point {p}: Hutchinson mean {mean} vs exact {exact[p]} (SE {se})");
            Assert.True(se > 0, "the probes vary between rows");
        }
    }

    [Fact]
    public void GuidanceZeroReproducesTheClassConditionalDistribution()
    {
        // Class 0 is bimodal, where a sliced Wasserstein distance is dominated by the random split between the modes;
        // so check the split (binomial) and the shape (the exact class log-density of the samples) separately.
        var mix = Oracles.Conditional2;
        const int n = 5000;
        using var g = new Generator(1);
        for (int c = 0; c < 2; c++)
        {
            var labels = Enumerable.Repeat((long)c, n).ToArray();
            using var samples = Sampler.Generate(mix, GenerationSde, n, SamplerKind.OdeAdaptive, new SamplerOptions { Seed = 8 }, labels).Samples.to(float64);
            using var exact = mix.Sample(n, g, GenerationSde.SigmaMin, label: c);
            using var sigma = torch.tensor(GenerationSde.SigmaMin);
            using var lab = torch.full(n, (long)c);
            var (mq, seq) = MeanAndError(mix.LogDensity(samples, sigma, lab));
            var (mp, sep) = MeanAndError(mix.LogDensity(exact, sigma, lab));
            output.WriteLine($"class {c}: mean log p(x|c) of samples {mq:F4} +- {seq:F4}, of exact draws {mp:F4} +- {sep:F4}");
            Assert.True(System.Math.Abs(mq - mp) <= 3 * System.Math.Sqrt(seq * seq + sep * sep), $"class {c}: log-density {mq} vs {mp}");
            if (c == 0)
            {
                double left = (samples[.., 0] < 0.5).to(float64).mean().item<double>();
                output.WriteLine($"class 0: {left:P1} of samples in the left mode (exact 50%)");
                Assert.True(System.Math.Abs(left - 0.5) <= 3 * System.Math.Sqrt(0.25 / n), $"mode split {left}");
            }
        }
    }

    private static (double Mean, double StandardError) MeanAndError(Tensor values)
    {
        var v = values.data<double>().ToArray();
        values.Dispose();
        double mean = v.Average();
        return (mean, System.Math.Sqrt(v.Select(x => (x - mean) * (x - mean)).Sum() / (v.Length - 1) / v.Length));
    }

    [Theory]
    [InlineData(SamplerKind.OdeAdaptive)]
    [InlineData(SamplerKind.ReflectedSde)]
    public void StrongGuidanceConcentratesOnTheClassRegionAndStaysInTheBox(SamplerKind kind)
    {
        // Guidance sharpens p(x|c) by p(c|x)^w: samples move to where the class is unambiguous.
        var mix = Oracles.Conditional2;
        const int n = 2000;
        var labels = Enumerable.Repeat(1L, n).ToArray();
        double MeanPosterior(Tensor s)
        {
            // p(1 | x) = p(x | 1) p(1) / p(x), with p(1) = 1/3 (one of three equally weighted components).
            using var scope = NewDisposeScope();
            var x = s.to(float64);
            var sigma = torch.tensor(GenerationSde.SigmaMin);
            var logJoint = mix.LogDensity(x, sigma, torch.ones(n, int64)) + System.Math.Log(1.0 / 3);
            return torch.exp(logJoint - mix.LogDensity(x, sigma)).mean().item<double>();
        }
        var options = new SamplerOptions { Steps = 200, Seed = 12 };
        using var plain = Sampler.Generate(mix, GenerationSde, n, kind, options, labels).Samples;
        options.Guidance = 10;
        using var guided = Sampler.Generate(mix, GenerationSde, n, kind, options, labels).Samples;
        double p0 = MeanPosterior(plain), p10 = MeanPosterior(guided);
        output.WriteLine($"{kind}: mean p(class 1 | x): w=0 {p0:F4}, w=10 {p10:F4}");
        Assert.True(1 - p10 < 0.5 * (1 - p0), $"guidance should make the class unambiguous: p(c|x) {p0} -> {p10}");
        Assert.True(((guided >= 0) & (guided <= 1)).all().item<bool>(), "a guided sample left the box");
        Assert.True(torch.isfinite(guided).all().item<bool>());
    }

    [Fact]
    public void ThresholdingPutsAnAtomOnTheFacesWhereReflectionDoesNot()
    {
        // Mass centred on the faces: the unreflected Gaussian mixture spills over them; the reflected one folds back.
        var means = new double[,] { { 0.0, 0.5 }, { 1.0, 0.2 }, { 0.5, 0.0 } };
        double[] widths = [0.05, 0.05, 0.05];
        var gaussian = new KernelMixture(means, widths, reflected: false);
        var reflected = new KernelMixture(means, widths);
        const int n = 4000;
        var options = new SamplerOptions { Steps = 200, Seed = 21 };
        static double OnFaces(Tensor s) => ((s == 0) | (s == 1)).any(1).to(float64).mean().item<double>();

        foreach (var kind in new[] { Thresholding.Static, Thresholding.PredictedX0, Thresholding.Dynamic })
        {
            using var thresholded = ThresholdedSampler.Generate(gaussian, GenerationSde, n, kind, options).Samples;
            double atom = OnFaces(thresholded);
            output.WriteLine($"{kind}: {atom:P1} of samples exactly on a face");
            Assert.True(((thresholded >= 0) & (thresholded <= 1)).all().item<bool>());
            // Clipping sends whatever the last noisy steps push across a face exactly onto it (measured 1.6% for static).
            if (kind == Thresholding.Static) Assert.True(atom > 0.005, $"static thresholding should put an atom on the faces, got {atom:P1}");
        }
        using var unclipped = ThresholdedSampler.Generate(gaussian, GenerationSde, n, Thresholding.None, options).Samples;
        Assert.True(((unclipped < 0) | (unclipped > 1)).any().item<bool>(), "without thresholding the Gaussian sampler leaves the box");

        using var folded = Sampler.Generate(reflected, GenerationSde, n, SamplerKind.ReflectedSde, options).Samples;
        double reflectedAtom = OnFaces(folded);
        output.WriteLine($"reflected SDE: {reflectedAtom:P2} of samples exactly on a face");
        Assert.True(reflectedAtom < 0.001, $"the reflected sampler has no atom on the faces, got {reflectedAtom:P2}");
    }

    [Fact]
    public void LikelihoodInUserUnitsAddsTheBoundsTermAndBytesCountEightBits()
    {
        var mix = Oracles.Box2;
        var sde = new ReflectedVeSde(ReflectedVeSde.LikelihoodSigmaMin, 5);
        using var g = new Generator(5);
        using var x = mix.Sample(20, g, sde.SigmaMin);
        var options = new LikelihoodOptions { RelativeTolerance = 1e-4, AbsoluteTolerance = 1e-4 };
        var unit = Likelihood.Evaluate(mix, sde, x, options);
        var bounds = new BoxBounds([-1.0, 0.0], [3.0, 255.0]);
        var scaled = Likelihood.Evaluate(mix, sde, x, options, bounds: bounds);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(unit.LogLikelihood[i] - System.Math.Log(4) - System.Math.Log(255), scaled.LogLikelihood[i], 9);
            Assert.Equal(-scaled.LogLikelihood[i] / (2 * System.Math.Log(2)), scaled.BitsPerDimension[i], 9);
        }
        options.ByteData = true;
        var bytes = Likelihood.Evaluate(mix, sde, x, options);
        Assert.Equal(unit.BitsPerDimension[0] + 8, bytes.BitsPerDimension[0], 9);

        using var raw = torch.tensor(new long[,] { { 0, 255 }, { 17, 128 } });
        using var deq = Likelihood.Dequantize(raw, seed: 1);
        var v = deq.data<double>().ToArray();
        Assert.InRange(v[0], 0.0, 1.0 / 256); Assert.InRange(v[1], 255.0 / 256, 1.0);
        Assert.InRange(v[2], 17.0 / 256, 18.0 / 256); Assert.InRange(v[3], 128.0 / 256, 129.0 / 256);
        Assert.Throws<ArgumentOutOfRangeException>(() => Likelihood.Dequantize(torch.tensor(new long[,] { { 256 } }), 1));
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        Assert.Equal("Steps", Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.Generate(Oracles.Box2, GenerationSde, 10, SamplerKind.ReflectedSde, new SamplerOptions { Steps = 0 })).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.Generate(Oracles.Box2, GenerationSde, 0, SamplerKind.ReflectedSde));
        var e = Assert.Throws<ArgumentException>(() => Sampler.Generate(Oracles.Box2, GenerationSde, 2, SamplerKind.ReflectedSde, null, [0, 1]));
        Assert.Contains("unconditional", e.Message);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.Generate(Oracles.Conditional2, GenerationSde, 2, SamplerKind.ReflectedSde, null, [0, 7]));
        Assert.Contains("Label 7 of sample 1", e2.Message);
        using var outside = torch.tensor(new[,] { { 0.5, 0.5 }, { 0.2, 1.5 } });
        var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => Likelihood.Evaluate(Oracles.Box2, GenerationSde, outside));
        Assert.Contains("Row 1, feature 1", e3.Message);
    }

    [Theory]
    [InlineData(SamplerKind.OdeHeun)]
    [InlineData(SamplerKind.ReflectedSde)]
    [InlineData(SamplerKind.PredictorCorrector)]
    [InlineData(SamplerKind.OdeAdaptive)]
    public void SamplingRecordsNoAutogradGraph(SamplerKind kind)
    {
        // A network whose parameters require gradients (as after loading) must not make the samplers record a graph:
        // one chained across steps made guided sampling about 7 times slower.
        using var net = Networks.ScoreNetwork.Create(new Networks.ScoreNetworkConfig { Dimension = 3, HiddenWidth = 16, Blocks = 1, NumClasses = 2 });
        Assert.True(net.parameters().All(p => p.requires_grad));
        using var samples = Sampler.Generate(net, GenerationSde, 8, kind, new SamplerOptions { Steps = 5, Guidance = 1 }, [0, 1, 0, 1, 0, 1, 0, 1]).Samples;
        Assert.False(samples.requires_grad);
        using var direct = Sampler.Heun(net, GenerationSde, torch.rand(4, 3), null, 3);
        Assert.False(direct.requires_grad);
    }

    [Fact]
    public void SamplingReportsStepsAndCancels()
    {
        var steps = new List<SamplerStep>();
        Sampler.Generate(Oracles.Box2, GenerationSde, 10, SamplerKind.ReflectedSde, new SamplerOptions { Steps = 12, Callback = steps.Add }).Samples.Dispose();
        Assert.Equal(Enumerable.Range(1, 12), steps.Select(s => s.Step));
        Assert.All(steps, s => Assert.Equal(12, s.TotalSteps));
        Assert.Equal(0.0, steps[^1].Time, 12);
        using var cts = new CancellationTokenSource();
        var options = new SamplerOptions { Steps = 1000, CancellationToken = cts.Token, Callback = s => { if (s.Step == 3) cts.Cancel(); } };
        Assert.ThrowsAny<OperationCanceledException>(() => Sampler.Generate(Oracles.Box2, GenerationSde, 10, SamplerKind.OdeHeun, options));
    }

    [Fact]
    public void CounterNoiseIsRowLocalAndWellDistributed()
    {
        using var seeds = CounterNoise.RowSeeds(7, 0, 2000);
        using var tail = CounterNoise.RowSeeds(7, 1000, 1000);
        Assert.True(seeds.narrow(0, 1000, 1000).equal(tail).all().item<bool>(), "row seeds depend on the row index only");
        using var z = CounterNoise.Normal(seeds, 2, 5, 50);
        using var zTail = CounterNoise.Normal(tail, 2, 5, 50);
        Assert.True(z.narrow(0, 1000, 1000).equal(zTail).all().item<bool>());
        Assert.Equal(0.0, z.mean().item<double>(), 1);
        Assert.Equal(1.0, z.std().item<double>(), 1);
        using var u = CounterNoise.Uniform(seeds, 1, 0, 50);
        Assert.True(((u >= 0) & (u < 1)).all().item<bool>());
        Assert.Equal(0.5, u.mean().item<double>(), 2);
        using var r = CounterNoise.Rademacher(seeds, 4, 0, 50);
        Assert.True((r.abs() == 1).all().item<bool>());
        Assert.Equal(0.0, r.mean().item<double>(), 1);
        using var other = CounterNoise.Normal(seeds, 2, 6, 50);
        Assert.False(z.equal(other).all().item<bool>(), "another step gives other noise");
    }
}
