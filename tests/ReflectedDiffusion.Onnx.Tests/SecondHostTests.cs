using System.Text.Json;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Onnx.Tests;

/// <summary>
/// The exported graphs are plain ONNX: a second ONNX Runtime host (onnxruntime-node from npm, installed by this test)
/// runs an export folder from its model.json alone and gives the outputs the .NET host gives.
/// </summary>
[Collection(TorchCollection.Name)]
public sealed class SecondHostTests(ITestOutputHelper output)
{
    private static readonly string NodeFolder = Path.Combine(AppContext.BaseDirectory, "node");

    [Fact]
    public void ExportedGraphsGiveTheSameOutputsInOnnxRuntimeNode()
    {
        // A conditional model in a non-unit box, so every input of both graphs (seeds, labels, guidance) is exercised.
        torch.random.manual_seed(21);
        var network = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 32, Blocks = 2, EmbeddingDim = 16, NumClasses = 2 });
        network.eval();
        using var model = new ScoreModel(network, new ReflectedVeSde(0.01, 5), new BoxBounds([0.0, -2.0, 10.0], [1.0, 2.0, 30.0]));
        var dir = Directory.CreateTempSubdirectory("rdiff-export-").FullName;
        try
        {
            var likelihoodGraph = LikelihoodGraph.Build(model, steps: 20);
            ModelExport.Write(dir, model, likelihoodGraph, generationSteps: 12);

            // The .NET host's outputs for 16 rows in the box and 16 seeded generations (labels 0, 1 and the null label 2).
            var rng = new Random(3);
            float[] features = [.. Enumerable.Range(0, 16).SelectMany(_ => new[] { (float)rng.NextDouble(), (float)(4 * rng.NextDouble() - 2), (float)(10 + 20 * rng.NextDouble()) })];
            using var seedTensor = CounterNoise.RowSeeds(5, 0, 16);
            long[] seeds = seedTensor.data<long>().ToArray(), labels = [.. Enumerable.Range(0, 16).Select(i => (long)(i % 3))];
            float[] guidance = [.. Enumerable.Range(0, 16).Select(i => i % 4 * 0.5f)];
            using var scorer = new OnnxScorer(File.ReadAllBytes(Path.Combine(dir, "likelihood.onnx")), 3);
            var (logp, bpd) = scorer.Score(features);
            using var generator = new OnnxGenerator(File.ReadAllBytes(Path.Combine(dir, "generation.onnx")), 3, conditional: true);
            var generated = generator.Generate(seeds, labels, guidance);

            var inputs = Path.Combine(dir, "inputs.json");
            var outputs = Path.Combine(dir, "outputs.json");
            // int64 values as decimal strings: a JSON number past 2^53 would lose digits in JavaScript.
            File.WriteAllText(inputs, JsonSerializer.Serialize(new { features, seeds = seeds.Select(v => v.ToString()), labels = labels.Select(v => v.ToString()), guidance }));
            InstallOnnxRuntimeNode();
            Run("node", [Path.Combine(NodeFolder, "run-exported.js"), dir, inputs, outputs], TimeSpan.FromMinutes(2));

            using var json = JsonDocument.Parse(File.ReadAllText(outputs));
            float[] Output(string name) => [.. json.RootElement.GetProperty(name).EnumerateArray().Select(e => e.GetSingle())];
            var worst = new[]
            {
                Compare(logp, Output(LikelihoodGraph.LogLikelihoodOutput)),
                Compare(bpd, Output(LikelihoodGraph.BitsPerDimensionOutput)),
                Compare(generated, Output(GenerationGraph.GeneratedOutput)),
            };
            output.WriteLine($"onnxruntime-node {json.RootElement.GetProperty("version").GetString()} against the .NET host: " +
                $"max |difference| log-likelihood {worst[0]:E2}, bits/dim {worst[1]:E2}, generated {worst[2]:E2} (user units)");
            // Same graph, same CPU kernels; only summation order within a kernel may differ between the two builds.
            Assert.True(worst[0] <= 1e-4 && worst[1] <= 1e-5 && worst[2] <= 1e-4, $"the hosts differ: {string.Join(", ", worst)}");
            Assert.All(logp, v => Assert.True(float.IsFinite(v)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static double Compare(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        return expected.Zip(actual, (a, b) => (double)Math.Abs(a - b)).Max();
    }

    // Installs the pinned package (package-lock.json) once per build output; install scripts are skipped, since the
    // CPU runtime ships inside the package and its script only fetches GPU providers.
    private static void InstallOnnxRuntimeNode()
    {
        if (File.Exists(Path.Combine(NodeFolder, "node_modules", "onnxruntime-node", "package.json"))) return;
        Run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5), NodeFolder);
    }

    private static void Run(string program, string[] args, TimeSpan timeout, string? workingDirectory = null)
    {
        var (code, output, error) = Testing.DotnetProcess.Program(program, args, workingDirectory, null, timeout);
        Assert.True(code == 0, $"{program} {string.Join(' ', args)} exited with {code}:\n{output}\n{error}");
    }
}
