using System.Globalization;
using System.Text;
using ReflectedDiffusion.IO;
using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.Quality;

/// <summary>
/// Writes a <see cref="QualityReport"/> into a folder: report.md (tables of the figures with a line on each) and PNG
/// plots under plots/. Every file is written atomically (temporary file, then rename) and report.md last, so a
/// report.md on disk always refers to plots that are complete.
/// </summary>
public static class QualityReportWriter
{
    /// <summary>Writes report.md and the plots into <paramref name="folder"/> (created if needed); returns the path of report.md.</summary>
    public static string Write(QualityReport report, string folder, string title = "Synthetic data quality report")
    {
        var plots = WritePlots(folder, report.Real, [("synthetic", report.Synthetic)], report.Columns.Where(c => c.IsNumeric).Select(c => c.Name).ToArray(),
            ("real", CorrelationMatrix(report.Real)), ("synthetic", CorrelationMatrix(report.Synthetic)));
        var md = new StringBuilder();
        md.AppendLine($"# {title}").AppendLine();
        md.AppendLine($"Real (training) rows: {report.Real.RowCount}; synthetic rows: {report.Synthetic.RowCount}; hold-out rows: {(report.Holdout is null ? "none" : report.Holdout.RowCount.ToString(CultureInfo.InvariantCulture))}.").AppendLine();
        Summary(md, report);
        ColumnSection(md, report);
        PairSection(md, report);
        DetectionSection(md, report.Detection);
        EfficacySection(md, report.Efficacy);
        PrivacySection(md, report.Privacy);
        md.AppendLine("## Plots").AppendLine();
        foreach (var (caption, file) in plots) md.AppendLine($"![{caption}]({file})").AppendLine();
        return WriteText(Path.Combine(folder, "report.md"), md.ToString());
    }

    /// <summary>
    /// Marginal plots of every column (real against each synthetic table) and correlation heat maps (each given
    /// matrix, and each after the first minus the first) under <paramref name="folder"/>/plots; returns (caption,
    /// relative path) pairs.
    /// </summary>
    public static List<(string Caption, string File)> WritePlots(string folder, Table real, IReadOnlyList<(string Label, Table Table)> synthetic,
        IReadOnlyList<string> numericNames, params (string Label, double[,] Matrix)[] correlations)
    {
        var files = new List<(string, string)>();
        foreach (var (name, i) in real.Names.Select((n, i) => (n, i)))
        {
            var file = $"plots/marginal-{i + 1:D2}-{Safe(name)}.png";
            WriteBytes(Path.Combine(folder, file), ReportPlots.Marginal(name, real, synthetic));
            files.Add(($"marginal of {name}", file));
        }
        if (numericNames.Count >= 2)
        {
            foreach (var (label, matrix) in correlations)
            {
                var file = $"plots/correlation-{Safe(label)}.png";
                WriteBytes(Path.Combine(folder, file), ReportPlots.Matrix($"Pearson correlation, {label}", numericNames, matrix, 1));
                files.Add(($"correlations, {label}", file));
            }
            foreach (var (label, matrix) in correlations.Skip(1))
            {
                var diff = Subtract(matrix, correlations[0].Matrix);
                double limit = Math.Max(0.1, diff.Cast<double>().Where(v => !double.IsNaN(v)).Select(Math.Abs).DefaultIfEmpty(0).Max());
                var file = $"plots/correlation-difference-{Safe(label)}.png";
                WriteBytes(Path.Combine(folder, file), ReportPlots.Matrix($"correlation difference, {label} - {correlations[0].Label}", numericNames, diff, limit));
                files.Add(($"correlation difference, {label} minus {correlations[0].Label}", file));
            }
        }
        return files;
    }

    /// <summary>Pearson correlations between the numeric columns of <paramref name="table"/>, in table order (NaN where undefined).</summary>
    public static double[,] CorrelationMatrix(Table table)
    {
        var numeric = table.Columns.Where(c => c.IsNumeric).ToArray();
        var m = new double[numeric.Length, numeric.Length];
        for (int i = 0; i < numeric.Length; i++)
            for (int j = 0; j < numeric.Length; j++)
                m[i, j] = PairMetrics.Pearson(numeric[i].Numbers!, numeric[j].Numbers!);
        return m;
    }

    /// <summary>A number for the report: fixed decimals, "n/a" for NaN.</summary>
    public static string F(double v, int decimals = 3) => double.IsNaN(v) ? "n/a" : v.ToString("F" + decimals, CultureInfo.InvariantCulture);

    /// <summary>A share as a percentage with one decimal.</summary>
    public static string Percent(double v) => double.IsNaN(v) ? "n/a" : (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%";

    /// <summary>Writes UTF-8 text atomically; returns the path.</summary>
    public static string WriteText(string path, string text)
    {
        AtomicFile.Write(path, s => s.Write(new UTF8Encoding(false).GetBytes(text)));
        return path;
    }

    private static void WriteBytes(string path, byte[] bytes) => AtomicFile.Write(path, s => s.Write(bytes));

    private static void Summary(StringBuilder md, QualityReport r)
    {
        md.AppendLine("## Summary").AppendLine();
        md.AppendLine("| figure | value | best |").AppendLine("|---|---|---|");
        md.AppendLine($"| mean column shape (1 - KS or 1 - TV) | {F(r.MeanShape)} | 1 |");
        md.AppendLine($"| mean pair score (correlation / contingency) | {F(r.MeanPairScore)} | 1 |");
        md.AppendLine($"| synthetic values outside the real range (all numeric cells) | {Percent(OutsideShare(r))} | 0% |");
        md.AppendLine($"| detection ROC AUC ({r.Detection.Folds}-fold) | {F(r.Detection.Auc)} | 0.5 |");
        if (r.Efficacy is { } e) md.AppendLine($"| efficacy, {e.Target}: synthetic / real {(e.IsClassification ? "accuracy" : "R^2")} | {F(e.Ratio)} | 1 |");
        md.AppendLine($"| exact copies of training rows | {r.Privacy.ExactCopies} | 0 |").AppendLine();
    }

    private static double OutsideShare(QualityReport r)
    {
        double outside = 0, cells = 0;
        foreach (var c in r.Columns.Where(c => c.IsNumeric && c.SyntheticBounds is { } b && !double.IsNaN(b.Outside)))
        {
            int present = r.Synthetic[c.Name].Numbers!.Count(v => !double.IsNaN(v));
            outside += c.SyntheticBounds!.Value.Outside * present;
            cells += present;
        }
        return cells == 0 ? double.NaN : outside / cells;
    }

    private static void ColumnSection(StringBuilder md, QualityReport r)
    {
        md.AppendLine("## Columns").AppendLine();
        md.AppendLine("Shape: 1 minus the Kolmogorov-Smirnov statistic (numeric) or the total variation distance (categorical) between the real and synthetic marginals; 1 means equal. "
            + "At min / at max: the share of present values equal to the real column's minimum / maximum, real then synthetic: clipping piles synthetic values up there. "
            + "Outside: synthetic values below the real minimum or above the real maximum. Missing: the share of missing values, real then synthetic.").AppendLine();
        md.AppendLine("| column | type | shape | at min (real / synth) | at max (real / synth) | outside | missing (real / synth) |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var c in r.Columns)
        {
            string atMin = c.RealBounds is { } rb ? $"{Percent(rb.AtMin)} / {Percent(c.SyntheticBounds!.Value.AtMin)}" : "";
            string atMax = c.RealBounds is { } rb2 ? $"{Percent(rb2.AtMax)} / {Percent(c.SyntheticBounds!.Value.AtMax)}" : "";
            string outside = c.SyntheticBounds is { } sb ? Percent(sb.Outside) : "";
            md.AppendLine($"| {c.Name} | {(c.IsNumeric ? "numeric" : "categorical")} | {F(c.Shape)} | {atMin} | {atMax} | {outside} | {Percent(c.RealMissing)} / {Percent(c.SyntheticMissing)} |");
        }
        md.AppendLine();
    }

    private static void PairSection(StringBuilder md, QualityReport r)
    {
        md.AppendLine("## Pairs of columns").AppendLine();
        md.AppendLine("Two numeric columns: Pearson correlation in each table and the absolute difference (score 1 - difference / 2). Otherwise: the total variation distance between the "
            + "joint frequencies of the two columns (numbers cut into equal-width bins over the real range), score 1 - distance. Rows with either value missing are left out.").AppendLine();
        md.AppendLine("| pair | measure | real | synthetic | difference | score |").AppendLine("|---|---|---|---|---|---|");
        foreach (var p in r.Pairs)
            md.AppendLine($"| {p.First} / {p.Second} | {(p.IsCorrelation ? "correlation" : "contingency")} | {F(p.Real)} | {F(p.Synthetic)} | {F(p.Difference)} | {F(p.Score)} |");
        md.AppendLine();
    }

    private static void DetectionSection(StringBuilder md, DetectionQuality d)
    {
        md.AppendLine("## Detection").AppendLine();
        md.AppendLine($"A FastTree classifier (ML.NET) trained to tell real rows from synthetic ones, {d.Folds}-fold cross-validated: ROC AUC {F(d.Auc)} "
            + $"(0.5: it cannot tell them apart; 1: it always can); score 1 - 2 (max(AUC, 0.5) - 0.5) = {F(d.Score)}.").AppendLine();
    }

    private static void EfficacySection(StringBuilder md, EfficacyQuality? e)
    {
        md.AppendLine("## Machine-learning efficacy").AppendLine();
        if (e is null)
        {
            md.AppendLine("Not measured: it needs a target column and a hold-out table (`--target`, `--holdout`).").AppendLine();
            return;
        }
        md.AppendLine($"FastTree models predicting `{e.Target}` from the other columns, trained on the real table and on the synthetic table, tested on the {e.TestRows} hold-out rows with `{e.Target}` present.").AppendLine();
        md.AppendLine("| trained on | " + (e.IsClassification ? "accuracy | macro-F1 |" : "R^2 |")).AppendLine(e.IsClassification ? "|---|---|---|" : "|---|---|");
        md.AppendLine($"| real | {F(e.RealScore)} |" + (e.IsClassification ? $" {F(e.RealMacroF1)} |" : ""));
        md.AppendLine($"| synthetic | {F(e.SyntheticScore)} |" + (e.IsClassification ? $" {F(e.SyntheticMacroF1)} |" : ""));
        md.AppendLine().AppendLine($"Synthetic / real: {F(e.Ratio)}.").AppendLine();
    }

    private static void PrivacySection(StringBuilder md, PrivacyQuality p)
    {
        md.AppendLine("## Privacy").AppendLine();
        md.AppendLine("Distance to the closest real training row (Gower: the mean over columns of |difference| / range for numbers, 0 or 1 for categories and missing values). "
            + "Synthetic rows much closer to training rows than new real (hold-out) rows are suspect copies.").AppendLine();
        md.AppendLine("| rows | count | 5th percentile | median |").AppendLine("|---|---|---|---|");
        md.AppendLine($"| synthetic | {p.SyntheticToTrain.Length} | {F(Scores.Quantile(p.SyntheticToTrain, 0.05), 4)} | {F(Scores.Quantile(p.SyntheticToTrain, 0.5), 4)} |");
        if (p.HoldoutToTrain.Length > 0)
            md.AppendLine($"| hold-out | {p.HoldoutToTrain.Length} | {F(Scores.Quantile(p.HoldoutToTrain, 0.05), 4)} | {F(Scores.Quantile(p.HoldoutToTrain, 0.5), 4)} |");
        md.AppendLine();
        md.AppendLine($"Exact copies of a training row: {p.ExactCopies}." + (p.HoldoutToTrain.Length > 0
            ? $" Synthetic rows closer than the hold-out's 5th percentile: {Percent(p.ShareCloserThanHoldout5th)} (about 5% when no closer than new real rows)." : "")).AppendLine();
    }

    private static double[,] Subtract(double[,] a, double[,] b)
    {
        var d = new double[a.GetLength(0), a.GetLength(1)];
        for (int i = 0; i < a.GetLength(0); i++) for (int j = 0; j < a.GetLength(1); j++) d[i, j] = a[i, j] - b[i, j];
        return d;
    }

    private static string Safe(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
}
