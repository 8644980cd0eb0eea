using ReflectedDiffusion.Density;
using ReflectedDiffusion.Networks;

namespace ReflectedDiffusion.Tests;

[Collection(TorchCollection.Name)]
public sealed class AnomalyProfileTests
{
    [Fact]
    public void MahalanobisDistanceMatchesHandComputedValues()
    {
        // (+-1, 0), (0, +-2): mean 0, variances 2/3 and 8/3 (n - 1 = 3), no covariance.
        var reference = MahalanobisReference.Fit([1, 0, -1, 0, 0, 2, 0, -2], 2);
        Assert.Equal(0, reference.Mean[0], 12);
        Assert.Equal(1 / (2.0 / 3) + 1 / (8.0 / 3), reference.Distance([1, 1]), 5);
        // Correlated: the 2 x 2 inverse by hand, [[a, b], [b, c]]^-1 = [[c, -b], [-b, a]] / (ac - b^2).
        var rows = new double[] { 0, 0, 1, 2, 2, 3, 3, 7, 4, 6 };
        var fit = MahalanobisReference.Fit(rows, 2);
        double mx = 2, my = 3.6;
        double a = Enumerable.Range(0, 5).Sum(i => (rows[2 * i] - mx) * (rows[2 * i] - mx)) / 4;
        double b = Enumerable.Range(0, 5).Sum(i => (rows[2 * i] - mx) * (rows[2 * i + 1] - my)) / 4;
        double c = Enumerable.Range(0, 5).Sum(i => (rows[2 * i + 1] - my) * (rows[2 * i + 1] - my)) / 4;
        double dx = 1 - mx, dy = -1 - my;
        double expected = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / (a * c - b * b);
        // The ridge (1e-6 of the mean variance) moves a near-singular inverse by about its condition number times that.
        Assert.True(System.Math.Abs(fit.Distance([1, -1]) - expected) <= 1e-4 * expected, $"{fit.Distance([1, -1])} against {expected}");
        Assert.Throws<ArgumentException>(() => MahalanobisReference.Fit([1, 2], 2));
        Assert.Throws<ArgumentException>(() => MahalanobisReference.Fit([1, double.NaN, 2, 3], 2));
    }

    [Fact]
    public void NeighbourDistanceIsTheRankThSmallestInTheReferencesMetric()
    {
        // Reference (+-1, 0), (0, +-2): precision diag(3/2, 3/8) (up to the ridge); the squared distances from (1, 1)
        // to the four vectors are 3/8, 6 + 3/8, 3/2 + 3/8 and 3/2 + 27/8.
        double[] vectors = [1, 0, -1, 0, 0, 2, 0, -2];
        var reference = MahalanobisReference.Fit(vectors, 2);
        Assert.Equal(1.5 + 0.375, reference.Between([1, 1], [0, 2]), 4);
        Assert.Equal(1.5 + 0.375, new AnomalyProfile([0.1, 1.0], reference, vectors, Rank: 2).Distance([1, 1]), 4);
        // A training vector is its own nearest neighbour (distance 0) unless it leaves itself out: then (0, +-2) at 3.
        var nearest = new AnomalyProfile([0.1, 1.0], reference, vectors, Rank: 1);
        Assert.Equal(0.0, nearest.Distance([1, 0]), 9);
        Assert.Equal(3.0, nearest.Distance([1, 0], excludeSelf: true), 4);
        Assert.Equal(reference.Distance([1, 1]), new AnomalyProfile([0.1, 1.0], reference).Distance([1, 1]), 12);
        Assert.Equal(1, AnomalyProfile.RankFor(2));
        Assert.Equal(AnomalyProfile.DefaultRank, AnomalyProfile.RankFor(1000));
    }

    [Fact]
    public void ProfileLevelsAreGeometricAndTheProfileIsTheLogMeanSquaredScaledScore()
    {
        var levels = MultiscaleProfile.Levels(0.1, 5);
        Assert.Equal(0.1, levels[0], 12);
        Assert.Equal(MultiscaleProfile.WidestLevel, levels[^1], 12);
        for (int i = 2; i < levels.Length; i++) Assert.Equal(levels[1] / levels[0], levels[i] / levels[i - 1], 9);
        Assert.Equal(MultiscaleProfile.NarrowestLevel, MultiscaleProfile.Levels(1e-4)[0], 12);

        torch.random.manual_seed(3);
        using var network = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 2, HiddenWidth = 16, Blocks = 1, EmbeddingDim = 8 });
        float[] rows = [0.2f, 0.7f, 0.9f, 0.1f, 1.3f, -0.2f];
        var profile = MultiscaleProfile.Compute(network, rows, levels);
        using var x = torch.tensor(rows, [3, 2]);
        for (int l = 0; l < levels.Length; l++)
        {
            using var s = network.Score(x, torch.full([3], levels[l]), null);
            var values = s.data<float>().ToArray();
            for (int i = 0; i < 3; i++)
            {
                double meanSquare = (System.Math.Pow(levels[l] * values[2 * i], 2) + System.Math.Pow(levels[l] * values[2 * i + 1], 2)) / 2;
                Assert.Equal(System.Math.Log(meanSquare), profile[i * levels.Length + l], 4);
            }
        }
    }
}
