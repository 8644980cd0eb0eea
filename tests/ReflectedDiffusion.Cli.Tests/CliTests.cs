using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;
using Xunit;

namespace ReflectedDiffusion.Cli.Tests;

/// <summary>A temporary folder with a data file and the model rdiff trained on it, shared by the tests of a class.</summary>
public abstract class TrainedFixture : IDisposable
{
    protected TrainedFixture(string folderPrefix, string dataFile)
    {
        Folder = Directory.CreateTempSubdirectory(folderPrefix).FullName;
        DataPath = Path.Combine(Folder, dataFile);
        ModelPath = Path.Combine(Folder, "model.zip");
    }

    /// <summary>Runs 'rdiff train' on <see cref="DataPath"/> into <see cref="ModelPath"/> with the given flags.</summary>
    protected void Train(params string[] flags) => (Code, Output, Error) = CliTests.Run(["train", "--data", DataPath, "--out", ModelPath, .. flags]);

    public string Folder { get; }
    public string DataPath { get; }
    public string ModelPath { get; }
    public int Code { get; private set; }
    public string Output { get; private set; } = "";
    public string Error { get; private set; } = "";

    public void Dispose()
    {
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}

/// <summary>Shared files: one tiny conditional model trained on a CSV file once for the tests of this class.</summary>
public sealed class TrainedModel : TrainedFixture
{
    public TrainedModel() : base("rdiff-cli-tests-", "train.csv")
    {
        // Two classes apart in the first feature; the second and third features are shared noise.
        var rng = new Random(5);
        var lines = new List<string> { "width,height,depth,kind" };
        for (int i = 0; i < 300; i++)
        {
            string kind = i % 2 == 0 ? "narrow" : "wide";
            double w = (kind == "narrow" ? 0.25 : 0.75) + 0.05 * (rng.NextDouble() - 0.5);
            lines.Add(string.Join(',', F(w), F(rng.NextDouble()), F(rng.NextDouble() * 0.5 + 0.25), kind));
        }
        File.WriteAllLines(DataPath, lines);
        Train("--label", "kind", "--steps", "1000", "--batch-size", "128", "--seed", "3");
    }

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}

public sealed class CliTests(TrainedModel trained) : IClassFixture<TrainedModel>
{
    internal static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Cli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private string Temp(string name) => Path.Combine(trained.Folder, name);

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

    [Fact]
    public void TrainWritesAModelFileThatMlNetLoads()
    {
        Assert.True(trained.Code == 0, trained.Error);
        Assert.Contains("300 rows of 3 features, 2 classes", trained.Output);
        Assert.Empty(Directory.GetFiles(trained.Folder, "*.tmp"));
        var ml = new MLContext().RegisterReflectedDiffusion();
        var model = ml.Model.Load(trained.ModelPath, out var schema);
        Assert.Equal(3, ((VectorDataViewType)schema["Features"].Type).Size);
        var rows = ml.Data.LoadFromEnumerable(new[] { new Row { Features = [0.25f, 0.5f, 0.5f] }, new Row { Features = [0.5f, 0.5f, 0.5f] } });
        var ll = model.Transform(rows).GetColumn<float>(ReflectedDiffusionEstimator.LogLikelihoodColumn).ToArray();
        // A class centre is far more likely than the empty gap between the classes.
        Assert.True(ll[0] > ll[1] + 1, $"log p at a class centre {ll[0]}, in the gap {ll[1]}");
    }

    [Fact]
    public void SampleWritesBalancedOrChosenClassesWithTheTrainingColumnNames()
    {
        string all = Temp("all.csv"), wide = Temp("wide.csv");
        var (code, _, error) = Run("sample", "--model", trained.ModelPath, "--count", "200", "--out", all, "--seed", "1");
        Assert.True(code == 0, error);
        var lines = File.ReadAllLines(all);
        Assert.Equal("width,height,depth,kind", lines[0]);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(200, rows.Count);
        Assert.Equal(100, rows.Count(r => r[3] == "narrow"));
        foreach (var r in rows)
        {
            double w = double.Parse(r[0], CultureInfo.InvariantCulture);
            Assert.InRange(w, 0.225 - 1e-4, 0.775 + 1e-4); // data bounds: the observed range (BoundsMargin 0 by default)
            // Each sample lies by its own class (the classes sit at 0.25 and 0.75).
            Assert.True(r[3] == "narrow" ? w < 0.5 : w > 0.5, $"{r[3]} sample at width {w}");
        }
        (code, _, error) = Run("sample", "--model", trained.ModelPath, "--count", "20", "--out", wide, "--label", "wide", "--guidance", "2", "--sampler", "sde", "--steps", "100");
        Assert.True(code == 0, error);
        Assert.All(File.ReadAllLines(wide).Skip(1), l => Assert.EndsWith(",wide", l));
    }

    [Fact]
    public void SampleGivesTheRowsOfTheMlNetGenerator()
    {
        // One generation path: rdiff sample and the ML.NET API's generator, for the same model, sampler, steps, seed,
        // labels and guidance, give the same rows, value for value.
        string path = Temp("doors.csv");
        var (code, _, error) = Run("sample", "--model", trained.ModelPath, "--count", "6", "--out", path, "--seed", "5", "--sampler", "sde", "--steps", "30",
            "--label", "wide", "--guidance", "1");
        Assert.True(code == 0, error);
        var viaTool = File.ReadAllLines(path).Skip(1).Select(l => l.Split(',')[..3].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();

        ScoreModel model;
        using (var zip = ZipFile.OpenRead(trained.ModelPath))
        using (var entry = zip.GetEntry("ReflectedDiffusion/score-model.bin")!.Open())
        using (var buffer = new MemoryStream())
        {
            entry.CopyTo(buffer);
            buffer.Position = 0;
            model = ScoreModel.Load(buffer);
        }
        using var transformer = ReflectedDiffusionTransformer.FromScoreModel(model);
        var viaApi = transformer.Generator.Generate(6, new GenerationOptions { Sampler = Sampling.SamplerKind.ReflectedSde, Steps = 30, Seed = 5, Guidance = 1 },
            Enumerable.Repeat(1L, 6).ToArray()); // "wide" is class 1 of (narrow, wide)
        Assert.Equal(viaApi.Length, viaTool.Length);
        for (int i = 0; i < viaApi.Length; i++) Assert.Equal(viaApi[i], viaTool[i]);
    }

    [Theory]
    [InlineData("sample", "ode-heun")]
    [InlineData("sample", "sde")]
    [InlineData("score", null)]
    public void FourShardsConcatenateToTheUnsplitRunByteForByte(string command, string? sampler)
    {
        // Scoring: uneven shards, one of a single row, split inside the unsplit run's batches. Sampling: shard ends on
        // multiples of the batch size (libtorch's matrix products round differently for different batch sizes).
        (long, long)[] shards = command == "sample" ? [(0, 10), (10, 30), (30, 35), (35, 37)] : [(0, 77), (77, 150), (150, 151), (151, 300)];
        string[] Args(string output, params string[] extra) => command == "sample"
            ? ["sample", "--model", trained.ModelPath, "--out", output, "--seed", "4", "--sampler", sampler!, "--steps", "20", "--batch-size", "5", .. extra]
            : ["score", "--model", trained.ModelPath, "--data", trained.DataPath, "--out", output, .. extra];
        string whole = Temp($"{command}-{sampler}-whole.csv");
        var (code, _, error) = Run(Args(whole, command == "sample" ? ["--count", "37"] : []));
        Assert.True(code == 0, error);
        var joined = new List<byte>();
        for (int k = 0; k < shards.Length; k++)
        {
            string part = Temp($"{command}-{sampler}-shard{k}.csv");
            (code, _, error) = Run(Args(part, "--rows", $"{shards[k].Item1}:{shards[k].Item2}"));
            Assert.True(code == 0, error);
            var bytes = File.ReadAllBytes(part);
            // Every shard has the header line; the data lines follow it.
            joined.AddRange(k == 0 ? bytes : bytes[(Array.IndexOf(bytes, (byte)'\n') + 1)..]);
        }
        Assert.Equal(File.ReadAllBytes(whole), joined.ToArray());
        if (command == "score") return;

        // A shard that cuts a batch: the same rows up to float rounding.
        string cut = Temp($"{command}-{sampler}-cut.csv");
        (code, _, error) = Run(Args(cut, "--rows", "3:12"));
        Assert.True(code == 0, error);
        var expected = File.ReadAllLines(whole).Skip(1 + 3).Take(9).ToArray();
        var got = File.ReadAllLines(cut).Skip(1).ToArray();
        for (int i = 0; i < 9; i++)
        {
            var (a, b) = (expected[i].Split(','), got[i].Split(','));
            Assert.Equal(a[^1], b[^1]); // the class, by the row's index in the run
            for (int j = 0; j < 3; j++) Assert.Equal(double.Parse(a[j], CultureInfo.InvariantCulture), double.Parse(b[j], CultureInfo.InvariantCulture), 1e-5);
        }
    }

    [Theory]
    [InlineData("5:5", "is not A:B")]
    [InlineData("a:3", "is not A:B")]
    [InlineData("-1:3", "is not A:B")]
    [InlineData("290:301", "holds 300 rows")]
    public void BadRowRangesExitWithTwo(string rows, string expected)
    {
        var (code, _, error) = Run("score", "--model", trained.ModelPath, "--data", trained.DataPath, "--out", Temp("never.csv"), "--rows", rows);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        (code, _, error) = Run("sample", "--model", trained.ModelPath, "--out", Temp("never.csv"), "--rows", "0:3", "--count", "3");
        Assert.Equal(2, code);
        Assert.Contains("not both", error);
        (code, _, error) = Run("sample", "--model", trained.ModelPath, "--out", Temp("never.csv"));
        Assert.Equal(2, code);
        Assert.Contains("Option '--count' (or '--rows A:B') is required", error);
        Assert.False(File.Exists(Temp("never.csv")));
    }

    [Fact]
    public void ScoreAddsLikelihoodColumnsThatMatchMlNet() => AssertScoresMatchMlNet(trained.ModelPath);

    [Fact]
    public void FoldedLikelihoodFlowIsKeptInTheModelFile()
    {
        string model = Temp("folded.zip");
        var (code, _, error) = Run("train", "--data", trained.DataPath, "--out", model, "--label", "kind", "--steps", "200", "--fold-likelihood-flow");
        Assert.True(code == 0, error);
        using (var zip = ZipFile.OpenRead(model))
        using (var reader = new StreamReader(zip.GetEntry("ReflectedDiffusion/rdiff.json")!.Open()))
        {
            string json = reader.ReadToEnd();
            // The model file keeps the options it was trained with, the scoring settings among them.
            Assert.Contains("\"FoldLikelihoodFlow\":true", json);
            Assert.Contains("\"NumberOfSteps\":200", json);
            Assert.Contains("\"FormatName\":\"rdiff-model/2\"", json);
        }
        AssertScoresMatchMlNet(model); // rdiff's rebuilt graph and the ML.NET file's graph fold alike
    }

    [Fact]
    public void ModelFilesOfAnOlderFormatAreRefused()
    {
        string old = Temp("old-format.zip");
        File.Copy(trained.ModelPath, old, overwrite: true);
        using (var zip = ZipFile.Open(old, ZipArchiveMode.Update))
        {
            zip.GetEntry("ReflectedDiffusion/rdiff.json")!.Delete();
            using var writer = new StreamWriter(zip.CreateEntry("ReflectedDiffusion/rdiff.json").Open());
            writer.Write("""{"Features":["width","height","depth"],"Label":"kind","Classes":["narrow","wide"],"LikelihoodSteps":100,"FoldLikelihood":false,"FormatName":"rdiff-model/1"}""");
        }
        // A consistent file of the old format: its manifest describes it.
        using (var file = File.Open(old, FileMode.Open, FileAccess.ReadWrite)) IO.ModelManifest.Add(file);
        var (code, _, error) = Run("score", "--model", old, "--data", trained.DataPath, "--out", Temp("old.csv"));
        Assert.Equal(2, code);
        Assert.Contains("model format 'rdiff-model/1' is not rdiff-model/2", error);
    }

    private void AssertScoresMatchMlNet(string modelPath)
    {
        string scored = Temp("scored.csv");
        var (code, output, error) = Run("score", "--model", modelPath, "--data", trained.DataPath, "--out", scored);
        Assert.True(code == 0, error);
        Assert.Contains("Scored 300 rows", output);
        var lines = File.ReadAllLines(scored);
        Assert.Equal("width,height,depth,kind,log_likelihood,bits_per_dim,anomaly_score,is_anomaly", lines[0]);
        var first = lines[1].Split(',');
        float ll = float.Parse(first[4], CultureInfo.InvariantCulture);
        Assert.True(float.IsFinite(ll));
        var ml = new MLContext().RegisterReflectedDiffusion();
        var model = ml.Model.Load(modelPath, out _);
        var row = ml.Data.LoadFromEnumerable(new[] { new Row { Features = first[..3].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray() } });
        float viaMlNet = model.Transform(row).GetColumn<float>(ReflectedDiffusionEstimator.LogLikelihoodColumn).Single();
        Assert.Equal(viaMlNet, ll, 1e-4 * System.Math.Max(1, System.Math.Abs(ll)));
    }

    [Fact]
    public void ExportWritesGraphsAndTheirDescription()
    {
        string dir = Temp("export");
        var (code, _, error) = Run("export", "--model", trained.ModelPath, "--out", dir, "--steps", "20");
        Assert.True(code == 0, error);
        Assert.True(new FileInfo(Path.Combine(dir, "likelihood.onnx")).Length > 1000);
        Assert.True(new FileInfo(Path.Combine(dir, "generation.onnx")).Length > 1000);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "model.json")));
        Assert.Equal(2, json.RootElement.GetProperty("classes").GetInt32());
        Assert.Equal(20, json.RootElement.GetProperty("generation").GetProperty("steps").GetInt32());
    }

    [Theory]
    [InlineData("'frobnicate'", "frobnicate")]
    [InlineData("'--colour'", "train", "--colour", "red")]
    [InlineData("'--colour'", "train", "--data", "x.csv", "--out", "m.zip", "--colour", "red")]
    [InlineData("'--out' is required", "train", "--data", "x.csv")]
    [InlineData("'--steps': 'many'", "train", "--data", "x.csv", "--out", "m.zip", "--steps", "many")]
    [InlineData("'--weighting': 'bent' is not one of sigma2, likelihood", "train", "--data", "x.csv", "--out", "m.zip", "--weighting", "bent")]
    [InlineData("'--network': 'cnn' is not one of mlp, unet, auto", "train", "--data", "x.csv", "--out", "m.zip", "--network", "cnn")]
    [InlineData("'--sampler': 'euler'", "sample", "--model", "m.zip", "--count", "3", "--out", "s.csv", "--sampler", "euler")]
    [InlineData("'--lower-bounds': 'x'", "train", "--data", "x.csv", "--out", "m.zip", "--lower-bounds", "0,x")]
    [InlineData("'nowhere.csv' not found", "train", "--data", "nowhere.csv", "--out", "m.zip")]
    [InlineData("'missing.zip' not found", "sample", "--model", "missing.zip", "--count", "3", "--out", "s.csv")]
    public void BadUsageExitsWithTwoAndSaysWhat(string expected, params string[] args)
    {
        var (code, _, error) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
    }

    [Theory]
    [InlineData("--number-of-steps", "0", "NumberOfSteps must be positive")]
    [InlineData("--steps", "0", "NumberOfSteps must be positive")]
    [InlineData("--sigma-min", "0", "SigmaMin must lie in")]
    [InlineData("--image-channels", "2", "ImageChannels must be 1 or 3")]
    public void OutOfRangeSettingsExitWithTwoNamingTheFieldAndFlag(string flag, string value, string expected)
    {
        string model = Temp("never.zip");
        var (code, _, error) = Run("train", "--data", trained.DataPath, "--out", model, "--label", "kind", flag, value);
        Assert.Equal(2, code);
        Assert.Contains($"Option '{(flag == "--steps" ? "--number-of-steps" : flag)}': {expected}", error);
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void SampleSettingsOutOfRangeExitWithTwo()
    {
        var (code, _, error) = Run("sample", "--model", trained.ModelPath, "--count", "3", "--out", Temp("s.csv"), "--steps", "0");
        Assert.Equal(2, code);
        Assert.Contains("Option '--steps': Steps must be positive", error);
        (code, _, error) = Run("sample", "--model", trained.ModelPath, "--count", "0", "--out", Temp("s.csv"));
        Assert.Equal(2, code);
        Assert.Contains("Option '--count'", error);
        (code, _, error) = Run("sample", "--model", trained.ModelPath, "--count", "3", "--out", Temp("s.csv"), "--guidance", "-1");
        Assert.Equal(2, code);
        Assert.Contains("Option '--guidance': Guidance must be finite and not negative", error);
    }

    [Fact]
    public void GeneratedHelpListsEveryOptionsFieldWithItsDefault()
    {
        var (code, help, _) = Run("train", "--help");
        Assert.Equal(0, code);
        // Every public field of the options is a flag, but for the callback, the token, the context, the tool's own
        // column and the fitted anomaly profile.
        string[] notFlags = ["Progress", "CancellationToken", "Context", "FeatureColumnName", "AnomalyProfile"];
        foreach (var field in typeof(ReflectedDiffusionOptions).GetFields(BindingFlags.Public | BindingFlags.Instance).Where(f => !notFlags.Contains(f.Name)))
            Assert.Contains(Flag(field.Name), help);
        Assert.DoesNotContain("--feature-column-name", help);
        // Defaults are read from a fresh instance of the options.
        var defaults = new ReflectedDiffusionOptions();
        Assert.Contains($"[default: {defaults.NumberOfSteps}]", help);
        Assert.Matches(@"--number-of-steps, --steps|--steps, --number-of-steps", help);
        Assert.Contains($"[default: {defaults.LearningRate.ToString(CultureInfo.InvariantCulture)}]", help);
        Assert.Contains("--network <mlp|unet|auto>", help);
        Assert.Contains("[default: likelihood]", help);
        Assert.Contains("Training steps.", help); // the field's XML doc summary

        (code, help, _) = Run("sample", "--help");
        Assert.Equal(0, code);
        foreach (var field in typeof(GenerationOptions).GetFields(BindingFlags.Public | BindingFlags.Instance).Where(f => f.Name is not ("Progress" or "CancellationToken" or "FirstRow")))
            Assert.Contains(Flag(field.Name), help);
        Assert.Contains($"[default: {new GenerationOptions().BatchSize}]", help);
        Assert.Contains("[default: auto]", help);   // a null Sampler: the model's own (SDE for tables, Heun ODE otherwise)
        Assert.Contains("--rows", help); // FirstRow's flag: --rows A:B

        foreach (var command in new[] { "score", "export", "report", "demo" })
            Assert.Equal(0, Run(command, "--help").Code);
        (code, help, _) = Run("--help");
        Assert.Equal(0, code);
        Assert.All(new[] { "train", "sample", "score", "export", "report", "demo" }, c => Assert.Contains(c, help));
    }

    private static string Flag(string field) => "--" + System.Text.RegularExpressions.Regex.Replace(field, "(?<=[a-z0-9])([A-Z])", "-$1").ToLowerInvariant();

    [Fact]
    public void TheExecutableReturnsTheExitCodes()
    {
        // The same contract through the real program: the rdiff assembly next to the tests, run by dotnet.
        string rdiff = Path.Combine(AppContext.BaseDirectory, "rdiff.dll");
        (int Code, string Error) Exec(params string[] args) => Testing.DotnetProcess.Run(rdiff, args, TimeSpan.FromMinutes(1));
        Assert.Equal(0, Exec("--help").Code);
        var (code, error) = Exec("sample", "--model", trained.DataPath, "--count", "2", "--out", Temp("x.csv"));
        Assert.Equal(2, code);
        Assert.Contains("not a model file", error);
        Assert.Equal(2, Exec().Code);
    }

    [Fact]
    public void BadDataExitsWithTwoNamingLineAndColumn()
    {
        string bad = Temp("bad.csv");
        File.WriteAllLines(bad, ["a,b,label", "0.1,0.2,x", "0.3,oops,y"]);
        var (code, _, error) = Run("train", "--data", bad, "--out", Temp("never.zip"), "--label", "label");
        Assert.Equal(2, code);
        Assert.Contains("line 3, column 'b': 'oops'", error);
        Assert.False(File.Exists(Temp("never.zip")));

        File.WriteAllLines(bad, ["a,b", "0.1,NaN"]);
        (code, _, error) = Run("train", "--data", bad, "--out", Temp("never.zip"));
        Assert.Equal(2, code);
        Assert.Contains("line 2, column 'b': 'NaN' is not a finite number", error);

        // The range is the estimator's to check; the tool names the row's line and the feature's column.
        File.WriteAllLines(bad, ["a,b", "0.1,0.2", "0.3,1.7"]);
        (code, _, error) = Run("train", "--data", bad, "--out", Temp("never.zip"), "--bounds", "unit");
        Assert.Equal(2, code);
        Assert.Contains("Row 1 (" + bad + " line 3), feature 1 (column 'b'): value 1.7 lies outside the bounds [0, 1]", error);

        // On the feature-vector path (--bounds given), data bounds need a range: a constant column is named. (As a table,
        // the default for CSV files, a constant column is kept and restored: TableCliTests.)
        File.WriteAllLines(bad, ["a,b", "0.1,0.5", "0.3,0.5"]);
        (code, _, error) = Run("train", "--data", bad, "--out", Temp("never.zip"), "--bounds", "data");
        Assert.Equal(2, code);
        Assert.Contains("Option '--bounds': Bounds Data: feature 1 (column 'b') has the same value 0.5 in all 2 rows", error);

        (code, _, error) = Run("train", "--data", bad, "--out", Temp("never.zip"), "--label", "kind");
        Assert.Equal(2, code);
        Assert.Contains("column 'kind' is not in", error);

        (code, _, error) = Run("train", "--data", trained.DataPath, "--out", Temp("never.zip"), "--label", "kind", "--network", "unet");
        Assert.Equal(2, code);
        Assert.Contains("Option '--network': Network UNet needs the image shape", error);

        (code, _, error) = Run("sample", "--model", trained.ModelPath, "--count", "3", "--out", Temp("s.csv"), "--label", "round");
        Assert.Equal(2, code);
        Assert.Contains("not a class of the model (classes: narrow, wide)", error);

        (code, _, error) = Run("sample", "--model", trained.ModelPath, "--count", "3", "--out", Temp("s.csv"), "--exclude-copies-of", trained.DataPath);
        Assert.Equal(2, code);
        Assert.Contains("Option '--exclude-copies-of': the model was trained on feature vectors", error);

        (code, _, error) = Run("sample", "--model", trained.ModelPath, "--count", "3", "--out", Temp("s.png"));
        Assert.Equal(2, code);
        Assert.Contains("trained on tabular data", error);

        (code, _, error) = Run("score", "--model", trained.DataPath, "--data", trained.DataPath, "--out", Temp("s.csv"));
        Assert.Equal(2, code);
        Assert.Contains("not a model file", error);
    }

    [Fact]
    public void CsvFilesLargerThanTheRowLimitStreamThroughTraining()
    {
        // 1,500 labelled rows (a blank line among them) against a limit of 400 rows in memory: the tool streams the
        // file and prints the estimator's own account of it; a bad row far into the file is named by its line.
        string path = Temp("long.csv");
        var rng = new Random(8);
        var lines = new List<string> { "x,y,kind" };
        for (int i = 0; i < 1500; i++)
        {
            if (i == 700) lines.Add("");
            lines.Add(string.Join(',', F(0.2 + 0.6 * rng.NextDouble()), F(0.1 + 0.3 * rng.NextDouble()), i % 3 == 0 ? "b" : "a"));
        }
        File.WriteAllLines(path, lines);
        string[] flags = ["--label", "kind", "--bounds", "unit", "--max-rows-in-memory", "400", "--steps", "20", "--batch-size", "32",
            "--hidden-width", "16", "--blocks", "1", "--sigma-min", "0.05", "--likelihood-steps", "4"];
        var (code, output, error) = Run(["train", "--data", path, "--out", Temp("long.zip"), .. flags]);
        Assert.True(code == 0, error);
        Assert.Contains("Training on 1500 rows of 2 features, 2 classes ('kind')", output);
        Assert.Contains("more than MaxRowsInMemory (400), so the rows stream through a shuffle buffer", output);
        Assert.DoesNotContain("Step 20/20", output); // per-step messages stay in the progress display
        using (var bundle = ModelBundle.Load(Temp("long.zip"))) Assert.Equal(["a", "b"], bundle.Info.Classes!);

        lines[1400] = "0.5,1.25,a"; // data row 1398 (the blank line is skipped), file line 1401
        File.WriteAllLines(path, lines);
        (code, _, error) = Run(["train", "--data", path, "--out", Temp("never.zip"), .. flags]);
        Assert.Equal(2, code);
        Assert.Contains("Row 1398 (" + path + " line 1401), feature 1 (column 'y'): value 1.25 lies outside the bounds [0, 1]", error);
        Assert.False(File.Exists(Temp("never.zip")));
    }

    [Fact]
    public void DamagedModelFilesExitWithTwoNamingTheEntry()
    {
        var original = File.ReadAllBytes(trained.ModelPath);
        string damaged = Temp("damaged.zip");
        // One flipped bit inside the stored network weights: refused before anything is read, naming the entry.
        byte[] copy;
        using (var edited = new MemoryStream())
        {
            edited.Write(original);
            using (var zip = new ZipArchive(edited, ZipArchiveMode.Update, leaveOpen: true))
            {
                var entry = zip.GetEntry("ReflectedDiffusion/score-model.bin")!;
                byte[] weights;
                using (var s = entry.Open()) { using var m = new MemoryStream(); s.CopyTo(m); weights = m.ToArray(); }
                weights[weights.Length - 100] ^= 0x01;
                entry.Delete();
                using var w = zip.CreateEntry("ReflectedDiffusion/score-model.bin").Open();
                w.Write(weights);
            }
            copy = edited.ToArray();
        }
        File.WriteAllBytes(damaged, copy);
        foreach (var args in new[] { new[] { "score", "--model", damaged, "--data", trained.DataPath, "--out", Temp("never.csv") }, ["sample", "--model", damaged, "--count", "2", "--out", Temp("never.csv")], ["export", "--model", damaged, "--out", Temp("never-onnx")] })
        {
            var (code, _, error) = Run(args);
            Assert.Equal(2, code);
            Assert.Contains("entry 'ReflectedDiffusion/score-model.bin' does not match its SHA-256", error);
            Assert.DoesNotContain("   at ", error); // no stack trace
        }
        Assert.False(File.Exists(Temp("never.csv")));

        // 100 random mutations through rdiff's loader: refused as bad input, or read with every entry unchanged.
        var rng = new Random(3);
        int refused = 0;
        for (int trial = 0; trial < 100; trial++)
        {
            var (kind, mutated) = Testing.ModelFileMutations.Mutate(original, rng);
            File.WriteAllBytes(damaged, mutated);
            try
            {
                using var bundle = ModelBundle.Load(damaged);
                Assert.True(SameEntries(original, mutated), $"trial {trial} ({kind}): a changed file was accepted");
            }
            catch (InputException e)
            {
                Assert.Contains(damaged, e.Message);
                refused++;
            }
        }
        Assert.True(refused > 75, $"{refused} of 100 mutations refused");
    }

    private static bool SameEntries(byte[] a, byte[] b)
    {
        static Dictionary<string, byte[]> Read(byte[] zip)
        {
            using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
            return archive.Entries.ToDictionary(e => e.FullName, e => { using var s = e.Open(); using var m = new MemoryStream(); s.CopyTo(m); return m.ToArray(); });
        }
        var (x, y) = (Read(a), Read(b));
        return x.Count == y.Count && x.All(e => y.TryGetValue(e.Key, out var v) && v.AsSpan().SequenceEqual(e.Value));
    }

    [Fact]
    public void CancellationStopsTrainingAndWritesNothing()
    {
        string model = Temp("cancelled.zip");
        var error = new StringWriter();
        int code = Cli.Run(["train", "--data", trained.DataPath, "--out", model, "--label", "kind", "--steps", "100000"], new StringWriter(), error, new CancellationToken(canceled: true));
        Assert.Equal(1, code);
        Assert.Contains("cancelled", error.ToString());
        Assert.False(File.Exists(model));
    }

    [Fact]
    public void ImageModelsFromIdxAndFoldersSampleToPng()
    {
        // 60 IDX images of 6x6 pixels: class 0 lights the left half, class 1 the right half.
        string images = Temp("tiny-images-idx3-ubyte"), labels = Temp("tiny-labels-idx1-ubyte");
        var pixels = new byte[60 * 36];
        var classes = new byte[60];
        for (int i = 0; i < 60; i++)
        {
            classes[i] = (byte)(i % 2);
            for (int p = 0; p < 36; p++) pixels[i * 36 + p] = (byte)((p % 6 < 3) == (i % 2 == 0) ? 200 + i % 50 : 10);
        }
        File.WriteAllBytes(images, [.. Header(2051, 60, 6, 6), .. pixels]);
        File.WriteAllBytes(labels, [.. Header(2049, 60), .. classes]);
        string model = Temp("idx.zip"), grid = Temp("grid.png");
        var (code, output, error) = Run("train", "--data", images, "--out", model, "--steps", "100", "--batch-size", "60", "--network", "auto");
        Assert.True(code == 0, error); // 'auto' (a null Network) binds: it once threw InvalidCastException
        Assert.Contains("60 rows of 36 features, 2 classes", output);
        (code, _, error) = Run("sample", "--model", model, "--count", "9", "--out", grid, "--label", "1");
        Assert.True(code == 0, error);
        var png = File.ReadAllBytes(grid);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
        int scale = 64 / 6, tile = 6 * scale + 1;
        Assert.Equal(3 * tile + 1, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));

        // The U-Net on the same images: trains, samples and exports its ONNX graphs.
        string unet = Temp("unet.zip");
        (code, output, error) = Run("train", "--data", images, "--out", unet, "--network", "unet", "--steps", "20", "--batch-size", "60",
            "--likelihood-steps", "4"); // the U-Net's exact-trace likelihood graph costs minutes at the default 100 steps on 2 cores
        Assert.True(code == 0, error);
        Assert.Contains("U-Net", output);
        (code, _, error) = Run("sample", "--model", unet, "--count", "4", "--out", Temp("unet.png"), "--steps", "10");
        Assert.True(code == 0, error);
        (code, _, error) = Run("export", "--model", unet, "--out", Temp("unet-onnx"), "--steps", "5");
        Assert.True(code == 0, error);
        Assert.True(File.Exists(Path.Combine(Temp("unet-onnx"), "likelihood.onnx")));

        // The same images as PNG files in class folders, read through ML.NET's image stages.
        string folder = Temp("folder");
        for (int i = 0; i < 20; i++)
        {
            string dir = Path.Combine(folder, i % 2 == 0 ? "left" : "right");
            Directory.CreateDirectory(dir);
            using var f = File.Create(Path.Combine(dir, $"{i}.png"));
            Png.Write(f, pixels[(i * 36)..((i + 1) * 36)], 6, 6, 1);
        }
        (code, output, error) = Run("train", "--data", folder, "--out", Temp("folder.zip"), "--image", "6x6", "--steps", "20");
        Assert.True(code == 0, error);
        Assert.Contains("20 rows of 36 features, 2 classes", output);
        (code, _, error) = Run("train", "--data", folder, "--out", Temp("folder.zip"), "--image", "6x6", "--label", "x");
        Assert.Equal(2, code);
        Assert.Contains("apply to CSV files", error);
    }

    private static byte[] Header(params int[] words)
    {
        var bytes = new byte[words.Length * 4];
        for (int i = 0; i < words.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(i * 4), words[i]);
        return bytes;
    }

    [Fact]
    public void DemoRunsEndToEndOnATinyBudget()
    {
        string dir = Temp("demo");
        var (code, output, error) = Run("demo", "--out", dir, "--steps", "30", "--samples", "3", "--score-rows", "10");
        Assert.True(code == 0, error);
        Assert.True(File.Exists(Path.Combine(dir, "model.zip")));
        Assert.Equal(10, Directory.GetFiles(Path.Combine(dir, "samples", "guidance-0"), "digit-*.png").Length);
        Assert.Equal(10, Directory.GetFiles(Path.Combine(dir, "samples", "guidance-2"), "digit-*.png").Length);
        string report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("| held-out digits | 10 |", report);
        // The classifier on real digits is the yardstick of the samples; it must itself be good.
        double accuracy = double.Parse(report.Split("accuracy on the held-out real digits ")[1][..5], CultureInfo.InvariantCulture);
        Assert.True(accuracy > 0.9, $"classifier accuracy {accuracy}");
        Assert.Contains(report, output);
    }

    private sealed class Row
    {
        [VectorType(3)] public float[] Features = [];
    }
}
