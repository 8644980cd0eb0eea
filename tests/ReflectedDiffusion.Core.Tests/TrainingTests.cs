using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.Tests;

[Collection(TorchCollection.Name)]
public sealed class TrainingTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rd-train-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ScoreNetworkConfig SmallMlp(int d, int classes = 0) => new() { Dimension = d, HiddenWidth = 64, Blocks = 2, EmbeddingDim = 32, NumClasses = classes };

    private static KernelMixture FaceMixture() => new(
        new double[,] { { 0.0, 0.3 }, { 1.0, 1.0 }, { 0.6, 0.0 }, { 0.5, 0.6 } }, [0.04, 0.06, 0.05, 0.1]);

    private static InMemoryTrainingSet MixtureSet(KernelMixture mix, int n, ulong seed)
    {
        using var gen = new Generator(seed);
        using var x = mix.Sample(n, gen).to(float32);
        return new InMemoryTrainingSet(x);
    }

    [Fact]
    public void TrainingOnFaceHeavyDataCutsHeldOutLossAndLearnsTheExactScore()
    {
        var mix = FaceMixture();
        var train = MixtureSet(mix, 20_000, 1);
        using var gen = new Generator(2);
        using var heldOut = mix.Sample(4096, gen).to(float32);
        var sde = new ReflectedVeSde();
        var config = SmallMlp(2) with { HiddenWidth = 128, Blocks = 3 };

        var options = new TrainerOptions { Steps = 3000, BatchSize = 256, LearningRate = 2e-3, WarmupSteps = 100, EmaDecay = 0.995, Seed = 7 };
        torch.random.manual_seed(0);
        var untrained = ScoreNetwork.Create(config);
        double before = DenoisingScoreMatching.Evaluate(untrained, sde, heldOut, null, seed: 99);
        var result = new ScoreTrainer(config, sde, options).Fit(train);
        double after = DenoisingScoreMatching.Evaluate(result.Network, sde, heldOut, null, seed: 99);
        // DSM has an irreducible part: the loss of the exact score on the same noise. Judge the excess over it.
        double floor = DenoisingScoreMatching.Evaluate(mix, sde, heldOut, null, seed: 99);
        output.WriteLine($"held-out loss {before:F4} -> {after:F4} (exact score {floor:F4}); {result.SamplesPerSecond:F0} samples/s");
        Assert.True(after - floor < 0.15 * (before - floor), $"held-out excess loss {before - floor} -> {after - floor}");

        // Relative L2 error of the learned score against the exact mixture score on noisy data, at moderate sigma.
        // Tolerances: measured 0.10, 0.13 and 0.18 after this 3,000-step run; the exact score shrinks as sigma grows
        // (the density flattens), so the relative error is looser there.
        foreach (var (sigma, tolerance) in new[] { (0.1, 0.15), (0.2, 0.2), (0.4, 0.3) })
        {
            using var scope = NewDisposeScope();
            using var g = new Generator(3);
            var x = mix.Sample(4096, g, sigma).to(float32);
            var exact = mix.Score(x, torch.tensor(sigma));
            Tensor learned;
            using (torch.no_grad()) learned = result.Network.forward(x, torch.full(x.shape[0], sigma, dtype: float32), null);
            double rel = ((learned - exact).pow(2).sum() / exact.pow(2).sum()).sqrt().item<float>();
            output.WriteLine($"sigma {sigma}: relative L2 score error {rel:F3}");
            Assert.True(rel < tolerance, $"sigma {sigma}: relative score error {rel}");
        }
        result.Network.Dispose();
    }

    [Fact]
    public void StandardProcessTrainsTheBaselineScoreWithTheSameTrainer()
    {
        // The unreflected baseline: data from a Gaussian mixture, Gaussian DSM target; the learned score should
        // approach the exact Gaussian-mixture score.
        var means = new double[,] { { 0.3, 0.3 }, { 0.7, 0.6 } };
        var gaussian = new KernelMixture(means, [0.08, 0.08], reflected: false);
        using var gen = new Generator(6);
        using var data = gaussian.Sample(8000, gen).clamp(0.0, 1.0).to(float32);
        var config = SmallMlp(2);
        var options = new TrainerOptions { Steps = 1500, BatchSize = 256, LearningRate = 2e-3, Process = DiffusionProcess.Standard, Seed = 2 };
        var result = new ScoreTrainer(config, new ReflectedVeSde(), options).Fit(new InMemoryTrainingSet(data));
        using var g = new Generator(7);
        using var x = gaussian.Sample(2000, g, 0.2).to(float32);
        using var exact = gaussian.Score(x, torch.tensor(0.2));
        using var _ = torch.no_grad();
        using var learned = result.Network.forward(x, torch.full(2000, 0.2f), null);
        double rel = ((learned - exact).pow(2).sum() / exact.pow(2).sum()).sqrt().item<float>();
        output.WriteLine($"standard process: relative score error at sigma 0.2: {rel:F3}");
        Assert.True(rel < 0.25, $"relative score error {rel}");
        result.Network.Dispose();
    }

    [Fact]
    public void ResumeFromCheckpointContinuesWithTheSameLossTrace()
    {
        var train = MixtureSet(FaceMixture(), 3000, 4);
        var sde = new ReflectedVeSde();
        var config = SmallMlp(2, classes: 0);
        TrainerOptions Options(long steps, string? ckpt) => new()
        {
            Steps = steps, BatchSize = 64, LearningRate = 1e-3, WarmupSteps = 10, Seed = 11, ImportanceSampling = true,
            Weighting = LossWeighting.Likelihood, CheckpointPath = ckpt, CheckpointInterval = 25,
        };
        var full = new ScoreTrainer(config, sde, Options(120, null)).Fit(train);
        var ckpt = Path.Combine(_dir, "run.ckpt");
        var firstHalf = new ScoreTrainer(config, sde, Options(70, ckpt)).Fit(train);
        Assert.True(File.Exists(ckpt));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        var resumed = new ScoreTrainer(config, sde, Options(120, null)).Fit(train, resumeFrom: ckpt);
        Assert.Equal(full.LossTrace.Count, resumed.LossTrace.Count);
        Assert.Equal(full.LossTrace, resumed.LossTrace);
        foreach (var ((_, a), (_, b)) in full.Network.named_parameters().Zip(resumed.Network.named_parameters()))
            Assert.True(a.equal(b).all().item<bool>());
        firstHalf.Network.Dispose(); full.Network.Dispose(); resumed.Network.Dispose();
    }

    [Fact]
    public void ResumeRefusesACheckpointFromOtherSettings()
    {
        var train = MixtureSet(FaceMixture(), 500, 4);
        var sde = new ReflectedVeSde();
        var ckpt = Path.Combine(_dir, "a.ckpt");
        new ScoreTrainer(SmallMlp(2), sde, new TrainerOptions { Steps = 5, BatchSize = 16, CheckpointPath = ckpt }).Fit(train).Network.Dispose();
        var other = new ScoreTrainer(SmallMlp(2), sde, new TrainerOptions { Steps = 10, BatchSize = 32 });
        var e = Assert.Throws<InvalidOperationException>(() => other.Fit(train, resumeFrom: ckpt));
        Assert.Contains("other settings", e.Message);
    }

    [Fact]
    public void ConditionalTrainingUsesLabelsAndTheNullToken()
    {
        using var gen = new Generator(5);
        var mix0 = new KernelMixture(new double[,] { { 0.1, 0.1 } }, [0.05]);
        var mix1 = new KernelMixture(new double[,] { { 0.9, 0.9 } }, [0.05]);
        using var x = torch.cat([mix0.Sample(2000, gen), mix1.Sample(2000, gen)]).to(float32);
        using var y = torch.cat([torch.zeros(2000, int64), torch.ones(2000, int64)]);
        var set = new InMemoryTrainingSet(x, y, numClasses: 2);
        var config = SmallMlp(2, classes: 2);
        var result = new ScoreTrainer(config, new ReflectedVeSde(), new TrainerOptions { Steps = 800, BatchSize = 128, LearningRate = 2e-3, Seed = 3 }).Fit(set);
        // At x = (0.5, 0.5), sigma = 0.2: the class-0 score points toward (0.1, 0.1), the class-1 score toward (0.9, 0.9).
        using var probe = torch.full(1, 2, 0.5f);
        using var sigma = torch.full(1, 0.2f);
        using var _ = torch.no_grad();
        var s0 = result.Network.forward(probe, sigma, torch.tensor(new long[] { 0 })).data<float>().ToArray();
        var s1 = result.Network.forward(probe, sigma, torch.tensor(new long[] { 1 })).data<float>().ToArray();
        var sNull = result.Network.forward(probe, sigma, null).data<float>().ToArray();
        output.WriteLine($"class 0 {string.Join(",", s0)}; class 1 {string.Join(",", s1)}; null {string.Join(",", sNull)}");
        Assert.True(s0[0] < 0 && s0[1] < 0, "class 0 score should point down-left");
        Assert.True(s1[0] > 0 && s1[1] > 0, "class 1 score should point up-right");
        Assert.True(System.Math.Abs(sNull[0]) < System.Math.Abs(s0[0]) && System.Math.Abs(sNull[0]) < System.Math.Abs(s1[0]), "the unconditional score sits between the classes");
        result.Network.Dispose();
    }

    [Fact]
    public void CancellationStopsTrainingAndLeavesAValidCheckpoint()
    {
        var train = MixtureSet(FaceMixture(), 500, 4);
        var ckpt = Path.Combine(_dir, "c.ckpt");
        using var cts = new CancellationTokenSource();
        var options = new TrainerOptions
        {
            Steps = 1_000_000, BatchSize = 32, CheckpointPath = ckpt, CheckpointInterval = 10, ProgressInterval = 10,
            CancellationToken = cts.Token, Progress = p => { if (p.Step >= 30) cts.Cancel(); },
        };
        var trainer = new ScoreTrainer(SmallMlp(2), new ReflectedVeSde(), options);
        Assert.ThrowsAny<OperationCanceledException>(() => trainer.Fit(train));
        Assert.True(File.Exists(ckpt));
        // The checkpoint resumes into a short run.
        var resumed = new ScoreTrainer(SmallMlp(2), new ReflectedVeSde(), new TrainerOptions { Steps = 40, BatchSize = 32 }).Fit(train, resumeFrom: ckpt);
        Assert.Equal(40, resumed.LossTrace.Count);
        resumed.Network.Dispose();
    }

    [Fact]
    public void ProgressReportsStepsLossAndThroughput()
    {
        var reports = new List<TrainingProgress>();
        var options = new TrainerOptions { Steps = 50, BatchSize = 32, ProgressInterval = 20, Progress = reports.Add };
        new ScoreTrainer(SmallMlp(2), new ReflectedVeSde(), options).Fit(MixtureSet(FaceMixture(), 200, 1)).Network.Dispose();
        Assert.Equal(new long[] { 20, 40, 50 }, reports.Select(r => r.Step));
        Assert.All(reports, r => { Assert.Equal(50, r.TotalSteps); Assert.True(r.SamplesPerSecond > 0); Assert.True(double.IsFinite(r.Loss)); });
    }

    [Theory]
    [InlineData("Steps")]
    [InlineData("BatchSize")]
    [InlineData("LearningRate")]
    [InlineData("LabelDropout")]
    public void BadOptionsAreRejectedByName(string option)
    {
        var o = new TrainerOptions();
        switch (option)
        {
            case "Steps": o.Steps = 0; break;
            case "BatchSize": o.BatchSize = -1; break;
            case "LearningRate": o.LearningRate = double.NaN; break;
            case "LabelDropout": o.LabelDropout = 1; break;
        }
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ScoreTrainer(SmallMlp(2), new ReflectedVeSde(), o));
        Assert.Equal(option, e.ParamName);
    }

    [Fact]
    public void NaNOrOutOfBoxDataIsRejectedWithItsRow()
    {
        using var x = torch.rand(10, 3);
        x[6, 2] = torch.tensor(float.NaN);
        var e = Assert.Throws<ArgumentException>(() => new InMemoryTrainingSet(x));
        Assert.Contains("Row 6, feature 2", e.Message);
        using var y = torch.rand(10, 3);
        y[4, 0] = torch.tensor(1.5f);
        var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => new InMemoryTrainingSet(y));
        Assert.Contains("Row 4, feature 0", e2.Message);
        var rows = new[] { new TrainingRow([0.1f, 0.2f]), new TrainingRow([0.1f, float.NaN]) };
        var e3 = Assert.Throws<ArgumentException>(() => TrainingSet.FromRows(() => rows, 2, 0));
        Assert.Contains("Row 1, feature 1", e3.Message);
    }

    [Fact]
    public void DivergingLossStopsWithTheStep()
    {
        var options = new TrainerOptions { Steps = 200, BatchSize = 64, LearningRate = 1e6, GradientClipNorm = 0, WarmupSteps = 0, Beta1 = 0, Beta2 = 0 };
        var trainer = new ScoreTrainer(SmallMlp(2), new ReflectedVeSde(), options);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(MixtureSet(FaceMixture(), 500, 1)));
        Assert.InRange(e.Step, 1, 200);
        Assert.Contains($"step {e.Step}", e.Message);
    }

    [Fact]
    public void StreamingPathTrainsReproduciblyAndResumes()
    {
        var mix = FaceMixture();
        using var gen = new Generator(8);
        var rows = mix.Sample(1000, gen).to(float32).data<float>().ToArray().Chunk(2).Select(r => new TrainingRow(r)).ToArray();
        // A budget of 100 rows forces the streaming path.
        var set = TrainingSet.FromRows(() => rows, 2, 0, memoryBudgetBytes: 100 * 16);
        Assert.IsType<StreamingTrainingSet>(set);
        Assert.IsType<InMemoryTrainingSet>(TrainingSet.FromRows(() => rows, 2, 0));
        var ckpt = Path.Combine(_dir, "s.ckpt");
        TrainerOptions Options(long steps, string? path = null) => new() { Steps = steps, BatchSize = 50, Seed = 5, CheckpointPath = path, CheckpointInterval = 15 };
        var a = new ScoreTrainer(SmallMlp(2), new ReflectedVeSde(), Options(60)).Fit(set);
        new ScoreTrainer(SmallMlp(2), new ReflectedVeSde(), Options(30, ckpt)).Fit(set).Network.Dispose();
        var b = new ScoreTrainer(SmallMlp(2), new ReflectedVeSde(), Options(60)).Fit(set, resumeFrom: ckpt);
        Assert.Equal(a.LossTrace, b.LossTrace);
        Assert.True(a.LossTrace.Take(10).Average() > a.LossTrace.TakeLast(10).Average());
        a.Network.Dispose(); b.Network.Dispose();
    }

    [Fact]
    public void NativeMemoryDoesNotGrowOver10000Steps()
    {
        var train = MixtureSet(FaceMixture(), 2000, 1);
        var sde = new ReflectedVeSde();
        var config = new ScoreNetworkConfig { Dimension = 2, HiddenWidth = 16, Blocks = 1, EmbeddingDim = 8 };
        long rssAfterWarmup = 0;
        var options = new TrainerOptions
        {
            Steps = 10_000, BatchSize = 16, ProgressInterval = 1000,
            Progress = p => { if (p.Step == 1000) rssAfterWarmup = NativeRss(); },
        };
        var result = new ScoreTrainer(config, sde, options).Fit(train);
        long growth = NativeRss() - rssAfterWarmup;
        output.WriteLine($"RSS growth outside the managed heap from step 1,000 to 10,000: {growth / 1024.0 / 1024.0:F1} MiB");
        // A leak of one small tensor per step would add several MiB; allow allocator noise.
        Assert.True(growth < 8L * 1024 * 1024, $"resident memory grew by {growth} bytes");
        result.Network.Dispose();
    }

    // Resident memory less the managed heap's committed memory, after a full collection: a larger gen0 budget
    // (DOTNET_GCgen0size, which build.sh sets) keeps more managed memory committed, which is not what this test is about.
    private static long NativeRss()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return CurrentRss() - GC.GetGCMemoryInfo().TotalCommittedBytes;
    }

    private static long CurrentRss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmRSS:")) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return Environment.WorkingSet;
    }
}
