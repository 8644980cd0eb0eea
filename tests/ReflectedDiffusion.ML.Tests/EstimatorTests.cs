using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace ReflectedDiffusion.ML.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchCollection { public const string Name = "Torch"; }

public sealed class SeedRow
{
    public long Seed;
}

public sealed class ConditionalSeedRow
{
    public long Seed;
    public long Label;
    public float Guidance;
}

public sealed class LabelledRow
{
    public string Class = "";
    [VectorType(3)] public float[] Features = [];
}

public sealed class GeneratedRow
{
    [VectorType(3)] public float[] Generated = [];
}

public sealed class VectorRow
{
    [VectorType(3)] public float[] Features = [];
}

[Collection(TorchCollection.Name)]
public sealed class EstimatorTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rd-ml-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IDataView Cube(MLContext ml, int n, int seed)
    {
        var rng = new Random(seed);
        // Mass near the faces: a corner cluster and a face cluster, folded into [0, 1].
        float Fold(double v) => (float)Sde.ReflectedHeatKernel.Reflect(v);
        var rows = Enumerable.Range(0, n).Select(i => new VectorRow
        {
            Features = i % 2 == 0
                ? [Fold(0.05 * Gauss(rng)), Fold(0.05 * Gauss(rng)), Fold(0.9 + 0.05 * Gauss(rng))]
                : [Fold(0.5 + 0.1 * Gauss(rng)), Fold(1 + 0.05 * Gauss(rng)), Fold(0.3 + 0.1 * Gauss(rng))],
        }).ToList();
        return ml.Data.LoadFromEnumerable(rows);
    }

    private static void RunLoadCheck(params string[] args)
    {
        // The checker is built next to this test project (same configuration and runtime).
        var here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var checker = here.Replace("ReflectedDiffusion.ML.Tests", "ReflectedDiffusion.ML.LoadCheck") + Path.DirectorySeparatorChar + "ReflectedDiffusion.ML.LoadCheck.dll";
        var (code, error) = Testing.DotnetProcess.Run(checker, args, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"the load checker failed ({code}): {error}");
    }

    // ML.NET builds a SchemaShape from a schema only internally (its own estimator tests see that method);
    // the contract tests here reach it the same way.
    private static SchemaShape Shape(DataViewSchema schema)
        => (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, [typeof(DataViewSchema)])!
            .Invoke(null, [schema])!;

    private static double Gauss(Random rng) => System.Math.Sqrt(-2 * System.Math.Log(1 - rng.NextDouble())) * System.Math.Cos(2 * System.Math.PI * rng.NextDouble());

    // The cube's rows lie in the unit box by construction; held-out rows may pass the training rows' extremes.
    private static ReflectedDiffusionOptions Small() => new() { Bounds = BoundsSource.Unit, SigmaMin = 1e-4, FoldLikelihoodFlow = false, NumberOfSteps = 300, BatchSize = 128, HiddenWidth = 64, Blocks = 2, LikelihoodSteps = 40, Seed = 3 };

    [Fact]
    public void SchemaPropagatesAndBadSchemasNameTheColumn()
    {
        var ml = new MLContext(seed: 1);
        var data = Cube(ml, 50, 1);
        var estimator = ml.Transforms.ReflectedDiffusion(Small());
        var shape = estimator.GetOutputSchema(Shape(data.Schema));
        var ll = shape.First(c => c.Name == "LogLikelihood");
        Assert.Equal(SchemaShape.Column.VectorKind.Scalar, ll.Kind);
        Assert.Equal(NumberDataViewType.Single, ll.ItemType);
        Assert.Contains(shape, c => c.Name == "BitsPerDimension" && c.Kind == SchemaShape.Column.VectorKind.Scalar);
        Assert.DoesNotContain(shape, c => c.Name.EndsWith(".Vector"));

        var missing = ml.Transforms.ReflectedDiffusion(new ReflectedDiffusionOptions { FeatureColumnName = "Nope" });
        Assert.Contains("'Nope'", Assert.Throws<ArgumentOutOfRangeException>(() => missing.GetOutputSchema(Shape(data.Schema))).Message);
        Assert.Contains("'Nope'", Assert.Throws<ArgumentOutOfRangeException>(() => missing.Fit(data)).Message);
        var scalar = ml.Data.LoadFromEnumerable(new[] { new { Features = 1f } });
        Assert.Contains("'Features'", Assert.Throws<InvalidOperationException>(() => estimator.GetOutputSchema(Shape(scalar.Schema))).Message);
        var noLabel = ml.Transforms.ReflectedDiffusion(new ReflectedDiffusionOptions { LabelColumnName = "Label" });
        Assert.Contains("'Label'", Assert.Throws<ArgumentOutOfRangeException>(() => noLabel.GetOutputSchema(Shape(data.Schema))).Message);
    }

    public sealed class TwoFeatureRow
    {
        [VectorType(2)] public float[] Features = [];
    }

    public sealed class UnknownSizeRow
    {
        public float[] Features = [];
    }

    [Fact]
    public void EstimatorContractHolds()
    {
        // ML.NET's TestEstimatorCore, ported: the estimator's output shape matches the transformer's schema; invalid
        // input fails with the column named; save and load keeps the schema and the values. Also: training messages
        // reach the MLContext log.
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { if (e.Source == "ReflectedDiffusion") lock (messages) messages.Add(e.Message); };
        var valid = Cube(ml, 200, 2);
        var options = Small();
        options.Context = ml;
        var estimator = ml.Transforms.ReflectedDiffusion(options);
        var shape = estimator.GetOutputSchema(Shape(valid.Schema));
        using var transformer = estimator.Fit(valid);
        var schema = transformer.GetOutputSchema(valid.Schema);
        Assert.Equal(shape.Select(c => c.Name).Order(), schema.Where(c => !c.IsHidden).Select(c => c.Name).Order());
        foreach (var column in shape)
        {
            var type = schema[column.Name].Type;
            Assert.Equal(column.ItemType, type is VectorDataViewType v ? v.ItemType : type);
            Assert.Equal(column.Kind == SchemaShape.Column.VectorKind.Scalar, type is not VectorDataViewType);
        }
        Assert.Equal(schema.Select(c => (c.Name, c.Type)), transformer.Transform(valid).Schema.Select(c => (c.Name, c.Type)));

        var twoFeatures = ml.Data.LoadFromEnumerable(new[] { new TwoFeatureRow { Features = [0.1f, 0.2f] } });
        Assert.Contains("'Features' has 2 features", Assert.Throws<InvalidOperationException>(() => transformer.GetOutputSchema(twoFeatures.Schema)).Message);
        Assert.Contains("'Features' has 2 features", Assert.Throws<InvalidOperationException>(() => transformer.Transform(twoFeatures)).Message);
        var unknownSize = ml.Data.LoadFromEnumerable(new[] { new UnknownSizeRow { Features = [0.1f, 0.2f, 0.3f] } });
        Assert.Contains("'Features'", Assert.Throws<InvalidOperationException>(() => estimator.GetOutputSchema(Shape(unknownSize.Schema))).Message);
        Assert.Contains("'Features'", Assert.Throws<InvalidOperationException>(() => estimator.Fit(unknownSize)).Message);
        var textLabel = ml.Data.LoadFromEnumerable(new[] { new LabelledRow { Class = "a", Features = [0.1f, 0.2f, 0.3f] } });
        var withTextLabel = ml.Transforms.ReflectedDiffusion(new ReflectedDiffusionOptions { LabelColumnName = "Class" });
        Assert.Contains("'Class'", Assert.Throws<InvalidOperationException>(() => withTextLabel.GetOutputSchema(Shape(textLabel.Schema))).Message);

        string path = Path.Combine(_dir, "contract.zip");
        ml.Model.Save(transformer, valid.Schema, path);
        var loaded = new MLContext().RegisterReflectedDiffusion().Model.Load(path, out var inputSchema);
        Assert.Equal(valid.Schema.Select(c => (c.Name, c.Type)), inputSchema.Select(c => (c.Name, c.Type)));
        var reloadedSchema = loaded.GetOutputSchema(valid.Schema);
        Assert.Equal(schema.Where(c => !c.IsHidden).Select(c => (c.Name, c.Type)), reloadedSchema.Where(c => !c.IsHidden).Select(c => (c.Name, c.Type)));
        var before = transformer.Transform(valid).GetColumn<float>("LogLikelihood").ToArray();
        var after = loaded.Transform(valid).GetColumn<float>("LogLikelihood").ToArray();
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i], 1e-4 * System.Math.Max(1, System.Math.Abs(before[i])));

        Assert.Contains(messages, m => m.Contains("Training on 200 rows of 3 features from column 'Features'"));
        Assert.Contains(messages, m => m.Contains($"Step {options.NumberOfSteps}/{options.NumberOfSteps}: loss"));
        Assert.Contains(messages, m => m.Contains("compiling the likelihood graph"));
    }

    [Fact]
    public void ConditionalModelsGenerateFromSeedLabelAndGuidanceRows()
    {
        var ml = new MLContext(seed: 1);
        // Class 0 near the origin corner, class 1 near the opposite corner; a key label from MapValueToKey.
        var rng = new Random(4);
        var rows = Enumerable.Range(0, 600).Select(i => new LabelledRow
        {
            Class = i % 2 == 0 ? "low" : "high",
            Features = Enumerable.Range(0, 3).Select(_ => (float)Sde.ReflectedHeatKernel.Reflect((i % 2 == 0 ? 0.1 : 0.9) + 0.05 * Gauss(rng))).ToArray(),
        }).ToList();
        var options = Small();
        options.LabelColumnName = "Label";
        options.NumberOfSteps = 600;
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", nameof(LabelledRow.Class)).Append(ml.Transforms.ReflectedDiffusion(options));
        var fitted = pipeline.Fit(ml.Data.LoadFromEnumerable(rows));
        using var model = (ReflectedDiffusionTransformer)fitted.LastTransformer;
        Assert.Equal(2, model.Model.Network.Config.NumClasses);

        var requests = Enumerable.Range(0, 40).Select(i => new ConditionalSeedRow { Seed = 1000 + i, Label = i % 2, Guidance = 2f }).ToList();
        var requestView = ml.Data.LoadFromEnumerable(requests);
        var generation = model.Generator.CreateGenerationTransformer(requestView, steps: 40);
        var generated = ml.Data.CreateEnumerable<GeneratedRow>(generation.Transform(requestView), reuseRowObject: false).ToList();
        // Key order follows first appearance: "low" is class 0, "high" class 1.
        double low = generated.Where((_, i) => i % 2 == 0).Average(r => r.Generated.Average());
        double high = generated.Where((_, i) => i % 2 == 1).Average(r => r.Generated.Average());
        output.WriteLine($"mean generated value: class 0 {low:F3}, class 1 {high:F3}");
        Assert.True(low < 0.3 && high > 0.7, $"class means {low} and {high}");
        Assert.Contains("Label column 'Label' not found", Assert.Throws<ArgumentOutOfRangeException>(() => model.Generator.CreateGenerationTransformer(ml.Data.LoadFromEnumerable(new[] { new SeedRow() }))).Message);

        // Augmentation: a balanced view whose key column maps back to the class names like the training labels.
        var augmented = model.Generator.GenerateDataView(ml, 40, new GenerationOptions { Seed = 3, Steps = 40, Guidance = 2 }, columnName: "Features", balanceLabels: true, labelColumnName: "Label");
        var keys = augmented.GetColumn<uint>("Label").ToArray();
        Assert.Equal(20, keys.Count(k => k == 1));
        Assert.Equal(20, keys.Count(k => k == 2));
        var vectors = augmented.GetColumn<float[]>("Features").ToArray();
        Assert.True(vectors.Where((_, i) => keys[i] == 1).Average(v => v.Average()) < 0.3, "class index 0 ('low') rows");
        Assert.True(vectors.Where((_, i) => keys[i] == 2).Average(v => v.Average()) > 0.7, "class index 1 ('high') rows");
    }

    [Fact]
    public void ValuesOutsideTheUnitBoxAreRejectedWithTheirRow()
    {
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 10).Select(i => new VectorRow { Features = [0.5f, 0.5f, i == 7 ? 1.5f : 0.5f] });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ReflectedDiffusion(Small()).Fit(ml.Data.LoadFromEnumerable(rows)));
        Assert.Contains("Row 7, feature 2", e.Message);
    }

    [Fact]
    public void FoldedLikelihoodFlowReachesTheScoringGraph()
    {
        // The same trained network twice, unfolded and folded. A plain network (NeumannFaces off): data with mass on
        // the faces sends some flows across them, and only there may the two differ. A NeumannFaces network's flows
        // never cross a face, so folding changes nothing.
        var ml = new MLContext(seed: 1);
        var test = Cube(ml, 60, 3);
        foreach (bool neumann in new[] { false, true })
        {
            var options = Small();
            (options.NumberOfSteps, options.NeumannFaces) = (100, neumann);
            using var fitted = ml.Transforms.ReflectedDiffusion(options).Fit(Cube(ml, 300, 2));
            var copy = new MemoryStream();
            fitted.Model.Save(copy);
            copy.Position = 0;
            using var folded = ReflectedDiffusionTransformer.FromScoreModel(ScoreModel.Load(copy), new ReflectedDiffusionOptions { LikelihoodSteps = options.LikelihoodSteps, FoldLikelihoodFlow = true });
            var unfolded = fitted.Transform(test).GetColumn<float>("LogLikelihood").ToArray();
            var inBox = folded.Transform(test).GetColumn<float>("LogLikelihood").ToArray();
            Assert.All(inBox, v => Assert.True(float.IsFinite(v)));
            int changed = unfolded.Zip(inBox, (a, b) => System.Math.Abs(a - b) > 1e-3 ? 1 : 0).Sum();
            output.WriteLine($"NeumannFaces {neumann}: {changed} of 60 rows changed by folding; mean {unfolded.Average():F3} unfolded, {inBox.Average():F3} folded");
            if (neumann) Assert.Equal(0, changed);
            else Assert.True(changed > 0, "folding should change the rows whose flows cross a face");
        }
    }

    [Fact]
    public void UNetOptionsNeedAnImageShapeThatCoversTheFeatures()
    {
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => new ReflectedDiffusionEstimator(new ReflectedDiffusionOptions { Network = Networks.NetworkKind.UNet }));
        Assert.Contains("ImageHeight", missing.Message);
        var ml = new MLContext(seed: 1);
        var estimator = ml.Transforms.ReflectedDiffusion(new ReflectedDiffusionOptions { Network = Networks.NetworkKind.UNet, ImageHeight = 2, ImageWidth = 2 });
        var e = Assert.Throws<InvalidOperationException>(() => estimator.Fit(Cube(ml, 10, 1)));
        Assert.Contains("Feature column 'Features' has 3 features; the U-Net's image shape 1x2x2", e.Message);
    }

    private class TaggedRow
    {
        [VectorType(3)] public float[] Features = [];
        public int Id;
        public string Name = "";
    }

    [Fact]
    public void TransformScoresInBatchesAndServesTheOtherColumnsInOrder()
    {
        var ml = new MLContext(seed: 1);
        var options = Small();
        options.NumberOfSteps = 100;
        options.ScoringBatchSize = 7; // 40 rows: five full batches and a partial one
        using var model = ml.Transforms.ReflectedDiffusion(options).Fit(Cube(ml, 300, 2));
        var rows = ml.Data.CreateEnumerable<VectorRow>(Cube(ml, 40, 3), reuseRowObject: false)
            .Select((r, i) => new TaggedRow { Features = r.Features, Id = i, Name = $"row {i}" }).ToList();
        var input = ml.Data.LoadFromEnumerable(rows);
        var scored = model.Transform(input);
        Assert.Equal(40, scored.GetRowCount());
        Assert.Equal(["Features", "Id", "Name", "LogLikelihood", "BitsPerDimension", "Score", "PredictedLabel"], scored.Schema.Select(c => c.Name));

        // One session call over all rows gives the values the batches of 7 give, row for row.
        var oneCall = model.ScoreBatched(input, batchSize: 1000);
        var (oneBatch, oneBatchBits) = oneCall;
        var back = ml.Data.CreateEnumerable<TaggedScores>(scored, reuseRowObject: false).ToList();
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.Equal(i, back[i].Id);
            Assert.Equal($"row {i}", back[i].Name);
            Assert.Equal(rows[i].Features, back[i].Features);
            Assert.Equal(oneBatch[i], back[i].LogLikelihood, 4);
            Assert.Equal(oneBatchBits[i], back[i].BitsPerDimension, 4);
        }

        // Cursors over part of the columns: the scores alone, and the other columns alone.
        Assert.Equal(back.Select(r => r.BitsPerDimension), scored.GetColumn<float>("BitsPerDimension"));
        // The anomaly columns come from the same batches: the one-call values, row for row (the default multiscale score).
        var anomaly = scored.GetColumn<float>("Score").ToArray();
        for (int i = 0; i < rows.Count; i++)
            Assert.True(System.Math.Abs(oneCall.Score![i] - anomaly[i]) <= 1e-4 * (1 + System.Math.Abs(anomaly[i])), $"row {i}: {anomaly[i]} in batches of 7, {oneCall.Score[i]} in one call");
        Assert.Equal(anomaly.Select(s => s > model.Threshold), scored.GetColumn<bool>("PredictedLabel"));
        Assert.Equal(rows.Select(r => r.Name), scored.GetColumn<string>("Name"));
        using var cursor = scored.GetRowCursor([scored.Schema["Id"]]);
        Assert.False(cursor.IsColumnActive(scored.Schema["LogLikelihood"]));
        Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<float>(scored.Schema["LogLikelihood"]));
        using var wrongType = scored.GetRowCursor([scored.Schema["LogLikelihood"]]);
        Assert.Throws<InvalidOperationException>(() => wrongType.GetGetter<double>(scored.Schema["LogLikelihood"]));

        // A view read after its transformer is disposed fails cleanly instead of running a released native session.
        model.Dispose();
        Assert.Throws<ObjectDisposedException>(() => scored.GetColumn<float>("LogLikelihood").ToArray());
    }

    private sealed class TaggedScores : TaggedRow
    {
        public float LogLikelihood { get; set; }
        public float BitsPerDimension { get; set; }
    }

    [Fact]
    public void FitScoresSavesAndLoadsWithTheSameValues()
    {
        var ml = new MLContext(seed: 1);
        var train = Cube(ml, 600, 2);
        var test = Cube(ml, 40, 3);
        using var model = ml.Transforms.ReflectedDiffusion(Small()).Fit(train);
        var scored = model.Transform(test);
        Assert.Equal(NumberDataViewType.Single, scored.Schema["LogLikelihood"].Type);
        Assert.Equal(NumberDataViewType.Single, scored.Schema["BitsPerDimension"].Type);
        var ll = scored.GetColumn<float>("LogLikelihood").ToArray();
        var bpd = scored.GetColumn<float>("BitsPerDimension").ToArray();
        Assert.All(ll, v => Assert.True(float.IsFinite(v)));
        for (int i = 0; i < ll.Length; i++) Assert.Equal(-ll[i] / (3 * System.Math.Log(2)), bpd[i], 3);
        output.WriteLine($"mean held-out log-likelihood {ll.Average():F3} nats (uniform density: 0)");
        Assert.True(ll.Average() > 1.0, "the model should be far more concentrated than the uniform density");

        var path = Path.Combine(_dir, "model.zip");
        ml.Model.Save(model, train.Schema, path);
        var fresh = new MLContext(seed: 5).RegisterReflectedDiffusion();
        var loaded = fresh.Model.Load(path, out var inputSchema);
        var reloaded = loaded.Transform(test).GetColumn<float>("LogLikelihood").ToArray();
        for (int i = 0; i < ll.Length; i++) Assert.Equal(ll[i], reloaded[i], 4);
        Assert.Equal(NumberDataViewType.Single, loaded.GetOutputSchema(inputSchema)["LogLikelihood"].Type);
        (loaded as IDisposable)?.Dispose();

        // And in a fresh process that knows only ML.NET and the registration call.
        var input = Path.Combine(_dir, "rows.csv");
        var testRows = ml.Data.CreateEnumerable<VectorRow>(test, reuseRowObject: false).ToList();
        File.WriteAllLines(input, testRows.Select(r => string.Join(",", r.Features.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))));
        var outputPath = Path.Combine(_dir, "scores.csv");
        RunLoadCheck(path, input, outputPath);
        var other = File.ReadAllLines(outputPath).Select(l => float.Parse(l.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(ll.Length, other.Length);
        for (int i = 0; i < ll.Length; i++) Assert.True(System.Math.Abs(ll[i] - other[i]) <= 1e-4 * System.Math.Max(1, System.Math.Abs(ll[i])), $"row {i}: {ll[i]} vs {other[i]} after loading in another process");

        var (batched, batchedBits) = model.ScoreBatched(test, batchSize: 16);
        for (int i = 0; i < ll.Length; i++) { Assert.Equal(ll[i], batched[i], 4); Assert.Equal(bpd[i], batchedBits[i], 4); }

        // Generation as an ML.NET stage over seed rows: the same rows as the batched generator for the same row seeds.
        using var rowSeedTensor = Sampling.CounterNoise.RowSeeds(9, 0, 5);
        var rowSeeds = rowSeedTensor.data<long>().ToArray();
        var seedRows = ml.Data.LoadFromEnumerable(rowSeeds.Select(s => new SeedRow { Seed = s }).ToList());
        var generation = model.Generator.CreateGenerationTransformer(seedRows, steps: 30);
        var viaMlNet = ml.Data.CreateEnumerable<GeneratedRow>(generation.Transform(seedRows), reuseRowObject: false).ToList();
        var direct = model.Generator.Generate(5, new GenerationOptions { Seed = 9, Steps = 30 });
        static void Near(float[] a, float[] b) { Assert.Equal(a.Length, b.Length); for (int j = 0; j < a.Length; j++) Assert.Equal(a[j], b[j], 5); }
        for (int i = 0; i < 5; i++) Near(direct[i], viaMlNet[i].Generated);
        var generationPath = Path.Combine(_dir, "generation.zip");
        ml.Model.Save(generation, seedRows.Schema, generationPath);
        var reloadedGeneration = new MLContext().Model.Load(generationPath, out _);
        var again = ml.Data.CreateEnumerable<GeneratedRow>(reloadedGeneration.Transform(seedRows), reuseRowObject: false).ToList();
        for (int i = 0; i < 5; i++) Near(direct[i], again[i].Generated);

        var generated = model.Generator.Generate(200, new GenerationOptions { Seed = 4, Steps = 50 });
        Assert.All(generated, r => Assert.All(r, v => Assert.InRange(v, 0f, 1f)));
        model.ExportOnnx(Path.Combine(_dir, "export"));
        Assert.True(File.Exists(Path.Combine(_dir, "export", "generation.onnx")));
        Assert.Contains("\"Seed\"", File.ReadAllText(Path.Combine(_dir, "export", "model.json")));
    }
}
