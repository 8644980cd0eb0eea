using ReflectedDiffusion.Tables;
using Xunit;

namespace ReflectedDiffusion.Quality.Tests;

/// <summary>Each metric against values computed by hand on tiny inputs.</summary>
public sealed class MetricTests
{
    private const double NaN = double.NaN;

    [Fact]
    public void KolmogorovSmirnovIsTheLargestGapBetweenTheEmpiricalDistributions()
    {
        // F_a - F_b at 2, 3, 4: 0.5 - 0, 0.75 - 0.25, 1 - 0.5.
        Assert.Equal(0.5, ColumnMetrics.KolmogorovSmirnov([1, 2, 3, 4], [3, 4, 5, 6]), 12);
        // Ties move both functions at once: at 1, 2/3 - 1/3; at 2, 1 - 1. NaN is left out.
        Assert.Equal(1.0 / 3, ColumnMetrics.KolmogorovSmirnov([1, NaN, 1, 2], [1, 2, 2]), 12);
        Assert.Equal(0, ColumnMetrics.KolmogorovSmirnov([1, 2], [2, 1]));
        Assert.Equal(1, ColumnMetrics.KolmogorovSmirnov([0, 0], [1]));
        Assert.True(double.IsNaN(ColumnMetrics.KolmogorovSmirnov([NaN], [1])));
    }

    [Fact]
    public void TotalVariationIsHalfTheSummedDifferenceOfShares()
    {
        // p = {x 2/3, y 1/3}, q = {x 1/4, y 1/2, z 1/4}: (5/12 + 2/12 + 3/12) / 2.
        Assert.Equal(5.0 / 12, ColumnMetrics.TotalVariation(["x", "x", "y", null], ["x", "y", "y", "z"]), 12);
        Assert.Equal(0, ColumnMetrics.TotalVariation(["a", "b"], ["b", "a", "a", "b"]), 12);
        Assert.Equal(1, ColumnMetrics.TotalVariation(["a"], ["b"]), 12);
    }

    [Fact]
    public void BoundarySharesCountValuesOnAndPastTheRealRange()
    {
        double[] real = [0, 1, 2, 3, 4, NaN];
        var s = ColumnMetrics.Boundaries(real, [0, 0, 4, 5, -1, 2, 2, 2, NaN]);
        Assert.Equal(new BoundaryShares(2 / 8.0, 1 / 8.0, 1 / 8.0, 1 / 8.0), s);
        Assert.Equal(0.25, s.Outside, 12);
        Assert.Equal(new BoundaryShares(0.2, 0.2, 0, 0), ColumnMetrics.Boundaries(real, real));
        // Within a millionth of the range counts as on the bound (float32 round trips); more does not.
        var near = ColumnMetrics.Boundaries(real, [4 - 1e-6, 4 - 1e-5]);
        Assert.Equal(0.5, near.AtMax, 12);
    }

    [Fact]
    public void MissingRatesCountNaNAndNull()
    {
        Assert.Equal(0.25, ColumnMetrics.MissingRate([1, NaN, 2, 3]), 12);
        Assert.Equal(2.0 / 3, ColumnMetrics.MissingRate(["a", null, null]), 12);
    }

    [Fact]
    public void PearsonUsesTheRowsWhereBothArePresent()
    {
        // Rows 1-3: dx = -1, 0, 1; dy = -7/3, -1/3, 8/3; cov 5, var_x 2, var_y 114/9: r = 15 / sqrt(228).
        Assert.Equal(15 / Math.Sqrt(228), PairMetrics.Pearson([1, 2, 3, NaN], [2, 4, 7, 100]), 12);
        Assert.Equal(-1, PairMetrics.Pearson([1, 2, 3], [3, 2, 1]), 12);
        Assert.True(double.IsNaN(PairMetrics.Pearson([1, 1, 1], [1, 2, 3])));   // no spread
    }

    [Fact]
    public void ContingencyDistanceComparesJointFrequencies()
    {
        // Uniform over 4 cells against {xu 1/2, yv 1/2}: (1/4 + 1/4 + 1/4 + 1/4) / 2. Marginals agree; the joint does not.
        Assert.Equal(0.5, PairMetrics.ContingencyDistance(["x", "x", "y", "y"], ["u", "v", "u", "v"], ["x", "x", "y", "y", null], ["u", "u", "v", "v", "u"]), 12);
        Assert.Equal(0, ColumnMetrics.TotalVariation(["x", "x", "y", "y"], ["x", "x", "y", "y"]));
    }

    [Fact]
    public void DiscretizeCutsTheRealRangeIntoEqualBins()
    {
        Assert.Equal(new string?[] { "bin0", "bin1", "bin2", "bin3", null, "bin0" }.AsEnumerable(), PairMetrics.Discretize([0, 0.5, 1, 2, NaN, -1], 0, 2, 4));
    }

    [Fact]
    public void ClassificationAndRegressionScores()
    {
        int[] truth = [1, 1, 2, 2, 3], predicted = [1, 2, 2, 2, 1];
        Assert.Equal(0.6, Scores.Accuracy(truth, predicted), 12);
        // F1: class 1 = 2/(2+1+1), class 2 = 4/(4+1+0), class 3 = 0.
        Assert.Equal((0.5 + 0.8 + 0) / 3, Scores.MacroF1(truth, predicted), 12);
        Assert.Equal(0.5, Scores.RSquared([1, 2, 3], [1, 2, 2]), 12);   // 1 - 1/2
        Assert.Equal(2.5, Scores.Quantile([4, 1, 3, 2], 0.5), 12);
        Assert.Equal(1.15, Scores.Quantile([4, 1, 3, 2], 0.05), 12);
    }

    [Fact]
    public void RowDistanceIsGowersMeanOverColumns()
    {
        var training = new Table([TableColumn.Numeric("x", [0, 10]), TableColumn.Text("c", ["a", "b"])]);
        var rows = new Table([TableColumn.Numeric("x", [5, 10, NaN]), TableColumn.Text("c", ["a", "b", "a"])]);
        var d = new RowDistance(training).ToClosest(rows, training);
        // (5, a): (0.5 + 0) / 2 to (0, a); (10, b): a copy; (NA, a): (1 + 0) / 2 to (0, a).
        Assert.Equal([0.25, 0, 0.5], d);
    }
}
