using ReflectedDiffusion.Tables;
using ScottPlot;

namespace ReflectedDiffusion.Quality;

/// <summary>
/// The report's figures as PNG bytes (ScottPlot): a column's marginal in the real table against one or more synthetic
/// tables, and a matrix of pairwise correlations.
/// </summary>
public static class ReportPlots
{
    private const int Width = 720, Height = 420;

    /// <summary>
    /// The marginal of <paramref name="column"/>: shares per bin (numeric: 20 equal-width bins over the range of all
    /// tables, with the real minimum and maximum as dashed lines) or per category, real first, as grouped bars.
    /// </summary>
    public static byte[] Marginal(string column, Table real, IReadOnlyList<(string Label, Table Table)> synthetic)
    {
        var series = new List<(string Label, TableColumn Column)> { ("real", real[column]) };
        series.AddRange(synthetic.Select(s => (s.Label, s.Table[column])));
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        if (real[column].IsNumeric)
        {
            var all = series.SelectMany(s => ColumnMetrics.Present(s.Column.Numbers!)).ToArray();
            if (all.Length == 0) return Empty(plot, column);
            double lo = all.Min(), hi = all.Max(), width = hi > lo ? (hi - lo) / 20 : 1;
            for (int k = 0; k < series.Count; k++)
            {
                var present = ColumnMetrics.Present(series[k].Column.Numbers!);
                var shares = new double[20];
                foreach (var v in present) shares[Math.Min(19, (int)((v - lo) / width))] += 1.0 / present.Length;
                AddBars(plot, shares.Select((_, b) => lo + (b + 0.5) * width).ToArray(), shares, width, k, series.Count, series[k].Label, palette);
            }
            var realPresent = ColumnMetrics.Present(real[column].Numbers!);
            if (realPresent.Length > 0)
                foreach (var bound in new[] { realPresent.Min(), realPresent.Max() })
                {
                    var line = plot.Add.VerticalLine(bound);
                    line.LinePattern = LinePattern.Dashed;
                    line.Color = Colors.Gray;
                }
            plot.XLabel(column);
        }
        else
        {
            var categories = series.SelectMany(s => s.Column.Texts!.OfType<string>()).Distinct().Order(StringComparer.Ordinal).ToArray();
            if (categories.Length == 0) return Empty(plot, column);
            for (int k = 0; k < series.Count; k++)
            {
                var f = ColumnMetrics.Frequencies(series[k].Column.Texts!);
                AddBars(plot, categories.Select((_, i) => (double)i).ToArray(), categories.Select(c => f.GetValueOrDefault(c)).ToArray(), 1, k, series.Count, series[k].Label, palette);
            }
            plot.Axes.Bottom.SetTicks(categories.Select((_, i) => (double)i).ToArray(), categories);
        }
        plot.YLabel("share of present values");
        plot.Title(column);
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
        return Png(plot);
    }

    /// <summary>A heat map of a square matrix (correlations; NaN cells grey) with the column names and the values written in the cells.</summary>
    public static byte[] Matrix(string title, IReadOnlyList<string> names, double[,] values, double limit)
    {
        var plot = new Plot();
        int n = names.Count;
        // ScottPlot draws row 0 at the top; cell (i, j) is centred on x = j, y = n - 1 - i.
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.MellowRainbow();
        heatmap.ManualRange = new ScottPlot.Range(-limit, limit);
        heatmap.NaNCellColor = Colors.LightGray;
        plot.Add.ColorBar(heatmap);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                var text = plot.Add.Text(double.IsNaN(values[i, j]) ? "n/a" : values[i, j].ToString("F2", System.Globalization.CultureInfo.InvariantCulture), j, n - 1 - i);
                text.LabelFontSize = 11;
                text.LabelAlignment = Alignment.MiddleCenter;
            }
        var positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(positions, names.ToArray());
        plot.Axes.Left.SetTicks(positions.Select(p => n - 1 - p).ToArray(), names.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 8 * names.Max(n => n.Length) + 20;   // room for the rotated names
        plot.Title(title);
        return Png(plot, Math.Max(Width, 90 * n + 240), Math.Max(Height, 70 * n + 200));
    }

    private static void AddBars(Plot plot, double[] centres, double[] values, double slot, int k, int count, string label, ScottPlot.IPalette palette)
    {
        double barWidth = slot * 0.8 / count;
        var bars = centres.Select((c, i) => new Bar
        {
            Position = c - slot * 0.4 + barWidth * (k + 0.5),
            Value = values[i],
            Size = barWidth,
            FillColor = palette.GetColor(k),
            LineWidth = 0,
        }).ToList();
        var plottable = plot.Add.Bars(bars);
        plottable.LegendText = label;
    }

    private static byte[] Empty(Plot plot, string column)
    {
        plot.Title($"{column}: no values present");
        return Png(plot);
    }

    private static byte[] Png(Plot plot, int width = Width, int height = Height) => plot.GetImageBytes(width, height, ImageFormat.Png);
}
