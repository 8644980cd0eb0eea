using ReflectedDiffusion.Networks;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Reproducer for the float32 conv2d backward question: native conv2d gradients (input, weight, bias) against
/// float64 over shapes, thread counts, dtypes and oneDNN on/off, several random draws each.
/// </summary>
internal static class Conv2dCheck
{
    private static readonly (int Batch, int In, int Out, int Size, int Kernel)[] Shapes =
    [
        (2, 4, 8, 7, 3), (2, 1, 8, 8, 3), (16, 32, 32, 28, 3), (16, 32, 64, 14, 3), (16, 64, 64, 7, 3),
        (16, 64, 32, 14, 1), (128, 1, 32, 28, 3), (32, 96, 64, 14, 3),
    ];

    public static void Run(int draws)
    {
        TorchRuntime.EnsureConfigured(); // the allocator settings the library runs under
        Console.WriteLine($"allocator tuned: {TorchRuntime.AllocatorTuned}; libtorch conv2d gradients vs float64 (relative max error; fail above {ConvolutionBackend.Tolerance:0e0}), {draws} draws each");
        Console.WriteLine("oneDNN | threads | dtype | batch x in -> out, size, k | worst error | verdict");
        int failures = 0, cases = 0;
        bool initialMkldnn = TorchRuntime.OneDnnEnabled ?? throw new PlatformNotSupportedException("libtorch's mkldnn switch is not exported here.");
        int initialThreads = get_num_threads();
        try
        {
            foreach (bool mkldnn in new[] { true, false })
            {
                TorchRuntime.OneDnnEnabled = mkldnn;
                foreach (int threads in new[] { 1, 2 })
                {
                    set_num_threads(threads);
                    foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
                    {
                        foreach (var s in Shapes)
                        {
                            double worst = 0;
                            for (int d = 0; d < draws; d++)
                            {
                                double e = ConvolutionBackend.GradientError(CPU, s.Batch, s.In, s.Out, s.Size, s.Kernel, dtype, seed: 11 + d);
                                worst = double.IsNaN(e) || double.IsNaN(worst) ? double.NaN : System.Math.Max(worst, e);
                            }
                            // bfloat16 keeps 8 significant bits: judge it against its own rounding, not float32's.
                            double tol = dtype == ScalarType.BFloat16 ? 0.05 : ConvolutionBackend.Tolerance;
                            bool ok = worst <= tol;
                            cases++; if (!ok) failures++;
                            Console.WriteLine($"{(mkldnn ? "on " : "off")} | {threads} | {dtype} | {s.Batch} x {s.In} -> {s.Out}, {s.Size}x{s.Size}, {s.Kernel} | {worst:0.0e0} | {(ok ? "ok" : "WRONG")}");
                        }
                    }
                }
            }
        }
        finally
        {
            TorchRuntime.OneDnnEnabled = initialMkldnn;
            set_num_threads(initialThreads);
        }
        Console.WriteLine($"verdict: {failures} of {cases} cases wrong; first-use check under the library's settings (oneDNN {(TorchRuntime.OneDnnEnabled == true ? "on" : "off")}): native {(ConvolutionBackend.NativeGradientsAreRight(CPU) ? "passes" : "fails")}");
    }
}
