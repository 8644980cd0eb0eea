using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Networks;

/// <summary>
/// A small U-Net score network for images: residual blocks (GroupNorm, SiLU, 3x3 convolutions, an added
/// embedding), average-pool down, nearest up, and skip connections. Rows are flattened channel-major images.
/// No attention, so every layer has a simple forward-mode tangent.
/// </summary>
public sealed class UNet : ScoreNetwork
{
    private readonly SameConv2d _stem, _head;
    private readonly GroupNorm _headNorm;
    private readonly ModuleList<ResBlock> _down, _middle, _up;
    private readonly int[] _levelOfDown, _levelOfUp;

    /// <summary>Builds the network from its configuration.</summary>
    public UNet(ScoreNetworkConfig config) : base(nameof(UNet), config)
    {
        int levels = config.ChannelMultipliers.Length;
        int[] ch = config.ChannelMultipliers.Select(m => m * config.BaseChannels).ToArray();
        _stem = new SameConv2d(config.Channels, config.BaseChannels);

        // Down path: every block output (and the stem) is kept as a skip.
        var down = new List<ResBlock>(); var downLevels = new List<int>();
        var skipChannels = new Stack<int>(); skipChannels.Push(config.BaseChannels);
        int c = config.BaseChannels;
        for (int l = 0; l < levels; l++)
        {
            for (int b = 0; b < config.ResBlocksPerLevel; b++)
            {
                down.Add(new ResBlock(c, ch[l], config.EmbeddingDim)); downLevels.Add(l);
                c = ch[l]; skipChannels.Push(c);
            }
        }
        _middle = new ModuleList<ResBlock>(new ResBlock(c, c, config.EmbeddingDim), new ResBlock(c, c, config.EmbeddingDim));

        // Up path: one more block per level than down, each eating one skip.
        var up = new List<ResBlock>(); var upLevels = new List<int>();
        for (int l = levels - 1; l >= 0; l--)
        {
            for (int b = 0; b < config.ResBlocksPerLevel + (l == 0 ? 1 : 0); b++)
            {
                up.Add(new ResBlock(c + skipChannels.Pop(), ch[l], config.EmbeddingDim)); upLevels.Add(l);
                c = ch[l];
            }
        }
        _down = new ModuleList<ResBlock>(down.ToArray());
        _up = new ModuleList<ResBlock>(up.ToArray());
        _levelOfDown = downLevels.ToArray();
        _levelOfUp = upLevels.ToArray();
        _headNorm = ResBlock.Norm(c);
        _head = new SameConv2d(c, config.Channels);
        RegisterComponents();
    }

    /// <summary>The first convolution, image channels to base channels.</summary>
    internal SameConv2d Stem => _stem;

    /// <summary>The down-path blocks; a new level (after a 2x2 average pool) starts every ResBlocksPerLevel blocks.</summary>
    internal IReadOnlyList<ResBlock> Down => _down.AsReadOnly();

    /// <summary>The two blocks at the lowest resolution.</summary>
    internal IReadOnlyList<ResBlock> Middle => _middle.AsReadOnly();

    /// <summary>The up-path blocks, each on its input concatenated with one skip.</summary>
    internal IReadOnlyList<ResBlock> Up => _up.AsReadOnly();

    /// <summary>The GroupNorm before the head.</summary>
    internal GroupNorm HeadNorm => _headNorm;

    /// <summary>The last convolution, back to image channels.</summary>
    internal SameConv2d Head => _head;

    /// <inheritdoc />
    protected override Tensor Raw(Tensor centred, Tensor embedding)
    {
        var cfg = Config;
        var h = _stem.forward(centred.reshape(-1, cfg.Channels, cfg.Height, cfg.Width));
        var skips = new Stack<Tensor>();
        skips.Push(h);
        for (int i = 0; i < _down.Count; i++)
        {
            if (i > 0 && _levelOfDown[i] != _levelOfDown[i - 1]) h = nn.functional.avg_pool2d(h, 2);
            h = _down[i].forward(h, embedding);
            skips.Push(h);
        }
        foreach (var block in _middle) h = block.forward(h, embedding);
        for (int i = 0; i < _up.Count; i++)
        {
            var skip = skips.Pop();
            if (skip.shape[2] != h.shape[2]) h = nn.functional.interpolate(h, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
            h = _up[i].forward(torch.cat([h, skip], 1), embedding);
        }
        var o = _head.forward(nn.functional.silu(_headNorm.forward(h)));
        return o.reshape(-1, cfg.Dimension);
    }
}

/// <summary>GroupNorm, SiLU, conv, plus the projected embedding, GroupNorm, SiLU, conv; 1x1 skip when channels change.</summary>
internal sealed class ResBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly GroupNorm _n1, _n2;
    private readonly SameConv2d _c1, _c2;
    private readonly SameConv2d? _skip;
    private readonly Linear _emb;

    public ResBlock(int inChannels, int outChannels, int embeddingDim) : base(nameof(ResBlock))
    {
        _n1 = Norm(inChannels);
        _c1 = new SameConv2d(inChannels, outChannels);
        _emb = nn.Linear(embeddingDim, outChannels);
        _n2 = Norm(outChannels);
        _c2 = new SameConv2d(outChannels, outChannels);
        if (inChannels != outChannels) _skip = new SameConv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <summary>GroupNorm on the block input.</summary>
    internal GroupNorm FirstNorm => _n1;

    /// <summary>The first 3x3 convolution.</summary>
    internal SameConv2d FirstConv => _c1;

    /// <summary>Projects the activated embedding to a per-channel shift.</summary>
    internal Linear EmbeddingProjection => _emb;

    /// <summary>GroupNorm after the shift.</summary>
    internal GroupNorm SecondNorm => _n2;

    /// <summary>The second 3x3 convolution.</summary>
    internal SameConv2d SecondConv => _c2;

    /// <summary>The 1x1 convolution on the residual path when the channel count changes; null otherwise.</summary>
    internal SameConv2d? SkipConv => _skip;

    /// <summary>
    /// GroupNorm with its affine parameters set explicitly to (1, 0): TorchSharp 0.107's GroupNorm can leave them
    /// uninitialised (seen as NaN weights).
    /// </summary>
    public static GroupNorm Norm(int channels)
    {
        var norm = nn.GroupNorm(Groups(channels), channels, NormEpsilon);
        using var _ = torch.no_grad();
        norm.weight!.fill_(1);
        norm.bias!.fill_(0);
        return norm;
    }

    /// <summary>The variance floor of every GroupNorm (torch's default).</summary>
    public const double NormEpsilon = 1e-5;

    /// <summary>Largest of 8, 4, 2, 1 groups that divides the channel count.</summary>
    public static int Groups(int channels) => new[] { 8, 4, 2, 1 }.First(g => channels % g == 0);

    public override Tensor forward(Tensor x, Tensor e)
    {
        var h = _c1.forward(nn.functional.silu(_n1.forward(x)));
        h = h + _emb.forward(nn.functional.silu(e)).unsqueeze(-1).unsqueeze(-1);
        h = _c2.forward(nn.functional.silu(_n2.forward(h)));
        return h + (_skip is null ? x : _skip.forward(x));
    }
}
