using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Tests;

[Collection(TorchCollection.Name)]
public sealed class NetworkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("rd-net-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(1, 8, 8, new[] { 1, 2 })]
    [InlineData(1, 28, 28, new[] { 1, 2, 2 })]
    [InlineData(3, 32, 32, new[] { 1, 2, 2 })]
    [InlineData(3, 8, 8, new[] { 1, 1, 2 })]
    public void UNetMapsImagesToScoresOfTheSameShape(int channels, int h, int w, int[] multipliers)
    {
        torch.random.manual_seed(1);
        var config = new ScoreNetworkConfig
        {
            Kind = NetworkKind.UNet, Channels = channels, Height = h, Width = w, Dimension = channels * h * w,
            BaseChannels = 8, ChannelMultipliers = multipliers, EmbeddingDim = 16, NumClasses = 3,
        };
        using var net = ScoreNetwork.Create(config);
        using var x = torch.rand(4, config.Dimension);
        using var sigma = torch.tensor(new[] { 0.01f, 0.1f, 1f, 5f });
        using var s = net.forward(x, sigma, torch.tensor(new long[] { 0, 1, 2, 3 }));
        Assert.Equal(new long[] { 4, config.Dimension }, s.shape);
        Assert.True(torch.isfinite(s).all().item<bool>());
        Assert.Equal(3, net.NullLabel);
    }

    [Fact]
    public void UNetRejectsSizesItCannotHalve()
    {
        var config = new ScoreNetworkConfig { Kind = NetworkKind.UNet, Channels = 1, Height = 28, Width = 28, Dimension = 784, ChannelMultipliers = [1, 2, 2, 2] };
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ScoreNetwork.Create(config));
        Assert.Contains("not divisible", e.Message);
    }

    [Fact]
    public void OutputIsTheRawNetworkDividedBySigma()
    {
        // Sigma enters both the embedding and the division; with the embedding frozen by using the same sigma
        // row-wise, scaling only through the division is visible as s * sigma being the raw output.
        torch.random.manual_seed(2);
        using var net = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 5, HiddenWidth = 16, Blocks = 1, EmbeddingDim = 8 });
        using var x = torch.rand(3, 5);
        using var s1 = net.forward(x, torch.full(3, 0.5f), null);
        using var s2 = net.forward(x, torch.full(3, 0.5f), null);
        Assert.True(torch.allclose(s1, s2));
        using var raw = s1 * 0.5f;
        Assert.True(raw.abs().max().item<float>() < 10, "raw output is of order one at initialisation");
    }

    [Fact]
    public void NeumannFacesZeroTheScoresNormalComponentOnEveryFace()
    {
        torch.random.manual_seed(5);
        var config = new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 16, Blocks = 1, EmbeddingDim = 8 };
        using var plain = ScoreNetwork.Create(config);
        using var masked = ScoreNetwork.Create(config with { NeumannFaces = true });
        masked.load_state_dict(plain.state_dict());
        // Row r puts coordinate r % 3 on a face (0 or 1), the others inside.
        using var x = torch.tensor(new float[] { 0f, 0.3f, 0.6f, 0.2f, 1f, 0.7f, 0.4f, 0.5f, 0f, 1f, 0.1f, 0.9f }, [4, 3]);
        using var sigma = torch.tensor(new[] { 0.05f, 0.5f, 2f, 0.01f });
        using var s = masked.forward(x, sigma, null);
        using var reference = plain.forward(x, sigma, null);
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 3; j++)
            {
                float value = s[r, j].item<float>(), unmasked = reference[r, j].item<float>();
                if (j == r % 3) Assert.Equal(0f, value);
                else Assert.Equal(unmasked * (float)(System.Math.Tanh(x[r, j].item<float>() / sigma[r].item<float>()) * System.Math.Tanh((1 - x[r, j].item<float>()) / sigma[r].item<float>())), value, 4);
            }
        Assert.True(reference.abs().min().item<float>() > 0, "the plain network is not zero on the faces");
    }

    [Fact]
    public void NeumannFacesFlowKeepsItsMassInTheBoxUnfolded()
    {
        // Any weights: a flow whose normal velocity vanishes on the faces maps the box onto itself, so exp(log p)
        // integrates to one over the box without folding. Initial weights, 2-D, midpoint rule on a 24 x 24 grid.
        torch.random.manual_seed(6);
        var sde = new ReflectedVeSde(0.05, 2);
        using var network = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 2, HiddenWidth = 32, Blocks = 1, EmbeddingDim = 8, NeumannFaces = true });
        network.eval();
        const int m = 24;
        using var grid = torch.tensor(Enumerable.Range(0, m * m).SelectMany(i => new[] { (float)((i / m + 0.5) / m), (float)((i % m + 0.5) / m) }).ToArray(), [m * m, 2]);
        var options = new Density.LikelihoodOptions { RelativeTolerance = 1e-6, AbsoluteTolerance = 1e-6, Divergence = Density.DivergenceMethod.Exact };
        var logp = Density.Likelihood.Evaluate(network, sde, grid, options).LogLikelihood;
        double mass = logp.Sum(System.Math.Exp) / (m * m);
        Assert.InRange(mass, 0.98, 1.02); // measured 0.9991
        Assert.True(logp.Max() - logp.Min() > 0.5, $"the density is not flat: log p from {logp.Min():F2} to {logp.Max():F2}");
    }

    [Fact]
    public void ConditionalNetworkDefaultsToTheNullLabel()
    {
        torch.random.manual_seed(3);
        using var net = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 4, HiddenWidth = 16, Blocks = 1, EmbeddingDim = 8, NumClasses = 2 });
        using var x = torch.rand(2, 4);
        using var sigma = torch.full(2, 0.3f);
        using var implicitNull = net.forward(x, sigma, null);
        using var explicitNull = net.forward(x, sigma, torch.full(2, 2L));
        using var class0 = net.forward(x, sigma, torch.zeros(2, int64));
        Assert.True(torch.allclose(implicitNull, explicitNull));
        Assert.False(torch.allclose(implicitNull, class0));
    }

    [Fact]
    public void ScoreModelRoundTripsThroughAFile()
    {
        torch.random.manual_seed(4);
        var config = new ScoreNetworkConfig { Dimension = 3, HiddenWidth = 16, Blocks = 2, EmbeddingDim = 8, NumClasses = 2 };
        using var model = new ScoreModel(ScoreNetwork.Create(config), new ReflectedVeSde(1e-4, 5), new BoxBounds([0, -1, 2], [1, 1, 4]));
        var path = Path.Combine(_dir, "m.rdm");
        model.Save(path);
        using var loaded = ScoreModel.Load(path);
        Assert.Equal(config.Dimension, loaded.Network.Config.Dimension);
        Assert.Equal(1e-4, loaded.Sde.SigmaMin);
        Assert.Equal(model.Bounds.Upper, loaded.Bounds.Upper);
        using var x = torch.rand(5, 3);
        using var sigma = torch.full(5, 0.2f);
        using var labels = torch.tensor(new long[] { 0, 1, 2, 0, 1 });
        using var a = model.Network.forward(x, sigma, labels);
        using var b = loaded.Network.forward(x, sigma, labels);
        Assert.True(a.equal(b).all().item<bool>());
        Assert.Single(Directory.GetFiles(_dir));
        Assert.Throws<InvalidDataException>(() => ScoreModel.Load(new MemoryStream(new byte[64])));
    }
}

[Collection(TorchCollection.Name)]
public sealed class GradientTests
{
    // Regression guard for float32 conv2d backward defects (see ConvolutionBackend): on both convolution paths,
    // every layer the networks use must have input gradients that agree with a float64 finite difference.
    [Theory]
    [InlineData(ConvolutionPath.Native)]
    [InlineData(ConvolutionPath.Unfold)]
    public void UNetInputGradientsMatchFiniteDifferences(ConvolutionPath path)
    {
        var saved = ConvolutionBackend.Path;
        ConvolutionBackend.Path = path;
        try { CheckUNetInputGradients(); }
        finally { ConvolutionBackend.Path = saved; }
    }

    // Native conv2d and the unfold route give the same outputs and the same input, weight and bias gradients in
    // float32 (the weight gradients are what training uses; the finite-difference check sees input gradients only).
    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void NativeAndUnfoldedConvolutionsAgreeWithGradients(int kernel)
    {
        torch.random.manual_seed(9);
        using var scope = NewDisposeScope();
        var conv = new SameConv2d(6, 10, kernel);
        var input = torch.randn(4, 6, 9, 9);
        var up = torch.randn(4, 10, 9, 9);
        Tensor[] Run(Func<Tensor, Tensor> f)
        {
            conv.zero_grad();
            var x = input.clone().requires_grad_(true);
            var y = f(x);
            (y * up).sum().backward();
            return [y.detach(), x.grad!.clone(), conv.Weight.grad!.clone(), conv.Bias.grad!.clone()];
        }
        var native = Run(x => SameConv2d.Native(x, conv.Weight, conv.Bias, 6, kernel));
        var unfolded = Run(x => SameConv2d.Unfolded(x, conv.Weight, conv.Bias, kernel));
        string[] names = ["output", "input gradient", "weight gradient", "bias gradient"];
        for (int i = 0; i < 4; i++)
        {
            double err = (native[i] - unfolded[i]).abs().max().item<float>() / unfolded[i].abs().max().item<float>();
            Assert.True(err < 1e-5, $"{names[i]}: relative difference {err}");
        }
    }

    // The whole U-Net on both paths: the same loss and the same gradient for every parameter. oneDNN capped at AVX2
    // passed every single-convolution case and still gave wrong gradients here, from the head's many -> 1 channel
    // convolution back (the unet-check benchmark is the full-size reproducer).
    [Fact]
    public void UNetParameterGradientsAgreeOnBothConvolutionPaths()
    {
        torch.random.manual_seed(21);
        using var net = ScoreNetwork.Create(new ScoreNetworkConfig
        {
            Kind = NetworkKind.UNet, Channels = 1, Height = 8, Width = 8, Dimension = 64, BaseChannels = 8, ChannelMultipliers = [1, 2], EmbeddingDim = 16,
        });
        using var scope = NewDisposeScope();
        var x = torch.rand(6, 64);
        var sigma = torch.rand(6) * 0.5 + 0.01;
        var target = torch.randn(6, 64);
        var saved = ConvolutionBackend.Path;
        (float Loss, Tensor[] Gradients) Run(ConvolutionPath path)
        {
            ConvolutionBackend.Path = path;
            net.zero_grad();
            var loss = (net.forward(x, sigma, null) - target).square().mean();
            loss.backward();
            return (loss.item<float>(), net.parameters().Select(p => p.grad!.clone()).ToArray());
        }
        try
        {
            var (nativeLoss, native) = Run(ConvolutionPath.Native);
            var (unfoldLoss, unfolded) = Run(ConvolutionPath.Unfold);
            Assert.Equal(unfoldLoss, nativeLoss, 4);
            var names = net.named_parameters().Select(p => p.name).ToArray();
            // Relative to each parameter's own gradient, floored at 1e-3 of the largest: a bias whose channel a
            // GroupNorm of one channel per group removes has a gradient that is rounding noise on both paths.
            float largest = unfolded.Max(g => g.abs().max().item<float>());
            for (int i = 0; i < native.Length; i++)
            {
                double err = (native[i] - unfolded[i]).abs().max().item<float>() / System.Math.Max(unfolded[i].abs().max().item<float>(), 1e-3f * largest);
                Assert.True(err < 1e-4, $"{names[i]}: relative gradient difference {err}");
            }
        }
        finally { ConvolutionBackend.Path = saved; }
    }

    // oneDNN's convolutions gave wrong gradients (and once hung) on an AVX-512 machine: the library switches it off
    // for the process unless RDIFF_ONEDNN=1, so native conv2d is libtorch's own kernel.
    [Fact]
    public void OneDnnIsOffUnlessAskedFor()
    {
        TorchRuntime.EnsureConfigured();
        bool asked = Environment.GetEnvironmentVariable("RDIFF_ONEDNN") == "1";
        Assert.Equal(!asked, TorchRuntime.OneDnnEnabled == false);
        Assert.True(ConvolutionBackend.NativeGradientsAreRight(CPU) || asked);
    }

    // The first-use check itself: float32 native gradients measured against float64 on a tiny case.
    [Fact]
    public void GradientCheckMeasuresTheFloat32Error()
    {
        double err = ConvolutionBackend.GradientError(CPU, batch: 2, inChannels: 3, outChannels: 5, size: 6, kernel: 3, float32, seed: 3);
        Assert.True(err > 0 && err < 1e-3, $"float32 against float64: {err}");
        Assert.True(ConvolutionBackend.GradientError(CPU, batch: 2, inChannels: 3, outChannels: 5, size: 6, kernel: 3, float64, seed: 3) < 1e-12);
    }

    private static void CheckUNetInputGradients()
    {
        torch.random.manual_seed(5);
        var config = new ScoreNetworkConfig
        {
            Kind = NetworkKind.UNet, Channels = 1, Height = 8, Width = 8, Dimension = 64, BaseChannels = 8, ChannelMultipliers = [1, 2], EmbeddingDim = 8,
        };
        using var net = ScoreNetwork.Create(config);
        using var net64 = ScoreNetwork.Create(config);
        net64.load_state_dict(net.state_dict());
        net64.to(float64);
        for (int trial = 0; trial < 10; trial++)
        {
            using var scope = NewDisposeScope();
            var x = torch.rand(16, 64).requires_grad_(true);
            var sigma = torch.full(16, 0.3f);
            var up = torch.randn(16, 64);
            (net.forward(x, sigma, null) * up).sum().backward();
            var grad = x.grad!;
            Assert.True(torch.isfinite(grad).all().item<bool>(), $"trial {trial}: non-finite input gradient");
            var v = torch.randn(16, 64, dtype: float64);
            const double h = 1e-5;
            double fd;
            using (torch.no_grad())
            {
                var x64 = x.detach().to(float64);
                var s64 = sigma.to(float64);
                fd = ((net64.forward(x64 + h * v, s64, null) - net64.forward(x64 - h * v, s64, null)) * up.to(float64)).sum().item<double>() / (2 * h);
            }
            double analytic = (grad.to(float64) * v).sum().item<double>();
            Assert.True(System.Math.Abs(fd - analytic) <= 1e-3 * System.Math.Max(1, System.Math.Abs(fd)), $"trial {trial}: directional derivative {analytic} vs finite difference {fd}");
        }
    }
}
