// QuickStart: the embedded 8x8 digits through the ML.NET API: fit a class-conditional reflected diffusion model,
// generate digits, score likelihoods, save and load with mlContext.Model.
// Run: dotnet run -c Release --project examples/QuickStart
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;

var ml = new MLContext(seed: 1);
var digits = ReadDigits(Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz"));
var train = ml.Data.LoadFromEnumerable(digits.Where((_, i) => i % 5 != 0));
var test = ml.Data.LoadFromEnumerable(digits.Where((_, i) => i % 5 == 0));

// Pixels are 0..16: say so with explicit bounds, so generated and scored values stay in pixel units.
var options = new ReflectedDiffusionOptions
{
    FeatureColumnName = "Pixels", LabelColumnName = "Label", NumberOfSteps = 2000, BatchSize = 256,
    Bounds = BoundsSource.Explicit, LowerBounds = new double[64], UpperBounds = Enumerable.Repeat(16.0, 64).ToArray(),
    SigmaMin = 0.01, Weighting = ReflectedDiffusion.Training.LossWeighting.Sigma2, LikelihoodSteps = 50,
    Progress = p => { if (p.Step % 500 == 0) Console.WriteLine($"step {p.Step}/{p.TotalSteps}: loss {p.Loss:F3}"); },
};
var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", "Digit", keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
    .Append(ml.Transforms.ReflectedDiffusion(options));
var model = pipeline.Fit(train);
var diffusion = model.LastTransformer;

// Generate: two of each digit, guided towards its class (class index k is the k-th key value; keys sorted by value,
// so class index k is digit k).
var labels = Enumerable.Range(0, 20).Select(i => (long)(i / 2)).ToArray();
var generated = diffusion.Generator.Generate(labels.Length, new GenerationOptions { Seed = 7, Steps = 100, Guidance = 2 }, labels);
for (int k = 0; k < 3; k++) Print($"generated digit {labels[k * 2]}", generated[k * 2]);

// Score: LogLikelihood and BitsPerDimension are ordinary Single columns, computed in batches as rows are read.
var bpd = model.Transform(test).GetColumn<float>("BitsPerDimension").ToArray();
var firstRows = bpd.Take(5).ToArray();
Console.WriteLine($"held-out digits: mean {bpd.Average():F3} bits/dim (uniform on [0,16]: 4.000); first rows {string.Join(", ", firstRows.Select(v => v.ToString("F3")))}");

// Save and load: a plain ML.NET model file; register this library's mappings before loading. The loaded chain is
// ML.NET's own stages, which score one row at a time: the same values, more slowly.
ml.Model.Save(model, train.Schema, "digits-model.zip");
var loaded = new MLContext().RegisterReflectedDiffusion().Model.Load("digits-model.zip", out _);
var again = loaded.Transform(test).GetColumn<float>("BitsPerDimension").Take(5).ToArray();
Console.WriteLine($"after loading: first rows {string.Join(", ", again.Select(v => v.ToString("F3")))}");

static void Print(string title, float[] pixels)
{
    Console.WriteLine(title);
    for (int y = 0; y < 8; y++)
        Console.WriteLine(string.Concat(Enumerable.Range(0, 8).Select(x => " .:-=+*#%@"[(int)Math.Clamp(pixels[y * 8 + x] / 16 * 9.99, 0, 9)])));
}

static List<DigitRow> ReadDigits(string path)
{
    using var reader = new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
    var rows = new List<DigitRow>();
    while (reader.ReadLine() is { Length: > 0 } line)
    {
        var v = line.Split(',').Select(float.Parse).ToArray();
        rows.Add(new DigitRow { Pixels = v[..64], Digit = (int)v[64] });
    }
    return rows;
}

sealed class DigitRow
{
    [VectorType(64)] public float[] Pixels = [];
    public int Digit;
}
