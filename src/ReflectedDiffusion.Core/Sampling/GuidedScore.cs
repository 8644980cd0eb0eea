using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sampling;

/// <summary>
/// Classifier-free guidance: s_w = (1 + w) s(x, c) - w s(x, null), both halves evaluated in one batch with the
/// model's own null label (the one training used for dropped labels). Rows whose label is the null label get the
/// unconditional score. With w = 0 or no labels it is the model's score unchanged.
/// </summary>
public sealed class GuidedScore : IScoreFunction
{
    /// <summary>Wraps <paramref name="model"/> with guidance weight <paramref name="weight"/>.</summary>
    public GuidedScore(IScoreFunction model, double weight)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        if (!double.IsFinite(weight)) throw new ArgumentOutOfRangeException(nameof(weight), weight, "The guidance weight must be finite.");
        Weight = weight;
    }

    /// <summary>The conditional model.</summary>
    public IScoreFunction Model { get; }
    /// <summary>Guidance weight w (0: plain conditional sampling).</summary>
    public double Weight { get; }
    /// <inheritdoc />
    public int Dimension => Model.Dimension;
    /// <inheritdoc />
    public int NumClasses => Model.NumClasses;
    /// <inheritdoc />
    public ScalarType DType => Model.DType;

    /// <inheritdoc />
    public Tensor Score(Tensor x, Tensor sigma, Tensor? labels)
    {
        if (labels is null || Weight == 0 || Model.NumClasses == 0) return Model.Score(x, sigma, labels);
        using var scope = NewDisposeScope();
        long b = x.shape[0];
        var nulls = torch.full_like(labels, Model.NumClasses);
        var both = Model.Score(torch.cat([x, x]), torch.cat([sigma.reshape(-1).expand(b), sigma.reshape(-1).expand(b)]), torch.cat([labels, nulls]));
        var conditional = both.narrow(0, 0, b);
        var unconditional = both.narrow(0, b, b);
        return ((1 + Weight) * conditional - Weight * unconditional).MoveToOuterDisposeScope();
    }
}
