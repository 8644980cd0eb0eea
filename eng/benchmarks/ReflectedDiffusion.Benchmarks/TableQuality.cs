using System.Diagnostics;
using System.Globalization;
using System.Text;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Quality;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Tables;
using ReflectedDiffusion.Training;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// The reflected model against the standard (unreflected) diffusion with static clipping on the penguins table
/// (mixed types and missing values, encoded into the box by <see cref="TableEncoder"/>): the same network, trainer,
/// budget, seed and number of Euler-Maruyama steps; only the forward process and the sampler's way of staying in
/// the box differ. Writes a quality report for each and comparison.md with the boundary pile-up side by side.
/// </summary>
public static class TableQuality
{
    private sealed record Run(string Label, Table Synthetic, double TrainSeconds, double SampleSeconds, double FaceShare);

    private static readonly int[] SamplerSteps = [500, 50];

    /// <summary>Trains both models for <paramref name="steps"/> steps, draws <paramref name="count"/> rows from each, writes the reports under <paramref name="outFolder"/>.</summary>
    public static void Measure(int steps, int count, string outFolder)
    {
        var data = TableCsv.Read(Path.Combine(AppContext.BaseDirectory, "data", "penguins.csv")).Table;
        var (train, holdout) = Split(data, holdoutShare: 0.2, seed: 1);
        var encoder = TableEncoder.Fit(train, TableSchema.Infer(train));
        // The split as files, so that 'rdiff report --real train.csv --synthetic <label>/synthetic.csv --holdout holdout.csv' reproduces a report.
        WriteCsv(Path.Combine(outFolder, "train.csv"), train, encoder.Schema);
        WriteCsv(Path.Combine(outFolder, "holdout.csv"), holdout, encoder.Schema);
        Console.WriteLine($"penguins: {train.RowCount} training rows, {holdout.RowCount} hold-out rows; {encoder.Dimension} box coordinates; {steps} steps, batch 256, {count} rows each.");
        var sde = new ReflectedVeSde(sigmaMin: 0.01, sigmaMax: 5);
        var rows = encoder.Encode(train);
        using var features = tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, encoder.Dimension]);
        var runs = new List<Run>();
        foreach (var process in new[] { DiffusionProcess.Reflected, DiffusionProcess.Standard })
        {
            var options = new TrainerOptions { Steps = steps, BatchSize = 256, LearningRate = 2e-3, Process = process, Seed = 1 };
            var watch = Stopwatch.StartNew();
            var result = new ScoreTrainer(new ScoreNetworkConfig { Dimension = encoder.Dimension }, sde, options).Fit(new InMemoryTrainingSet(features));
            double trainSeconds = watch.Elapsed.TotalSeconds;
            // The default 500 Euler-Maruyama steps, and a coarse 50 where the discretisation error (what clipping hides) is larger.
            foreach (int samplerSteps in SamplerSteps)
            {
                var sampling = new SamplerOptions { Steps = samplerSteps, Seed = 7 };
                watch.Restart();
                using var samples = process == DiffusionProcess.Reflected
                    ? Sampler.Generate(result.Network, sde, count, SamplerKind.ReflectedSde, sampling).Samples
                    : ThresholdedSampler.Generate(result.Network, sde, count, Thresholding.Static, sampling).Samples;
                var raw = ToRows(samples);
                var synthetic = encoder.Decode(raw);
                double sampleSeconds = watch.Elapsed.TotalSeconds;
                string label = $"{(process == DiffusionProcess.Reflected ? "reflected" : "clipped")}-{samplerSteps}";
                double faces = FaceShare(raw, encoder);
                Console.WriteLine($"{label}: trained in {trainSeconds:F0} s, {count} rows sampled in {samplerSteps} steps and decoded in {sampleSeconds:F1} s; {faces:P2} of the numeric value coordinates on a face.");
                runs.Add(new Run(label, synthetic, trainSeconds, sampleSeconds, faces));
            }
            result.Network.Dispose();
        }
        var reports = runs.Select(r => QualityReport.Compute(train, r.Synthetic, holdout, new QualityOptions { Target = "species" })).ToArray();
        for (int i = 0; i < runs.Count; i++)
        {
            var folder = Path.Combine(outFolder, runs[i].Label);
            QualityReportWriter.Write(reports[i], folder, $"Penguins, {runs[i].Label} ({steps} training steps; the number is the sampler's steps)");
            WriteCsv(Path.Combine(folder, "synthetic.csv"), runs[i].Synthetic, encoder.Schema);
        }
        var plots = QualityReportWriter.WritePlots(outFolder, train, runs.Select(r => (r.Label, r.Synthetic)).ToArray(),
            train.Columns.Where(c => c.IsNumeric).Select(c => c.Name).ToArray(),
            [("real", QualityReportWriter.CorrelationMatrix(train)), .. reports.Select((r, i) => (runs[i].Label, QualityReportWriter.CorrelationMatrix(r.Synthetic)))]);
        var md = Comparison(steps, count, train, holdout, encoder, runs, reports, plots);
        QualityReportWriter.WriteText(Path.Combine(outFolder, "comparison.md"), md);
        Console.WriteLine(md);
    }

    private static string Comparison(int steps, int count, Table train, Table holdout, TableEncoder encoder,
        List<Run> runs, QualityReport[] reports, List<(string Caption, string File)> plots)
    {
        string F(double v) => QualityReportWriter.F(v);
        string P(double v) => QualityReportWriter.Percent(v);
        var md = new StringBuilder();
        md.AppendLine("# Penguins: reflected diffusion against standard diffusion with clipping").AppendLine();
        md.AppendLine($"{train.RowCount} training rows and {holdout.RowCount} hold-out rows (a seeded 80/20 split of the 344 rows, missing values kept); "
            + $"the table encoded into {encoder.Dimension} box coordinates by `TableEncoder`; the same residual MLP, trainer ({steps} steps, batch 256, learning rate 2e-3, "
            + "sigma^2 weighting, seed 1) and schedule (sigma 0.01 to 5) for both; sampled by Euler-Maruyama in 500 steps (the default) and in 50; the reflected sampler folds into the box, "
            + $"the standard one clips after every step. {count} rows each, sampler seed 7. Efficacy target: species. Labels: model-samplersteps.").AppendLine();
        md.AppendLine("| figure | " + string.Join(" | ", runs.Select(r => r.Label)) + " |").AppendLine("|---|" + string.Concat(runs.Select(_ => "---|")));
        void Row(string name, Func<QualityReport, string> value) => md.AppendLine($"| {name} | " + string.Join(" | ", reports.Select(value)) + " |");
        Row("mean column shape", r => F(r.MeanShape));
        Row("mean pair score", r => F(r.MeanPairScore));
        Row("detection AUC", r => F(r.Detection.Auc));
        Row("efficacy (accuracy, synthetic / real)", r => F(r.Efficacy!.Ratio));
        Row("exact copies", r => r.Privacy.ExactCopies.ToString(CultureInfo.InvariantCulture));
        md.AppendLine($"| numeric value coordinates exactly on a face of the box (raw samples) | " + string.Join(" | ", runs.Select(r => P(r.FaceShare))) + " |");
        md.AppendLine($"| training time (s) | " + string.Join(" | ", runs.Select(r => r.TrainSeconds.ToString("F0", CultureInfo.InvariantCulture))) + " |");
        md.AppendLine($"| sampling and decoding time (s) | " + string.Join(" | ", runs.Select(r => r.SampleSeconds.ToString("F1", CultureInfo.InvariantCulture))) + " |").AppendLine();
        md.AppendLine("## Boundary pile-up").AppendLine();
        md.AppendLine("Share of present values equal to the real column's minimum / maximum (real, then each model).").AppendLine();
        md.AppendLine("| column | real | " + string.Join(" | ", runs.Select(r => r.Label)) + " | shape (KS) " + string.Join(" / ", runs.Select(r => r.Label)) + " |")
            .AppendLine("|---|---|" + string.Concat(runs.Select(_ => "---|")) + "---|");
        foreach (var c in reports[0].Columns.Where(c => c.IsNumeric))
        {
            var rb = c.RealBounds!.Value;
            md.AppendLine($"| {c.Name} | {P(rb.AtMin)} / {P(rb.AtMax)} | " + string.Join(" | ", reports.Select(r => r.Columns.Single(x => x.Name == c.Name).SyntheticBounds!.Value).Select(b => $"{P(b.AtMin)} / {P(b.AtMax)}"))
                + " | " + string.Join(" / ", reports.Select(r => F(r.Columns.Single(x => x.Name == c.Name).Shape))) + " |");
        }
        md.AppendLine().AppendLine("Each run's full report and rows: `<label>/report.md`, `<label>/synthetic.csv`; the split: `train.csv`, `holdout.csv` "
            + "(`rdiff report --real train.csv --synthetic <label>/synthetic.csv --holdout holdout.csv --target species --out DIR` gives the same report).").AppendLine();
        md.AppendLine("## Plots").AppendLine();
        foreach (var (caption, file) in plots) md.AppendLine($"![{caption}]({file})").AppendLine();
        return md.ToString();
    }

    private static void WriteCsv(string path, Table table, TableSchema schema) => IO.AtomicFile.Write(path, s => TableCsv.Write(s, table, schema));

    // The share of the value coordinates of numeric columns that sit exactly at 0 or 1: where clipping puts what overshoots.
    private static double FaceShare(float[][] rows, TableEncoder encoder)
    {
        var index = encoder.Columns.Where(c => c.ValueIndex >= 0).Select(c => c.ValueIndex).ToArray();
        return index.Length == 0 ? double.NaN : rows.Average(r => index.Count(j => r[j] is 0f or 1f) / (double)index.Length);
    }

    private static float[][] ToRows(Tensor samples)
    {
        var flat = samples.to(float32).cpu().data<float>().ToArray();
        int d = (int)samples.shape[1];
        return Enumerable.Range(0, (int)samples.shape[0]).Select(i => flat.AsSpan(i * d, d).ToArray()).ToArray();
    }

    private static (Table Train, Table Holdout) Split(Table table, double holdoutShare, int seed)
    {
        var rng = new Random(seed);
        var order = Enumerable.Range(0, table.RowCount).OrderBy(_ => rng.Next()).ToArray();
        int test = (int)Math.Round(holdoutShare * table.RowCount);
        return (Rows(table, order[test..].Order().ToArray()), Rows(table, order[..test].Order().ToArray()));
    }

    private static Table Rows(Table table, int[] rows) => new(table.Columns.Select(c => c.Numbers is { } n
        ? TableColumn.Numeric(c.Name, rows.Select(i => n[i]).ToArray())
        : TableColumn.Text(c.Name, rows.Select(i => c.Texts![i]).ToArray())).ToList());
}
