using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Tests;

[Collection(TorchCollection.Name)]
public sealed class SdeTests
{
    [Fact]
    public void ScheduleFollowsTheGeometricVeSde()
    {
        var sde = new ReflectedVeSde(0.01, 5);
        Assert.Equal(0.01, sde.Sigma(0.0), 12);
        Assert.Equal(5.0, sde.Sigma(1.0), 12);
        Assert.Equal(System.Math.Sqrt(0.01 * 5), sde.Sigma(0.5), 12);
        Assert.Equal(sde.Sigma(0.3) * System.Math.Sqrt(2 * System.Math.Log(500)), sde.G(0.3), 12);
        Assert.Equal(0.7, sde.TimeOf(sde.Sigma(0.7)), 12);
        using var t = torch.tensor(new[] { 0.3 }, float64);
        using var g2 = sde.GSquared(t);
        Assert.Equal(sde.G(0.3) * sde.G(0.3), g2.item<double>(), 10);
    }

    [Theory]
    [InlineData(0.0, 0.01)]
    [InlineData(-1.0, 5.0)]
    [InlineData(double.NaN, 5.0)]
    public void SdeRejectsNonPositiveSigmaMin(double sigmaMin, double sigmaMax)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ReflectedVeSde(sigmaMin, sigmaMax));
        Assert.Equal("sigmaMin", e.ParamName);
    }

    [Fact]
    public void SdeRejectsSigmaMinAtOrAboveSigmaMax()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ReflectedVeSde(1.0, 1.0));
        Assert.Equal("sigmaMax", e.ParamName);
    }

    [Theory]
    [InlineData(0.3, 0.1)]
    [InlineData(0.0, 0.2)]   // starts at a face
    [InlineData(1.0, 0.05)]  // the other face
    [InlineData(0.8, 0.7)]
    [InlineData(0.5, 3.0)]   // nearly uniform
    public void FoldedDrawsFollowTheKernel(double x0, double sigma)
    {
        const int n = 100_000;
        var sde = new ReflectedVeSde();
        using var gen = new Generator(3);
        using var start = torch.full(n, x0, dtype: float64);
        using var draws = sde.SampleTransition(start, torch.tensor(sigma, float64), gen);
        Assert.True(((draws >= 0) & (draws <= 1)).all().item<bool>());
        var sorted = draws.sort().Values.data<double>().ToArray();

        // CDF from the kernel's log-density by the trapezoid rule on a fine grid.
        const int m = 20_000;
        using var grid = torch.linspace(0, 1, m + 1, dtype: float64);
        using var x0t = torch.full(m + 1, x0, dtype: float64);
        var pdf = torch.exp(ReflectedHeatKernel.LogDensity(grid, x0t, sigma)).data<double>().ToArray();
        var cdf = new double[m + 1];
        for (int i = 1; i <= m; i++) cdf[i] = cdf[i - 1] + 0.5 * (pdf[i] + pdf[i - 1]) / m;
        double CdfAt(double v)
        {
            double pos = v * m; int i = System.Math.Min(m - 1, (int)pos);
            return (cdf[i] + (cdf[i + 1] - cdf[i]) * (pos - i)) / cdf[m];
        }

        double d = 0;
        for (int i = 0; i < n; i++)
        {
            double f = CdfAt(sorted[i]);
            d = System.Math.Max(d, System.Math.Max((i + 1.0) / n - f, f - (double)i / n));
        }
        double p = KolmogorovPValue(d, n);
        Assert.True(p > 0.01, $"KS statistic {d:F5}, p = {p:F4} for x0={x0}, sigma={sigma}");
    }

    // Asymptotic Kolmogorov distribution with Stephens' small-sample correction.
    private static double KolmogorovPValue(double d, int n)
    {
        double sqrtN = System.Math.Sqrt(n);
        double lambda = (sqrtN + 0.12 + 0.11 / sqrtN) * d;
        double sum = 0;
        for (int k = 1; k <= 100; k++) sum += 2 * (k % 2 == 1 ? 1 : -1) * System.Math.Exp(-2 * k * k * lambda * lambda);
        return System.Math.Clamp(sum, 0, 1);
    }

    [Fact]
    public void PriorIsUniformOnTheBox()
    {
        using var gen = new Generator(5);
        using var x = ReflectedVeSde.SamplePrior([50_000, 3], generator: gen);
        Assert.True(((x >= 0) & (x <= 1)).all().item<bool>());
        Assert.Equal(0.5, x.mean().item<float>(), 2);
        Assert.Equal(1.0 / 12, x.var().item<float>(), 2);
        Assert.Equal(0.0, ReflectedVeSde.PriorLogDensity);
    }

    [Fact]
    public void BoundsMapToTheUnitBoxAndBack()
    {
        var b = new BoxBounds([-1.0, 10.0], [3.0, 12.0]);
        Assert.Equal(-System.Math.Log(4) - System.Math.Log(2), b.LogDensityOffset, 12);
        using var x = torch.tensor(new[,] { { -1.0f, 10f }, { 3f, 12f }, { 1f, 11.5f } });
        using var u = b.ToUnit(x);
        Assert.Equal(new[] { 0f, 0f, 1f, 1f, 0.5f, 0.75f }, u.data<float>().ToArray());
        using var back = b.FromUnit(u);
        Assert.True(torch.allclose(back, x));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => b.Validate(new[] { 0f, 12.5f }, 7));
        Assert.Contains("Row 7, feature 1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoxBounds([0.0], [0.0]));
        var fromData = BoxBounds.FromData([new[] { 1f, 5f }, new[] { 3f, 5f }]);
        Assert.Equal([1.0, 4.5], fromData.Lower);
        Assert.Equal([3.0, 5.5], fromData.Upper);
    }

    [Fact]
    public void BoundsMapRowArraysToTheUnitBox()
    {
        var b = new BoxBounds([-1.0, 10.0], [3.0, 12.0]);
        Assert.Equal([4.0, 2.0], b.Width);
        Assert.Equal(new[] { 0f, 0f, 1f, 1f, 0.5f, 0.75f }, b.ToUnitRows([new[] { -1f, 10f }, new[] { 3f, 12f }, new[] { 1f, 11.5f }]));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => b.ToUnitRows([new[] { 0f, 11f }, new[] { 0f, 12.5f }]));
        Assert.Contains("Row 1, feature 1", e.Message);
    }

    [Fact]
    public void ProbabilityFlowVelocityIsMinusHalfGSquaredTimesTheScore()
    {
        var sde = new ReflectedVeSde(0.01, 5);
        using var t = torch.linspace(0, 1, 1001, dtype: float64);
        using var sigma = sde.Sigma(t);
        using var gen = new Generator(3);
        using var score = torch.randn(1001, 3, dtype: float64, generator: gen);
        using var v = sde.ProbabilityFlowVelocity(score, sigma);
        using var expected = -0.5 * sde.GSquared(t).unsqueeze(1) * score;
        Assert.Equal(expected.data<double>().ToArray(), v.data<double>().ToArray());   // the same rounding: scaling by 2 and 1/2 is exact
    }

    [Fact]
    public void MixtureScoreMatchesFiniteDifferenceOfItsLogDensity()
    {
        var mix = new KernelMixture(new double[,] { { 0.0, 0.2 }, { 0.9, 1.0 }, { 0.5, 0.5 } }, [0.05, 0.1, 0.2], [1, 2, 1]);
        using var gen = new Generator(9);
        using var x = mix.Sample(500, gen, sigma: 0.1).clamp(0.01, 0.99);
        using var sigma = torch.tensor(0.1, float64);
        using var score = mix.Score(x, sigma);
        const double h = 1e-6;
        for (int j = 0; j < 2; j++)
        {
            using var e = torch.zeros(1, 2, dtype: float64); e[0, j] = torch.tensor(h, float64);
            using var fd = (mix.LogDensity(x + e, sigma) - mix.LogDensity(x - e, sigma)) / (2 * h);
            Assert.True(torch.allclose(fd, score[.., j], rtol: 1e-5, atol: 1e-4));
        }
    }
}
