namespace ReflectedDiffusion.Onnx.Tests;

[Collection(TorchCollection.Name)]
public sealed class AdaptiveLikelihoodGraphTests(ITestOutputHelper output)
{
    [Fact]
    public void AdaptiveSolveConvergesToFineRk4AndDoesNotDependOnTheBatch()
    {
        // A fresh (smooth) network: 400 RK4 steps agree with TorchSharp's adaptive solve at 1e-8 to 1e-7 nats/dim.
        var (model, rows) = LikelihoodGraphTests.FreshModelAndRows();
        using var _ = model;
        using var fine = new OnnxScorer(LikelihoodGraph.Build(model, steps: 400), 3);
        var reference = fine.Score(rows).LogLikelihood;
        double Worst(float[] logp) => logp.Zip(reference, (a, b) => System.Math.Abs(a - b) / 3.0).Max();

        using var loose = new OnnxScorer(LikelihoodGraph.Build(model, LikelihoodSolver.Adaptive(1e-3)), 3);
        using var tight = new OnnxScorer(LikelihoodGraph.Build(model, LikelihoodSolver.Adaptive(1e-6)), 3);
        var tightBatch = tight.Score(rows).LogLikelihood;
        double looseError = Worst(loose.Score(rows).LogLikelihood), tightError = Worst(tightBatch);
        output.WriteLine($"max |adaptive - RK4(400)|: tolerance 1e-3 {looseError:E2}, 1e-6 {tightError:E2} nats/dim (measured 1.9e-3 and 4.3e-5)");
        Assert.True(tightError <= 1e-4, $"adaptive 1e-6 differs by {tightError} nats/dim");
        Assert.True(tightError < looseError / 10, "a tighter tolerance should be markedly more accurate");

        // Every row carries its own step size: scored alone, a row gets the value it gets in the batch.
        for (int i = 0; i < 10; i++)
            Assert.Equal(tightBatch[i], tight.Score(rows[(3 * i)..(3 * i + 3)]).LogLikelihood[0], 4);
    }

    [Fact]
    public void AdaptiveSolverRejectsBadSettings()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => LikelihoodSolver.Adaptive(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LikelihoodSolver.Adaptive(double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => LikelihoodSolver.Adaptive(1e-4, maxSteps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => LikelihoodSolver.Rk4(0));
    }
}
