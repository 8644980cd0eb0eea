using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Tests;

/// <summary>Exact mixtures used as ground truth, with components at faces and corners.</summary>
internal static class Oracles
{
    public static KernelMixture Box2 { get; } = new(
        new double[,] { { 0.0, 0.3 }, { 1.0, 1.0 }, { 0.6, 0.0 }, { 0.4, 0.7 } }, [0.05, 0.08, 0.04, 0.12], [1, 1, 1, 2]);

    public static KernelMixture Box8 { get; } = new(
        new double[,]
        {
            { 0.0, 0.3, 0.5, 1.0, 0.2, 0.9, 0.5, 0.0 },
            { 1.0, 1.0, 0.2, 0.0, 0.8, 0.1, 0.5, 0.6 },
            { 0.5, 0.0, 0.9, 0.5, 0.0, 0.5, 1.0, 0.3 },
        }, [0.06, 0.08, 0.1]);

    /// <summary>Two overlapping classes: class 0 has two modes near the bottom face, class 1 a broad one above them.</summary>
    public static KernelMixture Conditional2 { get; } = new(
        new double[,] { { 0.2, 0.25 }, { 0.85, 0.2 }, { 0.5, 0.6 } }, [0.1, 0.06, 0.15], classes: [0, 0, 1]);

    public static KernelMixture ByDimension(int d) => d == 2 ? Box2 : Box8;
}
