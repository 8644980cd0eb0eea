using System.Globalization;
using Xunit;

namespace ReflectedDiffusion.Cli.Tests;

/// <summary>'rdiff report' on tiny CSV files: the report folder, and exit code 2 with a clear message on bad input.</summary>
public sealed class ReportCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("rdiff-report-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // size in [lo, lo + 1] (NA every 7th row), kind small/large by size, colour at random, mass 10 size + noise (never missing).
    private string Csv(string name, int rows, int seed, double lo = 0)
    {
        var rng = new Random(seed);
        var lines = new List<string> { "size,kind,colour,mass" };
        for (int i = 0; i < rows; i++)
        {
            double size = lo + rng.NextDouble();
            lines.Add(string.Join(',', i % 7 == 3 ? "NA" : size.ToString("F3", CultureInfo.InvariantCulture), size - lo < 0.5 ? "small" : "large", rng.Next(2) == 0 ? "red" : "\"blue, dark\"",
                (10 * size + rng.NextDouble()).ToString("F2", CultureInfo.InvariantCulture)));
        }
        var path = Path.Combine(_folder, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void WritesTheReportFolder()
    {
        string real = Csv("real.csv", 80, 1), synthetic = Csv("synthetic.csv", 80, 2), holdout = Csv("holdout.csv", 40, 3), output = Path.Combine(_folder, "report");
        var (code, stdout, stderr) = CliTests.Run("report", "--real", real, "--synthetic", synthetic, "--holdout", holdout, "--target", "kind", "--out", output, "--folds", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("detection AUC", stdout);
        var md = File.ReadAllText(Path.Combine(output, "report.md"));
        Assert.Contains("| size | numeric |", md);
        Assert.Contains("| colour | categorical |", md);
        Assert.Contains("| 13.8% / 13.8% |", md);   // size is NA in rows 3, 10, ..., 73: 11 of 80
        Assert.Contains("FastTree models predicting `kind`", md);
        var plots = Path.Combine(output, "plots");
        Assert.Equal(4, Directory.GetFiles(plots, "marginal-*.png").Length);
        Assert.NotEmpty(Directory.GetFiles(plots, "correlation-*.png"));   // size and mass: a correlation matrix
        foreach (var png in Directory.GetFiles(plots, "*.png"))   // real PNG files, each linked from report.md
        {
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png)[..4]);
            Assert.Contains("plots/" + Path.GetFileName(png), md);
        }
    }

    [Fact]
    public void BadInputExitsWithTwoNamingTheProblem()
    {
        string real = Csv("real.csv", 30, 1), output = Path.Combine(_folder, "bad");
        string noKind = Path.Combine(_folder, "nokind.csv");
        File.WriteAllLines(noKind, ["size,colour", "0.5,red"]);
        string textSize = Path.Combine(_folder, "textsize.csv");
        File.WriteAllLines(textSize, ["size,kind,colour", "big,small,red"]);
        Expect2(["report", "--real", real, "--synthetic", noKind, "--out", output], "The synthetic table has no column 'kind'", "--synthetic " + noKind);
        Expect2(["report", "--real", real, "--synthetic", textSize, "--out", output], "Column 'size' is numeric in the real table, but the synthetic table has text in it ('big', row 1)", "--synthetic " + textSize);
        string ragged = Path.Combine(_folder, "ragged.csv");
        File.WriteAllLines(ragged, ["size,kind,colour", "0.5,small,red", "0.7,large"]);
        Expect2(["report", "--real", real, "--synthetic", ragged, "--out", output], "ragged.csv line 3: 2 fields; the header has 3");
        Expect2(["report", "--real", real, "--synthetic", real, "--target", "kind", "--out", output], "--target needs --holdout");
        Expect2(["report", "--real", real, "--synthetic", real, "--holdout", real, "--target", "weight", "--out", output], "'weight' is not in the real table");
        Expect2(["report", "--real", Path.Combine(_folder, "absent.csv"), "--synthetic", real, "--out", output], "absent.csv' not found");
        Expect2(["report", "--real", real, "--synthetic", real, "--out", output, "--folds", "1"], "--folds");
        Expect2(["report", "--real", real, "--out", output], "--synthetic");
        Assert.False(Directory.Exists(output));
    }

    private static void Expect2(string[] args, params string[] messages)
    {
        var (code, _, stderr) = CliTests.Run(args);
        Assert.True(code == 2, $"exit {code}: {stderr}");
        foreach (var message in messages) Assert.Contains(message, stderr);
    }
}
