using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion;

/// <summary>
/// A score of the noised data density on the unit box: s(x, sigma, label) = d/dx log p_sigma(x | label).
/// Samplers, likelihoods and losses take this, so they run on a trained network or on an exact score.
/// </summary>
public interface IScoreFunction
{
    /// <summary>Number of features d.</summary>
    int Dimension { get; }

    /// <summary>Number of classes for a conditional score (labels in [0, NumClasses), NumClasses = the null label); 0 when unconditional.</summary>
    int NumClasses { get; }

    /// <summary>The floating dtype the score wants its inputs in (float32 for networks, float64 for exact scores).</summary>
    ScalarType DType { get; }

    /// <summary>The score at x [B, d] and noise levels sigma [B]; labels [B] (int64) or null for the unconditional score.</summary>
    Tensor Score(Tensor x, Tensor sigma, Tensor? labels);
}
