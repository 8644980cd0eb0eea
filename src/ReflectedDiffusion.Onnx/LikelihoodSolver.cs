namespace ReflectedDiffusion.Onnx;

/// <summary>
/// How a compiled likelihood graph integrates the probability-flow ODE: classical RK4 with a fixed number of steps
/// (<see cref="Rk4"/>), or adaptive Dormand-Prince 5(4) with error control (<see cref="Adaptive"/>).
/// </summary>
public sealed record LikelihoodSolver
{
    /// <summary>The largest number of adaptive iterations (accepted and rejected steps) a graph takes by default.</summary>
    public const int DefaultMaxSteps = 2000;

    private LikelihoodSolver(int? steps, double? tolerance, int maxSteps) => (Steps, Tolerance, MaxSteps) = (steps, tolerance, maxSteps);

    /// <summary>Fixed RK4 steps on a uniform t grid; null for the adaptive solver.</summary>
    public int? Steps { get; }
    /// <summary>Relative and absolute tolerance of the adaptive solver (as scipy's rtol = atol); null for fixed RK4.</summary>
    public double? Tolerance { get; }
    /// <summary>Iteration limit of the adaptive solver: a row that has not reached t = 1 by then scores NaN.</summary>
    public int MaxSteps { get; }

    /// <summary>Classical RK4 with <paramref name="steps"/> uniform steps in t (4 network evaluations each).</summary>
    public static LikelihoodSolver Rk4(int steps)
        => steps > 0 ? new(steps, null, steps) : throw new ArgumentOutOfRangeException(nameof(steps), steps, "Steps must be positive.");

    /// <summary>
    /// Dormand-Prince 5(4) with first-same-as-last stages (6 network evaluations per step) and a step size per row,
    /// error-controlled with relative and absolute <paramref name="tolerance"/> on the position and on the divergence
    /// integral per feature (see the graph's Dopri5Graph.Integrate).
    /// </summary>
    public static LikelihoodSolver Adaptive(double tolerance, int maxSteps = DefaultMaxSteps)
    {
        if (!(tolerance > 0) || !double.IsFinite(tolerance)) throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "The tolerance must be positive and finite.");
        if (maxSteps <= 0) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "The step limit must be positive.");
        return new(null, tolerance, maxSteps);
    }

    /// <inheritdoc />
    public override string ToString() => Steps is { } s ? $"RK4, {s} steps" : $"adaptive Dormand-Prince, tolerance {Tolerance:G3}";
}
