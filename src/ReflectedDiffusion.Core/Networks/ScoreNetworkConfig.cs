namespace ReflectedDiffusion.Networks;

/// <summary>Which score network architecture to build.</summary>
public enum NetworkKind
{
    /// <summary>A residual multilayer perceptron for feature vectors.</summary>
    Mlp,
    /// <summary>A small U-Net for images (rows are flattened channel-major images).</summary>
    UNet,
}

/// <summary>
/// Everything needed to rebuild a score network (weights aside). Plain data, so it can be stored next to
/// the weights in checkpoints and model files.
/// </summary>
public sealed record ScoreNetworkConfig
{
    /// <summary>Architecture.</summary>
    public NetworkKind Kind { get; init; } = NetworkKind.Mlp;
    /// <summary>Number of input features d (for images: channels * height * width).</summary>
    public int Dimension { get; init; }
    /// <summary>Number of classes for conditional models; 0 for an unconditional model. Index <c>NumClasses</c> is the learned null token.</summary>
    public int NumClasses { get; init; }
    /// <summary>Width of the sigma (and label) embedding.</summary>
    public int EmbeddingDim { get; init; } = 128;

    /// <summary>
    /// Multiplies the raw output, coordinate by coordinate, by tanh(x / sigma) tanh((1 - x) / sigma) (x in the unit
    /// box), so the score's normal component is zero on every face, as the reflected process's score is (its density
    /// meets the Neumann condition there). The probability-flow ODE then never leaves the box: its likelihood is a
    /// normalised density without folding and converges at the solver's order. Off by default (experimental: it fits
    /// training rows more closely and needs its own SigmaMin; docs/performance.md). Models stored without it read as off.
    /// </summary>
    public bool NeumannFaces { get; init; }

    /// <summary>MLP: hidden width.</summary>
    public int HiddenWidth { get; init; } = 256;
    /// <summary>MLP: number of residual blocks.</summary>
    public int Blocks { get; init; } = 3;

    /// <summary>U-Net: image channels (1 or 3).</summary>
    public int Channels { get; init; } = 1;
    /// <summary>U-Net: image height.</summary>
    public int Height { get; init; }
    /// <summary>U-Net: image width.</summary>
    public int Width { get; init; }
    /// <summary>U-Net: channels at the first level.</summary>
    public int BaseChannels { get; init; } = 32;
    /// <summary>U-Net: channel multiplier per level; each level after the first halves the resolution.</summary>
    public int[] ChannelMultipliers { get; init; } = [1, 2, 2];
    /// <summary>U-Net: residual blocks per level.</summary>
    public int ResBlocksPerLevel { get; init; } = 1;

    /// <summary>
    /// U-Net channel multipliers for an image size: up to [1, 2, 2], one level more for each time both sides halve
    /// evenly (8x8 and 28x28: three levels; 6x6: two; odd sizes: one).
    /// </summary>
    public static int[] ChannelMultipliersFor(int height, int width)
    {
        int levels = 1;
        while (levels < 3 && height % (1 << levels) == 0 && width % (1 << levels) == 0) levels++;
        return [.. new[] { 1, 2, 2 }.Take(levels)];
    }

    /// <summary>True when the network takes a label input.</summary>
    public bool IsConditional => NumClasses > 0;

    /// <summary>Throws naming the first setting that cannot build a network.</summary>
    public void Validate()
    {
        if (NumClasses < 0) throw new ArgumentOutOfRangeException(nameof(NumClasses), NumClasses, "NumClasses must be 0 (unconditional) or positive.");
        if (EmbeddingDim < 2 || EmbeddingDim % 2 != 0) throw new ArgumentOutOfRangeException(nameof(EmbeddingDim), EmbeddingDim, "EmbeddingDim must be an even number of at least 2.");
        switch (Kind)
        {
            case NetworkKind.Mlp:
                if (Dimension <= 0) throw new ArgumentOutOfRangeException(nameof(Dimension), Dimension, "Dimension must be positive.");
                if (HiddenWidth <= 0) throw new ArgumentOutOfRangeException(nameof(HiddenWidth), HiddenWidth, "HiddenWidth must be positive.");
                if (Blocks < 0) throw new ArgumentOutOfRangeException(nameof(Blocks), Blocks, "Blocks must not be negative.");
                break;
            case NetworkKind.UNet:
                if (Channels <= 0 || Height <= 0 || Width <= 0)
                    throw new ArgumentOutOfRangeException(nameof(Height), $"Image shape {Channels}x{Height}x{Width} must be positive.");
                if (Dimension != Channels * Height * Width)
                    throw new ArgumentOutOfRangeException(nameof(Dimension), Dimension, $"Dimension must equal Channels*Height*Width = {Channels * Height * Width}.");
                if (BaseChannels <= 0 || ChannelMultipliers.Length == 0 || ChannelMultipliers.Any(m => m <= 0))
                    throw new ArgumentOutOfRangeException(nameof(ChannelMultipliers), "BaseChannels and every channel multiplier must be positive.");
                int factor = 1 << (ChannelMultipliers.Length - 1);
                if (Height % factor != 0 || Width % factor != 0)
                    throw new ArgumentOutOfRangeException(nameof(ChannelMultipliers), $"{ChannelMultipliers.Length} levels halve the image {ChannelMultipliers.Length - 1} times; {Height}x{Width} is not divisible by {factor}.");
                if (ResBlocksPerLevel <= 0) throw new ArgumentOutOfRangeException(nameof(ResBlocksPerLevel), ResBlocksPerLevel, "ResBlocksPerLevel must be positive.");
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Unknown network kind.");
        }
    }
}
