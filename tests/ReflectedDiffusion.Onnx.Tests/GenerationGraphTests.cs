using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Onnx.Tests;

/// <summary>TorchSharp's generator and threads are process-global: torch tests run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection { public const string Name = "Torch"; }

[Collection(TorchCollection.Name)]
public sealed class GenerationGraphTests(ITestOutputHelper output)
{
    private static ScoreModel Model(int classes)
    {
        torch.random.manual_seed(classes + 1);
        var network = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 32, Blocks = 2, EmbeddingDim = 16, NumClasses = classes });
        network.eval();
        return new ScoreModel(network, new ReflectedVeSde(0.01, 5), new BoxBounds([0.0, -2.0, 10.0], [1.0, 2.0, 30.0]));
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(2, 0.0)]
    [InlineData(2, 3.0)]
    public void OnnxGenerationMatchesTheTorchSharpHeunSampler(int classes, double guidance)
    {
        using var model = Model(classes);
        const int n = 64, steps = 40;
        var graph = GenerationGraph.Build(model, steps);
        using var generator = new OnnxGenerator(graph, 3, classes > 0);

        using var seeds = CounterNoise.RowSeeds(11, 0, n);
        var rowSeeds = seeds.data<long>().ToArray();
        long[]? labels = classes > 0 ? Enumerable.Range(0, n).Select(i => (long)(i % (classes + 1))).ToArray() : null;
        var onnx = generator.Generate(rowSeeds, labels, labels is null ? null : Enumerable.Repeat((float)guidance, n).ToArray());

        using var prior = CounterNoise.Uniform(seeds, Sampler.PriorStream, 0, 3);
        using var lab = labels is null ? null : torch.tensor(labels);
        IScoreFunction score = guidance != 0 ? new GuidedScore(model.Network, guidance) : model.Network;
        Tensor reference;
        using (torch.no_grad()) reference = model.Bounds.FromUnit(Sampler.Heun(score, model.Sde, prior, lab, steps).to(float32));
        var expected = reference.data<float>().ToArray();
        double worst = onnx.Zip(expected, (a, b) => (double)System.Math.Abs(a - b)).Max();
        output.WriteLine($"classes {classes}, w {guidance}: max |ONNX - TorchSharp| = {worst:E2} (user units, widths up to 20)");
        Assert.True(worst <= 1e-3, $"ONNX generation differs from TorchSharp by {worst}");
        for (int i = 0; i < n; i++)
        {
            Assert.InRange(onnx[3 * i], 0f, 1f);
            Assert.InRange(onnx[3 * i + 1], -2f, 2f);
            Assert.InRange(onnx[3 * i + 2], 10f, 30f);
        }
        reference.Dispose();
    }

    [Fact]
    public void GenerationDependsOnTheRowSeedOnly()
    {
        using var model = Model(0);
        using var generator = new OnnxGenerator(GenerationGraph.Build(model, 10), 3, false);
        var all = generator.Generate([5, 6, 7, 8]);
        var one = generator.Generate([7]);
        Assert.Equal(all.Skip(6).Take(3), one);
        Assert.NotEqual(all.Take(3), all.Skip(3).Take(3));
    }

    [Fact]
    public void CudaRequestFallsBackToTheCpuWhenAllowed()
    {
        using var model = Model(0);
        var graph = GenerationGraph.Build(model, 5);
        using var cpu = new OnnxGenerator(graph, 3, false);
        using var fallback = new OnnxGenerator(graph, 3, false, gpuDeviceId: 0, fallbackToCpu: true);
        Assert.Equal(cpu.Generate([1, 2]), fallback.Generate([1, 2]));
    }

    [Fact]
    public void ExportRejectsNetworksItCannotCompile()
    {
        using var custom = new CustomNetwork();
        using var model = new ScoreModel(custom, new ReflectedVeSde());
        var e = Assert.Throws<NotSupportedException>(() => GenerationGraph.Build(model, 5));
        Assert.Contains("CustomNetwork", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => GenerationGraph.Build(Model(0), 0));
    }

    // A user-defined network: trainable and usable by the TorchSharp samplers, but with no ONNX translation.
    private sealed class CustomNetwork() : ScoreNetwork(nameof(CustomNetwork), new ScoreNetworkConfig { Dimension = 2 })
    {
        protected override Tensor Raw(Tensor centred, Tensor embedding) => -centred;
    }
}
