using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// The marginal figures of the issue's goal on a table, through the public table API (as rdiff trains and samples):
/// per column the largest category gap, the most frequent value's share and the missing rate, real against
/// generated, for each sampler; and, per categorical block, the share of generated rows whose two largest
/// coordinates lie within 0.1 (rows whose category the argmax decoding decides on a near tie).
/// </summary>
public static class TableProportions
{
    /// <summary>Trains on <paramref name="csv"/> once per seed and prints the figures for <paramref name="count"/> rows per sampler.</summary>
    public static void Measure(string csv, int steps, int count, int[] seeds, double sigmaMin)
    {
        if (csv == "synthetic") csv = WriteSyntheticTable("table-proportions-synthetic.csv", 800, seed: 1);
        var real = TableCsv.Read(csv).Table;
        var ml = new MLContext(seed: 1);
        foreach (int seed in seeds)
        {
            var watch = Stopwatch.StartNew();
            using var model = ReflectedDiffusionTable.Fit(ml, TableDataView.Create(real),
                new ReflectedDiffusionOptions { NumberOfSteps = steps, SigmaMin = sigmaMin, Seed = (ulong)seed });
            Console.WriteLine($"{Path.GetFileName(csv)}: {real.RowCount} rows, {model.Encoder.Dimension} coordinates; trained {steps} steps (seed {seed}, sigma_min {sigmaMin}) in {watch.Elapsed.TotalSeconds:F0} s");
            foreach (var (sampler, samplerSteps) in new (SamplerKind, int?)[] { (SamplerKind.OdeHeun, null), (SamplerKind.ReflectedSde, null) })
            {
                watch.Restart();
                var raw = model.Transformer.Generator.Generate(count, new GenerationOptions { Sampler = sampler, Steps = samplerSteps, Seed = 1 });
                var synthetic = model.Encoder.Decode(raw);
                Console.WriteLine($"  {sampler} {samplerSteps} ({count} rows, {watch.Elapsed.TotalSeconds:F1} s)");
                Print(real, synthetic, model.Encoder, raw);
            }
        }
    }

    /// <summary>
    /// A table with known proportions, written to <paramref name="path"/>: group A/B/C/D at 55/30/12/3 % (D rare); x normal
    /// around 0, 2, 4, 6 by group (2 decimals, 8 % missing); flag yes at 20 % in groups A and B and 80 % in C and D
    /// (10 % missing); count 0 at 35 %, else 1 to 20; level low/mid/high at 60/30/10 %, independent of the rest.
    /// </summary>
    public static string WriteSyntheticTable(string path, int rows, int seed)
    {
        var rng = new Random(seed);
        string Pick(string[] names, double[] shares)
        {
            double u = rng.NextDouble();
            for (int k = 0; k < names.Length - 1; k++) if ((u -= shares[k]) < 0) return names[k];
            return names[^1];
        }
        var lines = new List<string> { "group,x,flag,count,level" };
        for (int i = 0; i < rows; i++)
        {
            string group = Pick(["A", "B", "C", "D"], [0.55, 0.30, 0.12, 0.03]);
            int g = group[0] - 'A';
            double normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            string x = rng.NextDouble() < 0.08 ? "NA" : (2 * g + normal).ToString("F2", CultureInfo.InvariantCulture);
            string flag = rng.NextDouble() < 0.10 ? "NA" : rng.NextDouble() < (g < 2 ? 0.2 : 0.8) ? "yes" : "no";
            string count = rng.NextDouble() < 0.35 ? "0" : rng.Next(1, 21).ToString(CultureInfo.InvariantCulture);
            lines.Add(string.Join(',', group, x, flag, count, Pick(["low", "mid", "high"], [0.6, 0.3, 0.1])));
        }
        File.WriteAllLines(path, lines);
        return path;
    }

    /// <summary>Per column: largest category gap, top value share, missing rate (real / generated), and near ties of categorical blocks.</summary>
    public static void Print(Table real, Table synthetic, TableEncoder encoder, float[][]? raw = null)
    {
        foreach (var column in real.Columns)
        {
            var r = Values(column);
            var s = Values(synthetic[column.Name]);
            var rShares = Shares(r);
            var sShares = Shares(s);
            var top = rShares.Where(p => p.Key != "NA").OrderByDescending(p => p.Value).First();
            double topSynthetic = sShares.GetValueOrDefault(top.Key);
            string line = $"    {column.Name,-20} missing {P(rShares.GetValueOrDefault("NA"))} / {P(sShares.GetValueOrDefault("NA"))}; top '{top.Key}' {P(top.Value)} / {P(topSynthetic)}";
            var e = encoder[column.Name];
            if (e.Kind == ColumnKind.Categorical)
            {
                double gap = rShares.Keys.Union(sShares.Keys).Max(k => Math.Abs(rShares.GetValueOrDefault(k) - sShares.GetValueOrDefault(k)));
                line += $"; largest category gap {100 * gap:F1} pt";
                if (raw is not null)
                {
                    int width = e.Categories.Length + (e.MissingIndex >= 0 ? 1 : 0);
                    double ties = raw.Average(x =>
                    {
                        var block = x.AsSpan(e.CategoryIndex, width).ToArray().OrderDescending().ToArray();
                        return block[0] - block[1] < 0.1 ? 1.0 : 0.0;
                    });
                    line += $"; near ties {P(ties)}";
                }
            }
            Console.WriteLine(line);
        }
    }

    private static string P(double v) => (100 * v).ToString("F1", CultureInfo.InvariantCulture) + "%";

    private static string[] Values(TableColumn c) => Enumerable.Range(0, c.Length)
        .Select(i => c.IsMissing(i) ? "NA" : c.Texts is { } t ? t[i]! : c.Numbers![i].ToString("R", CultureInfo.InvariantCulture)).ToArray();

    private static Dictionary<string, double> Shares(string[] values)
        => values.GroupBy(v => v).ToDictionary(g => g.Key, g => (double)g.Count() / values.Length);
}
