using System.Diagnostics;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Training;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// The vector network's training step in GFLOP/s against this machine's float32 matrix-multiply peak. Counted: the
/// matrix products of every Linear layer, 2 in x out per row forward and twice that backward (input and weight
/// gradients); not counted: the kernel score target, element-wise work and Adam, so the figure is a lower bound.
/// </summary>
internal static class Gflops
{
    public static void Run(int steps)
    {
        double peak = MatmulPeak(2048, 6);
        Console.WriteLine($"float32 matrix product 2048 x 2048 x 2048, {get_num_threads()} threads: {peak:F1} GFLOP/s (the peak measured here)");
        foreach (var (width, blocks, batch) in new[] { (256, 3, 512), (512, 4, 1024) })
        {
            var config = new ScoreNetworkConfig { Dimension = 64, HiddenWidth = width, Blocks = blocks };
            using var x = rand(8192, config.Dimension);
            var data = new InMemoryTrainingSet(x);
            var sde = new ReflectedVeSde();
            new ScoreTrainer(config, sde, new TrainerOptions { Steps = 5, BatchSize = batch }).Fit(data).Network.Dispose(); // warm-up
            var result = new ScoreTrainer(config, sde, new TrainerOptions { Steps = steps, BatchSize = batch }).Fit(data);
            double perRow = 3 * ForwardMatmulFlopsPerRow(result.Network);
            double achieved = perRow * result.SamplesPerSecond / 1e9;
            Console.WriteLine($"ResidualMlp d=64 (width {width}, {blocks} blocks), batch {batch}: {result.SamplesPerSecond:F0} samples/s x {perRow / 1e6:F2} MFLOP per row " +
                $"= {achieved:F1} GFLOP/s, {100 * achieved / peak:F0}% of the peak");
            result.Network.Dispose();
        }
    }

    // 2 in x out per row for each Linear layer's weight [out, in] (the label table of a conditional network is a lookup, not counted).
    private static double ForwardMatmulFlopsPerRow(ScoreNetwork network)
        => network.modules().OfType<TorchSharp.Modules.Linear>().Sum(l => 2.0 * l.weight!.shape[0] * l.weight.shape[1]);

    private static double MatmulPeak(int n, int repeats)
    {
        using var a = randn(n, n);
        using var b = randn(n, n);
        for (int i = 0; i < 3; i++) matmul(a, b).Dispose();
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) matmul(a, b).Dispose();
        return 2.0 * n * n * n * repeats / watch.Elapsed.TotalSeconds / 1e9;
    }
}
