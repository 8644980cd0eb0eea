using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Networks;

/// <summary>
/// A stride-1, same-padding 2-D convolution computed as unfold (im2col) then one matrix product. Its backward is
/// fold plus matrix products. libtorch-cpu 2.10's own float32 conv2d backward returns wrong input gradients on
/// these machines (oneDNN path: always wrong with one thread, intermittently NaN with two; float64 is right),
/// and with oneDNN switched off it is several times slower than this layer.
/// Initialised like torch's Conv2d: weights and bias uniform in +-1/sqrt(fan_in).
/// </summary>
public sealed class Im2ColConv2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter _weight, _bias;
    private readonly int _kernel;

    /// <summary>Creates the layer; <paramref name="kernel"/> must be odd.</summary>
    public Im2ColConv2d(int inChannels, int outChannels, int kernel = 3) : base(nameof(Im2ColConv2d))
    {
        if (kernel <= 0 || kernel % 2 == 0) throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "The kernel size must be odd.");
        _kernel = kernel;
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
    public override Tensor forward(Tensor x)
    {
        long b = x.shape[0], h = x.shape[2], w = x.shape[3];
        var cols = _kernel == 1 ? x.reshape(b, x.shape[1], h * w) : nn.functional.unfold(x, _kernel, padding: _kernel / 2);
        var y = torch.matmul(_weight, cols) + _bias;
        return y.reshape(b, -1, h, w);
    }
}
