using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Training;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>Training throughput (samples per second) of the default vector and image networks.</summary>
internal static class TrainSpeed
{
    public static void Run(int steps)
    {
        Console.WriteLine($"torch threads: {get_num_threads()}, steps per measurement: {steps} (after 5 warm-up steps)");
        Measure("ResidualMlp d=64 (width 256, 3 blocks), batch 512", new ScoreNetworkConfig { Dimension = 64 }, 512, steps);
        Measure("UNet 1x28x28 (base 32, x[1,2,2]), batch 128",
            new ScoreNetworkConfig { Kind = NetworkKind.UNet, Channels = 1, Height = 28, Width = 28, Dimension = 784 }, 128, steps);
    }

    private static void Measure(string name, ScoreNetworkConfig config, int batch, int steps)
    {
        using var x = rand(4096, config.Dimension);
        var data = new InMemoryTrainingSet(x);
        var sde = new ReflectedVeSde();
        new ScoreTrainer(config, sde, new TrainerOptions { Steps = 5, BatchSize = batch }).Fit(data).Network.Dispose();
        var result = new ScoreTrainer(config, sde, new TrainerOptions { Steps = steps, BatchSize = batch }).Fit(data);
        Console.WriteLine($"{name}: {result.SamplesPerSecond:F0} samples/s");
        result.Network.Dispose();
    }
}
