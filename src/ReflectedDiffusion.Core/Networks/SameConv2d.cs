using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Networks;

/// <summary>
/// A stride-1, same-padding 2-D convolution. It runs libtorch's own conv2d wherever
/// <see cref="ConvolutionBackend"/> finds that conv2d's float32 gradients right (always on CUDA), and otherwise
/// unfold (im2col) then one matrix product, whose backward is fold plus matrix products.
/// Initialised like torch's Conv2d: weights and bias uniform in +-1/sqrt(fan_in).
/// </summary>
/// <remarks>The weights keep the unfold layout [out, in * k * k] on both paths (a view of conv2d's
/// [out, in, k, k]), so checkpoints and the ONNX compiler do not depend on the path taken.</remarks>
public sealed class SameConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight, _bias;
    private readonly int _kernel, _inChannels;

    /// <summary>Creates the layer; <paramref name="kernel"/> must be odd.</summary>
    public SameConv2d(int inChannels, int outChannels, int kernel = 3) : base(nameof(SameConv2d))
    {
        if (kernel <= 0 || kernel % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "The kernel size must be odd.");
        _kernel = kernel;
        _inChannels = inChannels;
        int fanIn = inChannels * kernel * kernel;
        double bound = 1.0 / System.Math.Sqrt(fanIn);
        _weight = new Parameter(torch.empty(outChannels, fanIn).uniform_(-bound, bound));
        _bias = new Parameter(torch.empty(outChannels, 1).uniform_(-bound, bound));
        RegisterComponents();
    }

    /// <summary>Weights [out, in * k * k] (channel-major, then kernel rows and columns, as unfold lays them out).</summary>
    public Parameter Weight => _weight;

    /// <summary>Bias [out, 1].</summary>
    public Parameter Bias => _bias;

    /// <summary>The (odd) kernel size k; the layer pads by k / 2 on every side.</summary>
    public int Kernel => _kernel;

    /// <inheritdoc />
    public override Tensor forward(Tensor x) =>
        ConvolutionBackend.UsesNative(x.device) ? Native(x, _weight, _bias, _inChannels, _kernel) : Unfolded(x, _weight, _bias, _kernel);

    /// <summary>libtorch's conv2d with weights in the unfold layout.</summary>
    internal static Tensor Native(Tensor x, Tensor weight, Tensor bias, int inChannels, int kernel) =>
        nn.functional.conv2d(x, weight.view(weight.shape[0], inChannels, kernel, kernel), bias.view(-1), padding: [kernel / 2, kernel / 2]);

    /// <summary>The same convolution as unfold then a matrix product.</summary>
    internal static Tensor Unfolded(Tensor x, Tensor weight, Tensor bias, int kernel)
    {
        long b = x.shape[0], h = x.shape[2], w = x.shape[3];
        var cols = kernel == 1 ? x.reshape(b, x.shape[1], h * w) : nn.functional.unfold(x, kernel, padding: kernel / 2);
        var y = torch.matmul(weight, cols) + bias;
        return y.reshape(b, -1, h, w);
    }
}
