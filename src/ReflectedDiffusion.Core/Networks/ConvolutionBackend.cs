using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Networks;

/// <summary>How <see cref="SameConv2d"/> computes its convolution.</summary>
public enum ConvolutionPath
{
    /// <summary>Native conv2d where the first-use gradient check passes (always on CUDA), unfold elsewhere.</summary>
    Auto,
    /// <summary>libtorch's conv2d.</summary>
    Native,
    /// <summary>Unfold (im2col) plus a matrix product.</summary>
    Unfold,
}

/// <summary>
/// Chooses between libtorch's conv2d and the unfold route. Some libtorch-cpu builds have returned wrong float32
/// conv2d gradients (the oneDNN path; float64 right), so on CPU the native path is used only after a tiny case
/// has shown its float32 gradients agree with float64 ones. The verdict is cached per device type for the process.
/// </summary>
public static class ConvolutionBackend
{
    private static readonly ConcurrentDictionary<DeviceType, bool> Verdicts = new();

    /// <summary>Largest relative gradient error (max |float32 - float64| / max |float64|) the check accepts.</summary>
    public const double Tolerance = 1e-4;

    /// <summary>Process-wide choice; <see cref="ConvolutionPath.Auto"/> unless a caller (a benchmark, a test) pins one.
    /// The environment variable <c>RDIFF_CONV=native|unfold</c> sets the initial value.</summary>
    public static ConvolutionPath Path { get; set; } = Environment.GetEnvironmentVariable("RDIFF_CONV")?.ToLowerInvariant() switch
    {
        "native" => ConvolutionPath.Native,
        "unfold" or "im2col" => ConvolutionPath.Unfold,
        _ => ConvolutionPath.Auto,
    };

    /// <summary>True when convolutions on <paramref name="device"/> run as native conv2d.</summary>
    public static bool UsesNative(Device device) => Path switch
    {
        ConvolutionPath.Native => true,
        ConvolutionPath.Unfold => false,
        _ => device.type == DeviceType.CUDA || Verdicts.GetOrAdd(device.type, t => NativeGradientsAreRight(new Device(t))),
    };

    /// <summary>The first-use check: a small 3x3 case (batch 2, 4 to 8 channels, 7x7) at float32 against float64.</summary>
    public static bool NativeGradientsAreRight(Device device) =>
        GradientError(device, batch: 2, inChannels: 4, outChannels: 8, size: 7, kernel: 3, float32, seed: 7) <= Tolerance;

    /// <summary>
    /// The largest relative error of native conv2d's input, weight and bias gradients in <paramref name="dtype"/>
    /// against float64, for one same-padding case with a fixed random draw (the global generator is left alone).
    /// NaN or infinity where a gradient is not finite.
    /// </summary>
    public static double GradientError(Device device, int batch, int inChannels, int outChannels, int size, int kernel, ScalarType dtype, long seed)
    {
        using var scope = NewDisposeScope();
        using var grad = torch.enable_grad();
        var gen = new Generator((ulong)seed);
        var x = torch.randn([batch, inChannels, size, size], float64, generator: gen);
        var w = torch.randn([outChannels, inChannels * kernel * kernel], float64, generator: gen) / System.Math.Sqrt(inChannels * kernel * kernel);
        var b = torch.randn([outChannels, 1], float64, generator: gen);
        var up = torch.randn([batch, outChannels, size, size], float64, generator: gen);
        var reference = Gradients(x, w, b, up, inChannels, kernel, float64, device);
        var tested = Gradients(x, w, b, up, inChannels, kernel, dtype, device);
        double worst = 0;
        for (int i = 0; i < 3; i++)
        {
            var got = tested[i].to(float64);
            if (!torch.isfinite(got).all().item<bool>()) return double.NaN;
            double err = (got - reference[i]).abs().max().item<double>() / System.Math.Max(reference[i].abs().max().item<double>(), 1e-30);
            worst = System.Math.Max(worst, err);
        }
        return worst;
    }

    private static Tensor[] Gradients(Tensor x, Tensor w, Tensor b, Tensor up, int inChannels, int kernel, ScalarType dtype, Device device)
    {
        var xs = x.detach().to(dtype, device).requires_grad_(true);
        var ws = w.detach().to(dtype, device).requires_grad_(true);
        var bs = b.detach().to(dtype, device).requires_grad_(true);
        (SameConv2d.Native(xs, ws, bs, inChannels, kernel) * up.to(dtype, device)).sum().backward();
        return [xs.grad!.cpu(), ws.grad!.cpu(), bs.grad!.cpu()];
    }
}
