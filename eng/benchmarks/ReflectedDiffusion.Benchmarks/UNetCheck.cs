using ReflectedDiffusion.Networks;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Reproducer at the network level: the default U-Net's loss and parameter gradients with native conv2d against the
/// unfold route on the same weights and batch, repeated over fresh draws. Catches wrong or non-finite results that
/// the small conv2d cases miss (other shapes, state carried between calls).
/// </summary>
internal static class UNetCheck
{
    public static void Run(int draws, int batch)
    {
        TorchRuntime.EnsureConfigured();
        Console.WriteLine($"oneDNN {(TorchRuntime.OneDnnEnabled == true ? "on" : "off")}, ONEDNN_MAX_CPU_ISA={Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? "(unset)"}, threads {get_num_threads()}, batch {batch}");
        var config = new ScoreNetworkConfig { Kind = NetworkKind.UNet, Channels = 1, Height = 28, Width = 28, Dimension = 784 };
        manual_seed(3);
        using var net = ScoreNetwork.Create(config);
        var initial = ConvolutionBackend.Path;
        int wrong = 0;
        try
        {
            for (int d = 0; d < draws; d++)
            {
                using var scope = NewDisposeScope();
                var x = rand(batch, 784);
                var sigma = rand(batch) * 0.5 + 0.01;
                var target = randn(batch, 784);
                var (nativeLoss, nativeGrads) = LossAndGradients(net, x, sigma, target, ConvolutionPath.Native);
                var (unfoldLoss, unfoldGrads) = LossAndGradients(net, x, sigma, target, ConvolutionPath.Unfold);
                double worst = 0;
                string worstName = "";
                var names = net.named_parameters().Select(p => p.name).ToArray();
                for (int i = 0; i < nativeGrads.Length; i++)
                {
                    double scale = System.Math.Max(unfoldGrads[i].abs().max().item<float>(), 1e-30f);
                    double e = (nativeGrads[i] - unfoldGrads[i]).abs().max().item<float>() / scale;
                    if (!isfinite(nativeGrads[i]).all().item<bool>()) e = double.PositiveInfinity;
                    if (e > worst) { worst = e; worstName = $"{names[i]} [{string.Join("x", nativeGrads[i].shape)}]"; }
                    if (e > 1e-3 && d == 0) Console.WriteLine($"  {names[i]} [{string.Join("x", nativeGrads[i].shape)}]: {e:0.0e0}");
                }
                bool ok = double.IsFinite(nativeLoss) && System.Math.Abs(nativeLoss - unfoldLoss) <= 1e-4 * System.Math.Abs(unfoldLoss) && worst <= 1e-3;
                if (!ok) wrong++;
                Console.WriteLine($"draw {d}: loss native {nativeLoss:0.000000} unfold {unfoldLoss:0.000000}, worst gradient error {worst:0.0e0} ({worstName}) {(ok ? "ok" : "WRONG")}");
            }
        }
        finally { ConvolutionBackend.Path = initial; }
        Console.WriteLine($"verdict: {wrong} of {draws} draws wrong");
    }

    private static (double Loss, Tensor[] Gradients) LossAndGradients(ScoreNetwork net, Tensor x, Tensor sigma, Tensor target, ConvolutionPath path)
    {
        ConvolutionBackend.Path = path;
        using var grad = enable_grad();
        net.zero_grad();
        var loss = (net.forward(x, sigma, null) - target).square().mean();
        loss.backward();
        return (loss.item<float>(), net.parameters().Select(p => p.grad!.clone()).ToArray());
    }
}
