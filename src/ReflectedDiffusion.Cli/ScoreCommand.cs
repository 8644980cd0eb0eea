using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace ReflectedDiffusion.Cli;

/// <summary>'rdiff score': adds log_likelihood and bits_per_dim to every row of a CSV or IDX file.</summary>
internal static class ScoreCommand
{
    public static Command Create(CliContext context)
    {
        var model = CommonOptions.Model();
        var data = CommonOptions.Required("--data", "The rows to score: a CSV file with the training's feature columns (table models: the training table's columns), or an IDX image file.");
        var output = CommonOptions.Required("--out", "The CSV file to write: the input's columns, then log_likelihood (nats) and bits_per_dim.");
        var rows = RowRange.Option("the data");
        var command = new Command("score", "Scores rows with the model's exact log-likelihood (the options it was trained with: likelihood steps, probes, folding, batch size).")
        {
            model, data, output, rows,
        };
        command.SetAction(p => Score(context, p.GetRequiredValue(model), p.GetRequiredValue(data), p.GetRequiredValue(output), RowRange.Parse(p.GetValue(rows))));
        return command;
    }

    private static void Score(CliContext context, string modelPath, string dataPath, string outPath, RowRange? range)
    {
        using var bundle = ModelBundle.Load(modelPath);
        var info = bundle.Info;
        string[] header;
        List<string[]> fields;
        List<float[]> rows;
        if (IdxFile.LooksLikeIdx(dataPath))
        {
            var images = IdxFile.Read(dataPath);
            if (images.Dimension != info.Features.Length) throw new InputException($"{dataPath}: {images.Image} images; the model takes {info.Features.Length} features.");
            (header, rows) = (images.FeatureNames, images.Rows);
            fields = rows.Select(r => r.Select(CsvTable.Format).ToArray()).ToList();
        }
        else
        {
            var table = CsvTable.Read(dataPath);
            (header, fields) = (table.Header, table.Rows);
            rows = info.Table is { } encoder ? TableMode.Encode(dataPath, encoder) : table.ReadFeatures(info.Features);
        }
        if (range is { } shard) (fields, rows) = (shard.Of(fields, dataPath), shard.Of(rows, dataPath));
        var watch = Stopwatch.StartNew();
        var scored = Workflow.Score(bundle, rows, context.Progress);
        var (ll, bpd) = (scored.LogLikelihood, scored.BitsPerDimension);
        CsvTable.Write(outPath, [.. header, "log_likelihood", "bits_per_dim", "anomaly_score", "is_anomaly"],
            fields.Select((f, i) => f.Concat([CsvTable.Format(ll[i]), CsvTable.Format(bpd[i]), CsvTable.Format(scored.AnomalyScore[i]), scored.IsAnomaly[i] ? "true" : "false"])));
        int outside = ll.Count(float.IsNegativeInfinity);
        var finite = bpd.Where(float.IsFinite).DefaultIfEmpty(float.NaN);
        context.Output.WriteLine($"Scored {rows.Count} rows in {watch.Elapsed.TotalSeconds:F1} s: mean bits/dim {finite.Average().ToString("F3", CultureInfo.InvariantCulture)}"
            + (outside > 0 ? $"; {outside} rows lie outside the model's bounds (log_likelihood -Infinity)" : "")
            + $"; {scored.IsAnomaly.Count(a => a)} predicted anomalous (anomaly_score above the threshold fitted at training). Wrote {outPath}.");
    }
}
