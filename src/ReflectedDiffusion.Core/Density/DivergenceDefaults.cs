namespace ReflectedDiffusion.Density;

/// <summary>
/// The default choice between the exact divergence and Hutchinson's estimate, shared by <see cref="Likelihood"/>
/// (<see cref="DivergenceMethod.Auto"/>) and the compiled likelihood graphs: the exact trace costs one tangent per
/// feature, affordable for tabular data but not for images, where a few random probes give an unbiased estimate.
/// </summary>
public static class DivergenceDefaults
{
    /// <summary>Largest number of features that gets the exact trace by default.</summary>
    public const int ExactTraceMaxDimension = 64;
    /// <summary>Rademacher probes of Hutchinson's estimate in a compiled graph above <see cref="ExactTraceMaxDimension"/>.</summary>
    public const int HutchinsonProbes = 16;

    /// <summary>Whether rows of <paramref name="dimension"/> features get the exact trace, given the largest dimension that does.</summary>
    public static bool TakesExactTrace(int dimension, int exactTraceMaxDimension = ExactTraceMaxDimension) => dimension <= exactTraceMaxDimension;

    /// <summary>Probes for a compiled likelihood graph: 0 (the exact trace) up to <see cref="ExactTraceMaxDimension"/> features, <see cref="HutchinsonProbes"/> above.</summary>
    public static int ProbesFor(int dimension) => TakesExactTrace(dimension) ? 0 : HutchinsonProbes;
}
