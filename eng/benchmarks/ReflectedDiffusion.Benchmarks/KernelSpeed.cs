using System.Diagnostics;
using ReflectedDiffusion.Sde;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>Heat-kernel score evaluation per training batch (512 x 64, sigma from the default schedule).</summary>
internal static class KernelSpeed
{
    public static void Run(int reps)
    {
        TorchRuntime.EnsureConfigured();
        random.manual_seed(1);
        var sde = new ReflectedVeSde();
        using var x0 = rand(512, 64);
        using var sigma = sde.Sigma(rand(512, float64)).to(float32).unsqueeze(1);
        using var xt = ReflectedHeatKernel.Reflect(x0 + sigma * randn(512, 64));
        for (int i = 0; i < 5; i++) ReflectedHeatKernel.Score(xt, x0, sigma).Dispose();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) ReflectedHeatKernel.Score(xt, x0, sigma).Dispose();
        Console.WriteLine($"kernel score 512 x 64: {clock.Elapsed.TotalMilliseconds / reps:F2} ms per batch ({reps} batches)");
    }
}
