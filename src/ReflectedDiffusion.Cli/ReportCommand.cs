using System.CommandLine;
using System.Diagnostics;
using ReflectedDiffusion.Quality;
using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.Cli;

/// <summary>'rdiff report': compares a synthetic CSV table with the real one and writes report.md and plots.</summary>
internal static class ReportCommand
{
    public static Command Create(CliContext context)
    {
        var real = CommonOptions.Required("--real", "The real (training) table: a CSV file with a header row; NA and empty cells are missing.");
        var synthetic = CommonOptions.Required("--synthetic", "The synthetic table to judge: a CSV file with the real table's columns.");
        var holdout = new Option<string>("--holdout") { Description = "Real rows kept out of training (CSV): the test set of the efficacy models and the baseline of the privacy distances." };
        var target = new Option<string>("--target") { Description = "The column the efficacy models predict from the others (needs --holdout): accuracy and macro-F1 for a categorical column, R^2 for a numeric one." };
        var output = CommonOptions.Required("--out", "The folder to write report.md and plots/ into (created if needed).");
        var defaults = new QualityOptions();
        var folds = CommonOptions.Tool("--folds", "Folds of the cross-validated real-versus-synthetic classifier.", defaults.DetectionFolds);
        var seed = CommonOptions.Tool("--seed", "Seed of the classifiers and of the row draws.", defaults.Seed);
        var command = new Command("report", "Compares a synthetic table with the real one: column shapes, boundary pile-up, missing rates, pairwise correlations, a detection classifier, efficacy and privacy; writes report.md and PNG plots.")
        {
            real, synthetic, holdout, target, output, folds, seed,
        };
        command.SetAction(p => Report(context, p.GetRequiredValue(real), p.GetRequiredValue(synthetic), p.GetValue(holdout), p.GetRequiredValue(output),
            new QualityOptions { Target = p.GetValue(target), DetectionFolds = p.GetValue(folds), Seed = p.GetValue(seed) }));
        return command;
    }

    private static void Report(CliContext context, string realPath, string syntheticPath, string? holdoutPath, string outFolder, QualityOptions options)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            options.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InputException($"--{(e.ParamName == nameof(QualityOptions.DetectionFolds) ? "folds" : e.ParamName)}: {e.Message}");
        }
        // Table errors (file, line, column) reach the exit code 2 through Cli.Run.
        var realTable = TableCsv.Read(realPath).Table;
        // The real table decides the kinds: the report reads a numeric column as text where the real one is categorical.
        var syntheticTable = TableCsv.Read(syntheticPath).Table;
        var holdoutTable = holdoutPath is null ? null : TableCsv.Read(holdoutPath).Table;
        if (options.Target is not null && holdoutTable is null) throw new InputException("--target needs --holdout: efficacy is tested on real rows kept out of training.");
        QualityReport report;
        try
        {
            report = QualityReport.Compute(realTable, syntheticTable, holdoutTable, options);
        }
        catch (TableInputException e)
        {
            // The report names the table (real, synthetic, hold-out); the tool adds which files those are.
            throw new InputException($"{e.Message} (--real {realPath}, --synthetic {syntheticPath}{(holdoutPath is null ? "" : $", --holdout {holdoutPath}")})");
        }
        var path = QualityReportWriter.Write(report, outFolder);
        context.Output.WriteLine($"Column shape {QualityReportWriter.F(report.MeanShape)}, pair score {QualityReportWriter.F(report.MeanPairScore)}, detection AUC {QualityReportWriter.F(report.Detection.Auc)}"
            + (report.Efficacy is { } e2 ? $", efficacy {QualityReportWriter.F(e2.Ratio)} of train-on-real" : "")
            + $", {report.Privacy.ExactCopies} exact copies ({watch.Elapsed.TotalSeconds:F1} s). Wrote {path}.");
    }
}
