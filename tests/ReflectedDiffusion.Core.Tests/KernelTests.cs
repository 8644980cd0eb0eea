using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Tests;

[Collection(TorchCollection.Name)]
public sealed class KernelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(-0.3, 0.3)]
    [InlineData(1.2, 0.8)]
    [InlineData(2.5, 0.5)]
    [InlineData(-1.7, 0.3)]
    [InlineData(3.9, 0.1)]
    [InlineData(0.0, 0.0)]
    [InlineData(1.0, 1.0)]
    [InlineData(2.0, 0.0)]
    [InlineData(-1e-8, 1e-8)]
    public void ReflectMatchesReferenceValues(double y, double expected)
    {
        using var t = torch.tensor(new[] { y }, float64);
        using var r = ReflectedHeatKernel.Reflect(t);
        Assert.Equal(expected, r.item<double>(), 12);
        Assert.Equal(expected, ReflectedHeatKernel.Reflect(y), 12);
    }

    [Fact]
    public void ReflectAgreesWithDirectFormulaOnRandomValues()
    {
        var rng = new Random(7);
        var ys = Enumerable.Range(0, 10_000).Select(_ => (rng.NextDouble() - 0.5) * 40).ToArray();
        using var t = torch.tensor(ys, float64);
        using var r = ReflectedHeatKernel.Reflect(t);
        var got = r.data<double>().ToArray();
        for (int i = 0; i < ys.Length; i++)
        {
            // Direct: the distance to the nearest even integer, measured inside a period of 2.
            double m = ys[i] - 2 * Math.Floor(ys[i] / 2);
            double expected = m <= 1 ? m : 2 - m;
            Assert.InRange(got[i], 0.0, 1.0);
            Assert.Equal(expected, got[i], 12);
        }
    }

    [Theory]
    [InlineData(0.3, 0.2, 0.05, -40)]
    [InlineData(0.02, 0.01, 0.05, -7.6806809)]
    [InlineData(0.98, 0.9, 0.1, 0.026246798)]
    [InlineData(0.5, 0.1, 0.15, -17.880954)]
    [InlineData(0.7, 0.2, 0.3, -5.6621351)]
    [InlineData(0.05, 0.95, 0.5, 0.57611825)]
    [InlineData(0.9, 0.1, 1.0, -0.013455444)]
    [InlineData(0.001, 0.0, 0.01, -10)]
    public void ScoreMatchesMethodReferenceValues(double x, double x0, double sigma, double expected)
    {
        foreach (var dtype in new[] { float32, float64 })
        {
            using var tx = torch.tensor(new[] { x }, dtype);
            using var tx0 = torch.tensor(new[] { x0 }, dtype);
            using var s = ReflectedHeatKernel.Score(tx, tx0, sigma);
            Assert.Equal(dtype, s.dtype);
            double got = s.to(float64).item<double>();
            Assert.True(Math.Abs(got - expected) <= 2e-6 * Math.Max(1, Math.Abs(expected)),
                $"{dtype}: score({x}, {x0}, {sigma}) = {got}, expected {expected}");
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-4)]
    [InlineData(ScalarType.Float64, 1e-9)]
    public void KernelIsExactOnRandomInputsInEveryRegime(ScalarType dtype, double tolerance)
    {
        const int n = 12_000;
        var rng = new Random(11);
        var xs = new double[n]; var x0s = new double[n]; var sigmas = new double[n];
        for (int i = 0; i < n; i++)
        {
            sigmas[i] = Math.Exp(Math.Log(1e-4) + rng.NextDouble() * (Math.Log(5) - Math.Log(1e-4)));
            x0s[i] = rng.NextDouble();
            // A third of the points sit within a few sigma of x0, a third anywhere, a third at or near a face.
            xs[i] = (i % 3) switch
            {
                0 => ReflectedHeatKernel.Reflect(x0s[i] + sigmas[i] * (rng.NextDouble() * 8 - 4)),
                1 => rng.NextDouble(),
                _ => rng.Next(2) == 0 ? rng.NextDouble() * 1e-3 : 1 - rng.NextDouble() * 1e-3,
            };
            if (i % 7 == 0) x0s[i] = rng.Next(2); // starts exactly at a face
        }
        // The truth is computed from the values the tensor actually holds.
        if (dtype == ScalarType.Float32)
        {
            for (int i = 0; i < n; i++) { xs[i] = (float)xs[i]; x0s[i] = (float)x0s[i]; sigmas[i] = (float)sigmas[i]; }
        }
        using var tx = torch.tensor(xs, dtype);
        using var tx0 = torch.tensor(x0s, dtype);
        using var ts = torch.tensor(sigmas, dtype);
        using var score = ReflectedHeatKernel.Score(tx, tx0, ts);
        using var logp = ReflectedHeatKernel.LogDensity(tx, tx0, ts);
        var gotScore = score.to(float64).data<double>().ToArray();
        var gotLogp = logp.to(float64).data<double>().ToArray();

        double worstScore = 0, worstLogp = 0;
        for (int i = 0; i < n; i++)
        {
            double sTrue = TruthKernel.Score(xs[i], x0s[i], sigmas[i]);
            double lTrue = TruthKernel.LogDensity(xs[i], x0s[i], sigmas[i]);
            Assert.True(double.IsFinite(gotScore[i]) && double.IsFinite(gotLogp[i]), $"non-finite at x={xs[i]}, x0={x0s[i]}, sigma={sigmas[i]}");
            double es = Math.Abs(gotScore[i] - sTrue) / Math.Max(1, Math.Abs(sTrue));
            double el = Math.Abs(gotLogp[i] - lTrue) / Math.Max(1, Math.Abs(lTrue));
            Assert.True(es <= tolerance, $"score error {es:E2} at x={xs[i]:R}, x0={x0s[i]:R}, sigma={sigmas[i]:R}: got {gotScore[i]:R}, truth {sTrue:R}");
            Assert.True(el <= tolerance, $"log-density error {el:E2} at x={xs[i]:R}, x0={x0s[i]:R}, sigma={sigmas[i]:R}: got {gotLogp[i]:R}, truth {lTrue:R}");
            worstScore = Math.Max(worstScore, es);
            worstLogp = Math.Max(worstLogp, el);
        }
        output.WriteLine($"{dtype}: max relative error score {worstScore:E2}, log-density {worstLogp:E2} over {n} points");
    }

    [Fact]
    public void ScoreStaysRightFarBeyondSigma()
    {
        // |x - x0| = 0.9 at sigma = 0.01: 90 sigma away, where a plain exp sum underflows to 0/0.
        using var x = torch.tensor(new[] { 0.95, 0.05, 0.5 }, float64);
        using var x0 = torch.tensor(new[] { 0.05, 0.95, 0.0 }, float64);
        using var s = ReflectedHeatKernel.Score(x, x0, 0.01);
        var got = s.data<double>().ToArray();
        Assert.Equal(-0.9 / 1e-4, got[0], 6);
        Assert.Equal(0.9 / 1e-4, got[1], 6);
        Assert.Equal(-0.5 / 1e-4, got[2], 6);
    }

    [Fact]
    public void ResultsAreFiniteForAnyFiniteInput()
    {
        var values = new[] { -1e30, -1e6, -3.7, -1e-300, 0, 1e-300, 0.5, 1, 1 + 1e-15, 7.25, 1e6, 1e30 };
        var sigmas = new[] { 1e-4, 1e-3, 0.5, 0.5000001, 5, 1e3 };
        var cases = (from x in values from x0 in values from s in sigmas select (x, x0, s)).ToArray();
        using var tx = torch.tensor(cases.Select(c => c.x).ToArray(), float64);
        using var tx0 = torch.tensor(cases.Select(c => c.x0).ToArray(), float64);
        using var ts = torch.tensor(cases.Select(c => c.s).ToArray(), float64);
        foreach (var dtype in new[] { float32, float64 })
        {
            using var a = tx.to(dtype); using var b = tx0.to(dtype); using var c = ts.to(dtype);
            using var score = ReflectedHeatKernel.Score(a, b, c);
            using var logp = ReflectedHeatKernel.LogDensity(a, b, c);
            Assert.True(torch.isfinite(score).all().item<bool>(), $"{dtype}: score has a non-finite value");
            Assert.True(torch.isfinite(logp).all().item<bool>(), $"{dtype}: log-density has a non-finite value");
        }
    }

    [Fact]
    public void ScoreAgreesWithFiniteDifferenceOfLogDensity()
    {
        var rng = new Random(3);
        const int n = 2000;
        const double h = 1e-6;
        var xs = Enumerable.Range(0, n).Select(_ => 0.01 + 0.98 * rng.NextDouble()).ToArray();
        var x0s = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
        var sig = Enumerable.Range(0, n).Select(_ => Math.Exp(Math.Log(0.02) + rng.NextDouble() * Math.Log(5 / 0.02))).ToArray();
        using var x = torch.tensor(xs, float64);
        using var x0 = torch.tensor(x0s, float64);
        using var s = torch.tensor(sig, float64);
        using var xp = x + h; using var xm = x - h;
        using var fd = (ReflectedHeatKernel.LogDensity(xp, x0, s) - ReflectedHeatKernel.LogDensity(xm, x0, s)) / (2 * h);
        using var score = ReflectedHeatKernel.Score(x, x0, s);
        var a = fd.data<double>().ToArray(); var b = score.data<double>().ToArray();
        for (int i = 0; i < n; i++)
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4 * Math.Max(1, Math.Abs(b[i])), $"x={xs[i]}, x0={x0s[i]}, sigma={sig[i]}: fd {a[i]}, score {b[i]}");
    }

    [Theory]
    [InlineData(0.001, 0.0)]
    [InlineData(0.01, 0.3)]
    [InlineData(0.2, 1.0)]
    [InlineData(0.5, 0.7)]
    [InlineData(1.0, 0.05)]
    [InlineData(5.0, 0.5)]
    public void DensityIntegratesToOne(double sigma, double x0)
    {
        // Composite Simpson on a grid fine enough for the narrowest kernel.
        int n = 200_000;
        using var grid = torch.linspace(0, 1, n + 1, dtype: float64);
        using var x0t = torch.full(n + 1, x0, dtype: float64);
        using var p = torch.exp(ReflectedHeatKernel.LogDensity(grid, x0t, sigma));
        var w = Enumerable.Range(0, n + 1).Select(i => i == 0 || i == n ? 1.0 : i % 2 == 1 ? 4.0 : 2.0).ToArray();
        using var wt = torch.tensor(w, float64);
        double integral = (p * wt).sum().item<double>() / (3.0 * n);
        Assert.Equal(1.0, integral, 6);
    }
}
