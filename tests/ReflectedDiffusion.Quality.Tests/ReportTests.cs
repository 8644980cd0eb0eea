using ReflectedDiffusion.Tables;
using Xunit;

namespace ReflectedDiffusion.Quality.Tests;

/// <summary>The whole report on small tables: the ML.NET figures move the right way, and the output folder.</summary>
public sealed class ReportTests
{
    // x uniform on [lo, lo + 1], y = 2x + noise, kind "a" below the middle of x and "b" above, some values missing.
    internal static Table Make(int rows, int seed, double lo = 0, bool shuffleKind = false)
    {
        var rng = new Random(seed);
        var x = new double[rows];
        var y = new double[rows];
        var kind = new string?[rows];
        for (int i = 0; i < rows; i++)
        {
            x[i] = lo + rng.NextDouble();
            y[i] = 2 * x[i] + 0.1 * rng.NextDouble();
            kind[i] = (shuffleKind ? rng.NextDouble() : x[i] - lo) < 0.5 ? "a" : "b";
            if (i % 10 == 3) y[i] = double.NaN;
        }
        return new Table([TableColumn.Numeric("x", x), TableColumn.Numeric("y", y), TableColumn.Text("kind", kind)]);
    }

    [Fact]
    public void DetectionTellsShiftedTablesApartAndNotLikeOnes()
    {
        var real = Make(300, 1);
        var alike = QualityReport.Compute(real, Make(300, 2), options: new QualityOptions { DetectionFolds = 3 });
        var shifted = QualityReport.Compute(real, Make(300, 3, lo: 2), options: new QualityOptions { DetectionFolds = 3 });
        Assert.InRange(alike.Detection.Auc, 0.35, 0.65);
        Assert.InRange(shifted.Detection.Auc, 0.99, 1);
        Assert.InRange(shifted.Detection.Score, 0, 0.02);
        // Shifted by 2: every synthetic x is above the real maximum; the KS statistic is 1.
        var x = shifted.Columns.Single(c => c.Name == "x");
        Assert.Equal(1, x.Distance);
        Assert.Equal(1, x.SyntheticBounds!.Value.AboveMax);
        Assert.Equal(0.1, alike.Columns.Single(c => c.Name == "y").RealMissing, 12);
        Assert.Equal(3, alike.Pairs.Count);
        Assert.True(alike.Pairs.Single(p => p.First == "x" && p.Second == "y").Difference < 0.02);
    }

    [Fact]
    public void EfficacyDropsWhenTheSyntheticLabelsCarryNoSignal()
    {
        var real = Make(300, 1);
        var holdout = Make(200, 9);
        var options = new QualityOptions { Target = "kind", DetectionFolds = 2 };
        var good = QualityReport.Compute(real, Make(300, 2), holdout, options).Efficacy!;
        var noise = QualityReport.Compute(real, Make(300, 2, shuffleKind: true), holdout, options).Efficacy!;
        Assert.True(good.IsClassification);
        Assert.Equal(200, good.TestRows);
        Assert.InRange(good.RealScore, 0.95, 1);
        Assert.InRange(good.Ratio, 0.95, 1.05);
        Assert.InRange(noise.SyntheticScore, 0.3, 0.75);
        var regression = QualityReport.Compute(real, Make(300, 2), holdout, new QualityOptions { Target = "y", DetectionFolds = 2 }).Efficacy!;
        Assert.False(regression.IsClassification);
        Assert.Equal(180, regression.TestRows);   // rows with y missing are left out
        Assert.InRange(regression.RealScore, 0.9, 1);
        Assert.InRange(regression.SyntheticScore, 0.9, 1);
    }

    [Fact]
    public void PrivacyCountsExactCopies()
    {
        var real = Make(100, 1);
        var copies = new Table(real.Columns.Select(c => c.Numbers is { } n ? TableColumn.Numeric(c.Name, n[..20]) : TableColumn.Text(c.Name, c.Texts![..20])).ToList());
        var report = QualityReport.Compute(real, copies, Make(50, 4), new QualityOptions { DetectionFolds = 2 });
        Assert.Equal(20, report.Privacy.ExactCopies);
        Assert.All(report.Privacy.SyntheticToTrain, d => Assert.Equal(0, d));
        Assert.Equal(1, report.Privacy.ShareCloserThanHoldout5th);
        Assert.Equal(50, report.Privacy.HoldoutToTrain.Length);
    }

    [Fact]
    public void BadTablesAreRefusedNamingTheColumn()
    {
        var real = Make(50, 1);
        var noY = new Table([real["x"], real["kind"]]);
        Assert.Contains("no column 'y'", Assert.Throws<TableInputException>(() => QualityReport.Compute(real, noY)).Message);
        var textX = new Table([TableColumn.Text("x", Enumerable.Repeat<string?>("wide", 50).ToArray()), real["y"], real["kind"]]);
        Assert.Contains("Column 'x' is numeric in the real table", Assert.Throws<TableInputException>(() => QualityReport.Compute(real, textX)).Message);
        Assert.Contains("'size' is not in the real table", Assert.Throws<TableInputException>(() => QualityReport.Compute(real, real, real, new QualityOptions { Target = "size" })).Message);
        Assert.Contains("no hold-out", Assert.Throws<TableInputException>(() => QualityReport.Compute(real, real, null, new QualityOptions { Target = "kind" })).Message);
    }

    [Fact]
    public void WriterPutsReportAndPlotsInTheFolder()
    {
        var folder = Directory.CreateTempSubdirectory("quality-tests-").FullName;
        try
        {
            var report = QualityReport.Compute(Make(120, 1), Make(120, 2), Make(60, 3), new QualityOptions { Target = "kind", DetectionFolds = 2 });
            var path = QualityReportWriter.Write(report, folder);
            var md = File.ReadAllText(path);
            Assert.Contains("| x | numeric |", md);
            Assert.Contains("| kind | categorical |", md);
            Assert.Contains("| x / y | correlation |", md);
            Assert.Contains("Exact copies of a training row: 0.", md);
            var plots = Directory.GetFiles(Path.Combine(folder, "plots"), "*.png").Select(p => Path.GetFileName(p)!).Order().ToArray();
            Assert.Equal(["correlation-difference-synthetic.png", "correlation-real.png", "correlation-synthetic.png",
                "marginal-01-x.png", "marginal-02-y.png", "marginal-03-kind.png"], plots);
            foreach (var png in Directory.GetFiles(Path.Combine(folder, "plots")))
                Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);
            Assert.Empty(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
