using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Evaluation;

/// <summary>Distances between sample sets.</summary>
public static class Metrics
{
    /// <summary>
    /// Sliced Wasserstein-1 distance between two equally sized point sets [N, d]: the mean over
    /// <paramref name="directions"/> random unit directions (from <paramref name="seed"/>) of the 1-D Wasserstein-1
    /// distance of the projections (mean absolute difference of the sorted projections).
    /// </summary>
    public static double SlicedWasserstein1(Tensor a, Tensor b, int directions = 128, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.dim() != 2 || b.dim() != 2 || a.shape[1] != b.shape[1])
            throw new ArgumentException("Both sets must be [N, d] with the same d.");
        if (a.shape[0] != b.shape[0]) throw new ArgumentException($"Both sets must have the same size ({a.shape[0]} vs {b.shape[0]}).");
        if (directions <= 0) throw new ArgumentOutOfRangeException(nameof(directions), directions, "At least one direction is needed.");
        using var scope = NewDisposeScope();
        using var gen = new Generator(seed);
        var dirs = torch.randn(a.shape[1], directions, dtype: float64, generator: gen);
        dirs = dirs / dirs.norm(0, true);
        var pa = torch.matmul(a.to(float64), dirs).sort(0).Values;
        var pb = torch.matmul(b.to(float64), dirs).sort(0).Values;
        return (pa - pb).abs().mean().item<double>();
    }
}
