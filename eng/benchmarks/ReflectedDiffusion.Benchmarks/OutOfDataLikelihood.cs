using System.Globalization;
using System.IO.Compression;
using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Likelihoods of the demo's digit model on real digits, digits half mixed with uniform noise, and uniform noise,
/// without folding the likelihood ODE (the default) and with it folded into the box after every step
/// (ReflectedDiffusionOptions.FoldLikelihoodFlow). Needs the model file of
/// 'rdiff demo' (the README's first command) and runs from the repository root.
/// </summary>
internal static class OutOfDataLikelihood
{
    public static void Run(string modelPath)
    {
        using var zip = ZipFile.OpenRead(modelPath);
        var entry = zip.GetEntry("ReflectedDiffusion/score-model.bin") ?? throw new InvalidOperationException($"{modelPath} is not an rdiff model file.");
        var buffer = new MemoryStream();
        using (var s = entry.Open()) s.CopyTo(buffer);
        buffer.Position = 0;
        using var model = ScoreModel.Load(buffer);

        using var reader = new StreamReader(new GZipStream(File.OpenRead("src/ReflectedDiffusion.Cli/Data/digits.csv.gz"), CompressionMode.Decompress));
        var digits = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(200)
            .SelectMany(l => l.Split(',').Take(64).Select(v => float.Parse(v, CultureInfo.InvariantCulture))).ToArray();
        var rng = new Random(1);
        var noise = Enumerable.Range(0, digits.Length).Select(_ => (float)(16 * rng.NextDouble())).ToArray();
        var mixed = digits.Zip(noise, (a, b) => 0.5f * a + 0.5f * b).ToArray();
        Console.WriteLine($"200 rows each, RK4 50 steps, exact trace; uniform density on [0, 16]^64: {-64 * System.Math.Log(16):F1} nats");
        foreach (bool fold in new[] { false, true })
        {
            using var scorer = new OnnxScorer(LikelihoodGraph.Build(model, 50, foldSteps: fold), 64);
            string Summary(float[] rows)
            {
                var (ll, _) = scorer.Score(rows);
                return $"mean {ll.Average():F1} (min {ll.Min():F1}, max {ll.Max():F1})";
            }
            Console.WriteLine($"{(fold ? "folded  " : "unfolded")}: digits {Summary(digits)}; half noise {Summary(mixed)}; noise {Summary(noise)}");
        }
    }
}
