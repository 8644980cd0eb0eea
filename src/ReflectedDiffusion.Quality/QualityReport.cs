using System.Globalization;
using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.Quality;

/// <summary>One column of the report.</summary>
/// <param name="Name">The column.</param>
/// <param name="IsNumeric">Numeric (Kolmogorov-Smirnov, boundary shares) or categorical (total variation).</param>
/// <param name="Distance">The Kolmogorov-Smirnov statistic or the total variation distance, in [0, 1].</param>
/// <param name="RealBounds">Shares of the real values at the real minimum and maximum (numeric columns).</param>
/// <param name="SyntheticBounds">The same shares for the synthetic values, and those outside the real range.</param>
/// <param name="RealMissing">Share of missing real values.</param>
/// <param name="SyntheticMissing">Share of missing synthetic values.</param>
public sealed record ColumnQuality(string Name, bool IsNumeric, double Distance, BoundaryShares? RealBounds, BoundaryShares? SyntheticBounds, double RealMissing, double SyntheticMissing)
{
    /// <summary>1 - <see cref="Distance"/>: 1 when the marginals match.</summary>
    public double Shape => 1 - Distance;
}

/// <summary>One pair of columns of the report.</summary>
/// <param name="First">The first column.</param>
/// <param name="Second">The second column.</param>
/// <param name="IsCorrelation">Pearson correlation (two numeric columns) or contingency (otherwise).</param>
/// <param name="Real">The real correlation (NaN for a contingency).</param>
/// <param name="Synthetic">The synthetic correlation (NaN for a contingency).</param>
/// <param name="Difference">|real - synthetic| correlation, or the total variation distance of the joint frequencies.</param>
public sealed record PairQuality(string First, string Second, bool IsCorrelation, double Real, double Synthetic, double Difference)
{
    /// <summary>1 - |difference| / 2 for correlations (in [-1, 1]), 1 - distance for contingencies: 1 when they match.</summary>
    public double Score => IsCorrelation ? 1 - Difference / 2 : 1 - Difference;
}

/// <summary>The real-versus-synthetic classifier.</summary>
/// <param name="Auc">Mean ROC AUC over the folds: 0.5 when the classifier cannot tell the tables apart, 1 when it always can.</param>
/// <param name="Folds">The number of folds.</param>
public sealed record DetectionQuality(double Auc, int Folds)
{
    /// <summary>1 - 2 (max(AUC, 0.5) - 0.5): 1 when indistinguishable, 0 when always told apart.</summary>
    public double Score => 1 - 2 * (Math.Max(Auc, 0.5) - 0.5);
}

/// <summary>Train on synthetic, test on the real hold-out, against train on real.</summary>
/// <param name="Target">The predicted column.</param>
/// <param name="IsClassification">Categorical target (accuracy and macro-F1) or numeric (R squared).</param>
/// <param name="RealScore">Accuracy (classification) or R squared (regression) of the model trained on the real table.</param>
/// <param name="SyntheticScore">The same for the model trained on the synthetic table.</param>
/// <param name="RealMacroF1">Macro-F1 of the model trained on real (classification; NaN otherwise).</param>
/// <param name="SyntheticMacroF1">Macro-F1 of the model trained on synthetic.</param>
/// <param name="TestRows">Hold-out rows with the target present.</param>
public sealed record EfficacyQuality(string Target, bool IsClassification, double RealScore, double SyntheticScore, double RealMacroF1, double SyntheticMacroF1, int TestRows)
{
    /// <summary>Synthetic over real score (accuracy or R squared): 1 when synthetic data trains as well as real.</summary>
    public double Ratio => SyntheticScore / RealScore;
}

/// <summary>Closest-row distances (see <see cref="RowDistance"/>) and exact copies.</summary>
/// <param name="SyntheticToTrain">Distance of each (drawn) synthetic row to its closest real training row.</param>
/// <param name="HoldoutToTrain">The same for the hold-out rows (empty without a hold-out): what a fresh real row looks like.</param>
/// <param name="ExactCopies">Synthetic rows equal in every column to some training row (all rows counted).</param>
public sealed record PrivacyQuality(double[] SyntheticToTrain, double[] HoldoutToTrain, int ExactCopies)
{
    /// <summary>Share of synthetic rows closer to the training table than the hold-out's 5th percentile (NaN without a hold-out): about 0.05 when synthetic rows are no closer to training rows than new real rows are.</summary>
    public double ShareCloserThanHoldout5th => HoldoutToTrain.Length == 0 || SyntheticToTrain.Length == 0 ? double.NaN
        : (double)SyntheticToTrain.Count(d => d < Scores.Quantile(HoldoutToTrain, 0.05)) / SyntheticToTrain.Length;
}

/// <summary>
/// How a synthetic table compares with the real one it imitates: per column, per pair, a detector, efficacy and
/// privacy. <see cref="Compute"/> makes it; <see cref="QualityReportWriter"/> writes report.md and the plots.
/// </summary>
public sealed class QualityReport
{
    private QualityReport(Table real, Table synthetic, Table? holdout, IReadOnlyList<ColumnQuality> columns, IReadOnlyList<PairQuality> pairs,
        DetectionQuality detection, EfficacyQuality? efficacy, PrivacyQuality privacy)
        => (Real, Synthetic, Holdout, Columns, Pairs, Detection, Efficacy, Privacy) = (real, synthetic, holdout, columns, pairs, detection, efficacy, privacy);

    /// <summary>The real (training) table.</summary>
    public Table Real { get; }
    /// <summary>The synthetic table, its columns in the real table's order and types.</summary>
    public Table Synthetic { get; }
    /// <summary>The real hold-out table, if any.</summary>
    public Table? Holdout { get; }
    /// <summary>Per column: shape, boundary shares, missing rates.</summary>
    public IReadOnlyList<ColumnQuality> Columns { get; }
    /// <summary>Per pair of columns: correlation or contingency.</summary>
    public IReadOnlyList<PairQuality> Pairs { get; }
    /// <summary>The real-versus-synthetic classifier.</summary>
    public DetectionQuality Detection { get; }
    /// <summary>Machine-learning efficacy; null without a target and a hold-out.</summary>
    public EfficacyQuality? Efficacy { get; }
    /// <summary>Closest-row distances and exact copies.</summary>
    public PrivacyQuality Privacy { get; }

    /// <summary>Mean of the column shape scores (columns with a score).</summary>
    public double MeanShape => Mean(Columns.Select(c => c.Shape));
    /// <summary>Mean of the pair scores (pairs with a score).</summary>
    public double MeanPairScore => Mean(Pairs.Select(p => p.Score));

    /// <summary>
    /// Compares <paramref name="synthetic"/> (and, for efficacy and privacy, <paramref name="holdout"/>) with
    /// <paramref name="real"/>. The other tables must have every real column (extra columns are ignored) and of the
    /// same kind; a numeric column where the real one is categorical is read as text. Throws
    /// <see cref="TableInputException"/> naming the table and column otherwise.
    /// </summary>
    public static QualityReport Compute(Table real, Table synthetic, Table? holdout = null, QualityOptions? options = null)
    {
        options ??= new QualityOptions();
        options.Validate();
        synthetic = Align(real, synthetic, "synthetic");
        holdout = holdout is null ? null : Align(real, holdout, "hold-out");
        if (options.Target is { } target)
        {
            if (real.IndexOf(target) < 0) throw new TableInputException($"Target column '{target}' is not in the real table (columns: {string.Join(", ", real.Names)}).");
            if (holdout is null) throw new TableInputException($"Target column '{target}': efficacy is measured on a hold-out table, and no hold-out table was given.");
        }
        var columns = real.Columns.Select(c => ColumnQualityOf(c, synthetic[c.Name])).ToArray();
        var pairs = PairsOf(real, synthetic, options.PairBins);
        var encoder = new FeatureEncoder(real, []);
        var detection = new DetectionQuality(TreeModels.DetectionAuc(encoder.Encode(real), encoder.Encode(synthetic), options.DetectionFolds, options.Seed), options.DetectionFolds);
        var efficacy = options.Target is { } t ? EfficacyMeasure.Measure(real, synthetic, holdout!, t, options.Seed) : null;
        var privacy = PrivacyOf(real, synthetic, holdout, options);
        return new QualityReport(real, synthetic, holdout, columns, pairs, detection, efficacy, privacy);
    }

    private static ColumnQuality ColumnQualityOf(TableColumn real, TableColumn synthetic)
    {
        if (real.Numbers is { } r)
        {
            var s = synthetic.Numbers!;
            return new(real.Name, true, ColumnMetrics.KolmogorovSmirnov(r, s), ColumnMetrics.Boundaries(r, r), ColumnMetrics.Boundaries(r, s),
                ColumnMetrics.MissingRate(r), ColumnMetrics.MissingRate(s));
        }
        return new(real.Name, false, ColumnMetrics.TotalVariation(real.Texts!, synthetic.Texts!), null, null,
            ColumnMetrics.MissingRate(real.Texts!), ColumnMetrics.MissingRate(synthetic.Texts!));
    }

    private static PairQuality[] PairsOf(Table real, Table synthetic, int bins)
    {
        var pairs = new List<PairQuality>();
        for (int a = 0; a < real.Columns.Count; a++)
            for (int b = a + 1; b < real.Columns.Count; b++)
            {
                var (ra, rb) = (real.Columns[a], real.Columns[b]);
                var (sa, sb) = (synthetic[ra.Name], synthetic[rb.Name]);
                if (ra.IsNumeric && rb.IsNumeric)
                {
                    double r = PairMetrics.Pearson(ra.Numbers!, rb.Numbers!), s = PairMetrics.Pearson(sa.Numbers!, sb.Numbers!);
                    pairs.Add(new(ra.Name, rb.Name, true, r, s, Math.Abs(r - s)));
                }
                else
                {
                    double tv = PairMetrics.ContingencyDistance(Categories(ra, ra, bins), Categories(rb, rb, bins), Categories(sa, ra, bins), Categories(sb, rb, bins));
                    pairs.Add(new(ra.Name, rb.Name, false, double.NaN, double.NaN, tv));
                }
            }
        return pairs.ToArray();
    }

    // A column as categories: text as it is, numbers in bins over the real column's range.
    private static string?[] Categories(TableColumn column, TableColumn real, int bins)
    {
        if (column.Texts is { } t) return t;
        var present = ColumnMetrics.Present(real.Numbers!);
        return present.Length == 0 ? new string?[column.Length] : PairMetrics.Discretize(column.Numbers!, present.Min(), present.Max(), bins);
    }

    private static PrivacyQuality PrivacyOf(Table real, Table synthetic, Table? holdout, QualityOptions options)
    {
        var distance = new RowDistance(real);
        var rng = new Random(options.Seed);
        var copies = CountCopies(real, synthetic);
        var s = distance.ToClosest(Draw(synthetic, options.MaxPrivacyRows, rng), real);
        var h = holdout is null ? [] : distance.ToClosest(Draw(holdout, options.MaxPrivacyRows, rng), real);
        return new PrivacyQuality(s, h, copies);
    }

    private static int CountCopies(Table real, Table synthetic) => new RowSet(real).CountIn(synthetic);

    // At most max rows, drawn without replacement (all rows, in order, when there are few enough).
    private static Table Draw(Table table, int max, Random rng)
    {
        if (table.RowCount <= max) return table;
        var rows = Enumerable.Range(0, table.RowCount).OrderBy(_ => rng.Next()).Take(max).Order().ToArray();
        return new Table(table.Columns.Select(c => c.Numbers is { } n
            ? TableColumn.Numeric(c.Name, rows.Select(i => n[i]).ToArray())
            : TableColumn.Text(c.Name, rows.Select(i => c.Texts![i]).ToArray())).ToList());
    }

    // The real table's columns, in its order, taken from another table; kinds must match (numbers read as text where the real column is text).
    internal static Table Align(Table real, Table other, string what)
    {
        var columns = new List<TableColumn>();
        foreach (var r in real.Columns)
        {
            if (other.IndexOf(r.Name) < 0) throw new TableInputException($"The {what} table has no column '{r.Name}' (its columns: {string.Join(", ", other.Names)}).");
            var o = other[r.Name];
            if (r.IsNumeric == o.IsNumeric) columns.Add(o);
            else if (o.Numbers is { } n) columns.Add(TableColumn.Text(r.Name, n.Select(v => double.IsNaN(v) ? null : v.ToString("R", CultureInfo.InvariantCulture)).ToArray()));
            else if (o.Texts!.All(t => t is null)) columns.Add(TableColumn.Numeric(r.Name, Enumerable.Repeat(double.NaN, o.Length).ToArray()));
            else
            {
                var bad = o.Texts!.Select((t, i) => (t, i)).First(p => p.t is not null);
                throw new TableInputException($"Column '{r.Name}' is numeric in the real table, but the {what} table has text in it ('{bad.t}', row {bad.i + 1}).");
            }
        }
        return new Table(columns);
    }

    private static double Mean(IEnumerable<double> values) => values.Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Average();
}
