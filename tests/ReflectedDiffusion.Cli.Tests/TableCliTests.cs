using System.Globalization;
using System.IO.Compression;
using ReflectedDiffusion.Tables;
using Xunit;

namespace ReflectedDiffusion.Cli.Tests;

/// <summary>One tiny table model trained on penguins (with an empty and a single-category column added) for the tests of this class.</summary>
public sealed class TrainedTable : TrainedFixture
{
    public TrainedTable() : base("rdiff-table-tests-", "penguins.csv")
    {
        // Two more columns: 'note' is empty in every row, 'colony' holds one category.
        var lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "data", "penguins.csv"));
        File.WriteAllLines(DataPath, lines.Select((l, i) => l + (i == 0 ? ",note,colony" : ",,Palmer")));
        Train("--steps", "300", "--batch-size", "128", "--seed", "3", "--sigma-min", "0.01");
        Real = TableCsv.Read(DataPath).Table;
    }

    public Table Real { get; }
}

public sealed class TableCliTests(TrainedTable trained) : IClassFixture<TrainedTable>
{
    private string Temp(string name) => Path.Combine(trained.Folder, name);

    private Table Sample(string name, params string[] extra)
    {
        string path = Temp(name);
        var (code, output, error) = CliTests.Run(["sample", "--model", trained.ModelPath, "--count", "150", "--out", path, "--seed", "2", "--steps", "40", .. extra]);
        Assert.True(code == 0, error);
        Assert.Contains($"Wrote 150 rows to {path}", output);
        Assert.Equal(File.ReadLines(trained.DataPath).First(), File.ReadLines(path).First());
        return TableCsv.Read(path, new ColumnTypeOverrides { Categorical = ["note"] }).Table;
    }

    [Fact]
    public void TrainPrintsTheSchemaAndKeepsItInTheModelFile()
    {
        Assert.True(trained.Code == 0, trained.Error);
        Assert.Contains("Training on 344 rows of 10 columns", trained.Output);
        Assert.Contains("species: categorical 3 categories: Adelie (152), Chinstrap (68), Gentoo (124)", trained.Output);
        Assert.Contains("flipper_length_mm: 3 coordinates, integer in [172, 231]; point masses at 190; a missing indicator", trained.Output);
        Assert.Contains("note: constant always missing", trained.Output);
        Assert.Contains("colony: 0 coordinates, constant 'Palmer'", trained.Output);
        using var zip = ZipFile.OpenRead(trained.ModelPath);
        using var reader = new StreamReader(zip.GetEntry("ReflectedDiffusion/rdiff.json")!.Open());
        string json = reader.ReadToEnd();
        Assert.Contains("\"Table\":{\"Schema\"", json);
        Assert.Contains("\"Vocabulary\":[\"Adelie\",\"Chinstrap\",\"Gentoo\"]", json);
    }

    [Fact]
    public void SampleWritesTheTablesColumnsTypesAndRanges()
    {
        var synthetic = Sample("all.csv");
        var schema = TableSchema.Infer(trained.Real);
        foreach (var column in schema.Columns)
        {
            var values = synthetic[column.Name];
            for (int i = 0; i < values.Length; i++)
            {
                if (values.IsMissing(i)) continue;
                if (column.Kind is ColumnKind.Real or ColumnKind.Integer)
                {
                    double v = values.Numbers![i];
                    Assert.InRange(v, column.Min!.Value, column.Max!.Value);
                    if (column.Kind == ColumnKind.Integer) Assert.Equal(System.Math.Round(v), v);
                    else Assert.Equal(System.Math.Round(v, 1), v);
                }
                else if (column.Kind == ColumnKind.Categorical) Assert.Contains(values.Texts![i], column.Vocabulary!);
            }
        }
        // The empty column stays empty, the single-category column keeps its category, every category can come back.
        Assert.Equal(150, synthetic["note"].MissingCount);
        Assert.All(synthetic["colony"].Texts!, t => Assert.Equal("Palmer", t));
        Assert.Equal(3, synthetic["species"].Texts!.Distinct().Count());
        Assert.All(synthetic["year"].Numbers!, y => Assert.Contains(y, new[] { 2007.0, 2008.0, 2009.0 }));
    }

    [Fact]
    public void TableModelsSampleByTheSdeUnlessASamplerIsNamed()
    {
        Sample("default.csv");
        Sample("auto.csv", "--sampler", "auto");
        Sample("sde.csv", "--sampler", "sde");
        Sample("ode.csv", "--sampler", "ode");
        Assert.Equal(File.ReadAllText(Temp("sde.csv")), File.ReadAllText(Temp("default.csv")));
        Assert.Equal(File.ReadAllText(Temp("sde.csv")), File.ReadAllText(Temp("auto.csv")));
        Assert.NotEqual(File.ReadAllText(Temp("sde.csv")), File.ReadAllText(Temp("ode.csv")));
    }

    [Fact]
    public void EveryRowSatisfiesTheConditions()
    {
        var synthetic = Sample("adelie.csv", "--where", "species=Adelie", "--where", "body_mass_g>=4000", "--where", "sex=male");
        Assert.All(synthetic["species"].Texts!, s => Assert.Equal("Adelie", s));
        Assert.All(synthetic["body_mass_g"].Numbers!, m => Assert.True(m >= 4000, $"body mass {m}"));
        Assert.All(synthetic["sex"].Texts!, s => Assert.Equal("male", s));
    }

    [Fact]
    public void ExcludedRowsAreNeverWritten()
    {
        // The same seed draws the same first round: excluding that round's own rows forces every row to be drawn again.
        var first = Sample("first.csv");
        var again = Sample("again.csv", "--exclude-copies-of", Temp("first.csv"));
        var schema = TableSchema.Infer(first);
        Assert.Equal(0, new RowSet(first, schema).CountIn(again));
        Assert.Equal(0, new RowSet(trained.Real, TableSchema.Infer(trained.Real)).CountIn(Sample("no-copies.csv", "--exclude-copies-of", trained.DataPath)));

        var (code, _, error) = CliTests.Run(["sample", "--model", trained.ModelPath, "--rows", "10:20", "--out", Temp("never.csv"), "--exclude-copies-of", trained.DataPath]);
        Assert.Equal(2, code);
        Assert.Contains("not with --where or --exclude-copies-of", error);
        (code, _, error) = CliTests.Run(["sample", "--model", trained.ModelPath, "--count", "5", "--out", Temp("never.csv"), "--exclude-copies-of", Temp("nowhere.csv")]);
        Assert.Equal(2, code);
        Assert.Contains("nowhere.csv", error);
    }

    [Theory]
    [InlineData("Option '--where': Condition 'species=Emperor': 'Emperor' is not a category of column 'species' (categories: Adelie, Chinstrap, Gentoo)", "--where", "species=Emperor")]
    [InlineData("column 'wingspan' is not in the model's table", "--where", "wingspan>3")]
    [InlineData("no value of column 'body_mass_g' can satisfy it", "--where", "body_mass_g>9000")]
    [InlineData("Option '--label': the model was trained on a table", "--label", "Adelie")]
    [InlineData("0 of 300 drawn rows satisfy them", "--where", "species=Adelie", "--where", "island=Biscoe", "--where", "body_mass_g>=6000", "--max-draws", "300")]
    public void BadConditionsExitWithTwo(string expected, params string[] extra)
    {
        var (code, _, error) = CliTests.Run(["sample", "--model", trained.ModelPath, "--count", "5", "--out", Temp("never.csv"), "--steps", "10", .. extra]);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.False(File.Exists(Temp("never.csv")));
    }

    [Fact]
    public void ScoreEncodesTheTablesRows()
    {
        string scored = Temp("scored.csv");
        var (code, _, error) = CliTests.Run("score", "--model", trained.ModelPath, "--data", trained.DataPath, "--out", scored);
        Assert.True(code == 0, error);
        var lines = File.ReadAllLines(scored);
        Assert.EndsWith(",log_likelihood,bits_per_dim,anomaly_score,is_anomaly", lines[0]);
        Assert.Equal(345, lines.Length);
        Assert.True(double.IsFinite(double.Parse(lines[1].Split(',')[^2], CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void BadTablesAndTableFlagsExitWithTwoNamingWhere()
    {
        string bad = Temp("bad.csv");
        (int, string) Train(params string[] extra) { var r = CliTests.Run(["train", "--data", bad, "--out", Temp("never.zip"), "--steps", "5", .. extra]); return (r.Code, r.Error); }

        File.WriteAllLines(bad, ["a,b", "1,x", "2"]);
        var (code, error) = Train();
        Assert.Equal(2, code);
        Assert.Contains("bad.csv line 3: 1 fields; the header has 2", error);

        File.WriteAllLines(bad, ["a,b", "1,\"x", "2,y"]);
        (code, error) = Train();
        Assert.Equal(2, code);
        Assert.Contains("bad.csv line 2, column 3: the quoted field 2 is never closed", error);

        File.WriteAllLines(bad, ["a,b", "1,x", "2.5,y"]);
        (code, error) = Train("--integer", "a");
        Assert.Equal(2, code);
        Assert.Contains("line 3, column 'a': '2.5' is not an integer", error);
        (code, error) = Train("--categorical", "c");
        Assert.Equal(2, code);
        Assert.Contains("Option '--categorical: column 'c' is not in the table", error);
        (code, error) = Train("--column-bounds", "a=2:3");
        Assert.Equal(2, code);
        Assert.Contains("line 2): 1 lies outside the declared bounds [2, 3]", error);
        (code, error) = Train("--column-bounds", "a=2");
        Assert.Equal(2, code);
        Assert.Contains("Option '--column-bounds a=2': write COLUMN=LOWER:UPPER", error);
        (code, error) = Train("--categorical", "b", "--label", "b");
        Assert.Equal(2, code);
        Assert.Contains("apply to tables", error);

        // Nothing to model: every column constant.
        File.WriteAllLines(bad, ["a,b", "1,x", "1,x"]);
        (code, error) = Train();
        Assert.Equal(2, code);
        Assert.Contains("Every column is constant (a, b)", error);
        Assert.False(File.Exists(Temp("never.zip")));
    }
}
