using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Networks;

/// <summary>
/// A score network s(x, sigma, label): rows of x in the unit box [B, d], noise levels sigma [B] or [B, 1],
/// optional labels [B] (int64; <see cref="NullLabel"/> means "no label"). Returns the score [B, d]; the raw output
/// is divided by sigma so that the network itself predicts a quantity of order one.
/// </summary>
public abstract class ScoreNetwork : nn.Module<Tensor, Tensor, Tensor?, Tensor>, IScoreFunction
{
    private readonly SigmaEmbedding _embedding;

    /// <summary>Builds the shared conditioning embedding.</summary>
    protected ScoreNetwork(string name, ScoreNetworkConfig config) : base(name)
    {
        TorchRuntime.EnsureConfigured();
        config.Validate();
        Config = config;
        _embedding = new SigmaEmbedding(config.EmbeddingDim, config.NumClasses);
    }

    /// <summary>The configuration this network was built from.</summary>
    public ScoreNetworkConfig Config { get; }

    /// <summary>The conditioning embedding (for the ONNX compiler, which reads layers by reference, not by name).</summary>
    internal SigmaEmbedding Embedding => _embedding;

    /// <inheritdoc />
    public int Dimension => Config.Dimension;

    /// <inheritdoc />
    public int NumClasses => Config.NumClasses;

    /// <inheritdoc />
    public ScalarType DType => parameters().FirstOrDefault()?.dtype ?? ScalarType.Float32;

    /// <inheritdoc />
    public Tensor Score(Tensor x, Tensor sigma, Tensor? labels) => forward(x, sigma, labels);

    /// <summary>The label index of the learned null token used for classifier-free guidance.</summary>
    public long NullLabel => Config.NumClasses;

    /// <summary>Builds the network a configuration describes, with fresh weights from torch's global generator.</summary>
    public static ScoreNetwork Create(ScoreNetworkConfig config) => config.Kind switch
    {
        NetworkKind.Mlp => new ResidualMlp(config),
        NetworkKind.UNet => new UNet(config),
        _ => throw new ArgumentOutOfRangeException(nameof(config), config.Kind, "Unknown network kind."),
    };

    /// <inheritdoc />
    public override Tensor forward(Tensor x, Tensor sigma, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        var s = sigma.reshape(-1, 1).to(x.dtype);
        if (Config.IsConditional && labels is null)
            labels = torch.full(x.shape[0], NullLabel, dtype: int64, device: x.device);
        var emb = _embedding.forward(s, Config.IsConditional ? labels : null);
        var raw = Raw(2 * x - 1, emb);
        if (Config.NeumannFaces) raw = raw * FaceMask(x, s);
        return (raw / s).MoveToOuterDisposeScope();
    }

    /// <summary>tanh(x / sigma) tanh((1 - x) / sigma): zero on the faces, odd across each, about one inside (see <see cref="ScoreNetworkConfig.NeumannFaces"/>).</summary>
    internal static Tensor FaceMask(Tensor x, Tensor sigma) => torch.tanh(x / sigma) * torch.tanh((1 - x) / sigma);

    /// <summary>The network body: centred input [B, d] and conditioning embedding [B, E] to the raw output [B, d].</summary>
    protected abstract Tensor Raw(Tensor centred, Tensor embedding);
}

/// <summary>Conditioning: sinusoidal features of log sigma through a small MLP, plus an optional label embedding.</summary>
internal sealed class SigmaEmbedding : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly int _dim;
    private readonly Linear _l1, _l2;
    private readonly Embedding? _labels;

    public SigmaEmbedding(int dim, int numClasses) : base(nameof(SigmaEmbedding))
    {
        _dim = dim;
        _l1 = nn.Linear(dim, dim);
        _l2 = nn.Linear(dim, dim);
        if (numClasses > 0) _labels = nn.Embedding(numClasses + 1, dim);
        RegisterComponents();
    }

    /// <summary>The first linear layer, on the sinusoidal features.</summary>
    internal Linear First => _l1;

    /// <summary>The second linear layer, after a SiLU.</summary>
    internal Linear Second => _l2;

    /// <summary>
    /// The label table [classes + 1, dim] (the last row is the null label); null for unconditional networks. The
    /// registered parameter, as parameters() yields it: TorchSharp's Embedding.weight wraps the native tensor anew
    /// on every call, so it could not be matched by reference.
    /// </summary>
    internal Parameter? LabelTable => _labels?.parameters().Single();

    /// <summary>Geometric frequencies over log sigma in [-10, 2]: from one period over the whole range to a few per unit.</summary>
    internal static Tensor Frequencies(int dim, ScalarType dtype, Device? device = null)
        => torch.exp(torch.linspace(System.Math.Log(0.25), System.Math.Log(32), dim / 2, dtype: dtype, device: device));

    public override Tensor forward(Tensor sigma, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        var frequencies = Frequencies(_dim, sigma.dtype, sigma.device);
        var phase = torch.log(sigma) * 0.25 * frequencies;
        var features = torch.cat([torch.sin(phase), torch.cos(phase)], 1);
        var e = _l2.forward(nn.functional.silu(_l1.forward(features)));
        if (_labels is not null && labels is not null)
            e = e + _labels.forward(labels);
        return e.MoveToOuterDisposeScope();
    }
}
