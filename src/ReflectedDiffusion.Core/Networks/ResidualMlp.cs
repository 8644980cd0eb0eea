using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Networks;

/// <summary>
/// Residual MLP score network for feature vectors: h = W_in x; per block h += W2 silu(W1 silu(h) + W_e e);
/// out = W_out silu(h). Only Linear, SiLU and sums, whose forward-mode tangents are simple.
/// </summary>
public sealed class ResidualMlp : ScoreNetwork
{
    private readonly Linear _input, _output;
    private readonly ModuleList<MlpBlock> _blocks;

    /// <summary>Builds the network from its configuration.</summary>
    public ResidualMlp(ScoreNetworkConfig config) : base(nameof(ResidualMlp), config)
    {
        _input = nn.Linear(config.Dimension, config.HiddenWidth);
        _blocks = new ModuleList<MlpBlock>(Enumerable.Range(0, config.Blocks).Select(_ => new MlpBlock(config.HiddenWidth, config.EmbeddingDim)).ToArray());
        _output = nn.Linear(config.HiddenWidth, config.Dimension);
        RegisterComponents();
    }

    /// <summary>W_in: the input to the hidden width.</summary>
    internal Linear InputLayer => _input;

    /// <summary>The residual blocks, in order.</summary>
    internal IReadOnlyList<MlpBlock> Blocks => _blocks.AsReadOnly();

    /// <summary>W_out: the hidden width back to the input.</summary>
    internal Linear OutputLayer => _output;

    /// <inheritdoc />
    protected override Tensor Raw(Tensor centred, Tensor embedding)
    {
        var h = _input.forward(centred);
        var e = nn.functional.silu(embedding);
        foreach (var block in _blocks) h = block.forward(h, e);
        return _output.forward(nn.functional.silu(h));
    }
}

internal sealed class MlpBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear _l1, _l2, _emb;

    public MlpBlock(int width, int embeddingDim) : base(nameof(MlpBlock))
    {
        _l1 = nn.Linear(width, width);
        _l2 = nn.Linear(width, width);
        _emb = nn.Linear(embeddingDim, width);
        RegisterComponents();
    }

    /// <summary>W1, on silu(h).</summary>
    internal Linear First => _l1;

    /// <summary>W2, on silu(W1 silu(h) + W_e e); its output is added to h.</summary>
    internal Linear Second => _l2;

    /// <summary>W_e, on the activated embedding.</summary>
    internal Linear EmbeddingProjection => _emb;

    public override Tensor forward(Tensor h, Tensor e)
        => h + _l2.forward(nn.functional.silu(_l1.forward(nn.functional.silu(h)) + _emb.forward(e)));
}
