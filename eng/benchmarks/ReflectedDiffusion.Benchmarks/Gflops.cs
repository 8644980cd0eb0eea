using System.Diagnostics;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Training;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// The training step of the vector network and of the U-Net in GFLOP/s against this machine's float32 matrix-multiply
/// peak. Counted: the matrix products of every Linear layer and convolution, 2 in x out per row (per output pixel for
/// a convolution) forward and twice that backward (input and weight gradients); not counted: the kernel score target,
/// normalisation, element-wise work and Adam, so the figure is a lower bound.
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
        UNet(peak, System.Math.Max(3, steps / 10));
    }

    // The default U-Net (28x28, batch 128): convolutions counted at the resolution they run at (2 out x in k^2 per
    // output pixel forward, twice that backward), plus the Linear layers.
    private static void UNet(double peak, int steps)
    {
        var config = new ScoreNetworkConfig { Kind = NetworkKind.UNet, Channels = 1, Height = 28, Width = 28, Dimension = 784 };
        const int batch = 128;
        using var x = rand(4096, config.Dimension);
        var (network, samplesPerSecond) = TimedTraining.Run(config, new InMemoryTrainingSet(x), batch, steps);
        double convolution = network.named_modules().Where(m => m.module is SameConv2d)
            .Sum(m => ConvolutionFlopsPerRow((SameConv2d)m.module, config, UNetLevel(m.name, config)));
        double perRow = 3 * (convolution + ForwardMatmulFlopsPerRow(network));
        double achieved = perRow * samplesPerSecond / 1e9;
        Console.WriteLine($"UNet 1x28x28 (base 32, x[1,2,2]), batch {batch}: {samplesPerSecond:F1} samples/s x {perRow / 1e6:F1} MFLOP per row " +
            $"({100 * convolution / (perRow / 3):F0}% in convolutions) = {achieved:F1} GFLOP/s, {100 * achieved / peak:F0}% of the peak");
        network.Dispose();
    }

    // 2 out x in k^2 per output pixel; level l runs at the image size halved l times (the U-Net pools before a level's first block).
    private static double ConvolutionFlopsPerRow(SameConv2d conv, ScoreNetworkConfig config, int level)
        => 2.0 * conv.Weight.shape[0] * conv.Weight.shape[1] * (config.Height >> level) * (config.Width >> level);

    // The resolution level of a U-Net module from its name: down block i at level i / ResBlocksPerLevel, the middle at
    // the lowest level, the up blocks level by level upwards (one extra block at the top), stem and head at level 0.
    private static int UNetLevel(string name, ScoreNetworkConfig config)
    {
        var parts = name.Split('.');
        int levels = config.ChannelMultipliers.Length;
        switch (parts[0])
        {
            case "_down": return int.Parse(parts[1]) / config.ResBlocksPerLevel;
            case "_middle": return levels - 1;
            case "_up":
                int j = int.Parse(parts[1]);
                for (int l = levels - 1; l > 0; l--, j -= config.ResBlocksPerLevel)
                    if (j < config.ResBlocksPerLevel) return l;
                return 0;
            default: return 0;
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
