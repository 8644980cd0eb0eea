namespace ReflectedDiffusion.Density;

/// <summary>How the divergence of the probability-flow velocity is computed.</summary>
public enum DivergenceMethod
{
    /// <summary>Exact trace up to <see cref="LikelihoodOptions.ExactTraceMaxDimension"/> dimensions, Hutchinson above.</summary>
    Auto,
    /// <summary>Exact trace: d vector-Jacobian products in one batched backward pass.</summary>
    Exact,
    /// <summary>Hutchinson's unbiased estimate eps^T J eps, Rademacher eps fixed per row along the trajectory.</summary>
    Hutchinson,
}

/// <summary>Settings of likelihood evaluation.</summary>
public sealed class LikelihoodOptions
{
    /// <summary>ODE relative tolerance.</summary>
    public double RelativeTolerance { get; set; } = 1e-5;
    /// <summary>ODE absolute tolerance.</summary>
    public double AbsoluteTolerance { get; set; } = 1e-5;
    /// <summary>Divergence method.</summary>
    public DivergenceMethod Divergence { get; set; } = DivergenceMethod.Auto;
    /// <summary>Largest dimension for which <see cref="DivergenceMethod.Auto"/> takes the exact trace.</summary>
    public int ExactTraceMaxDimension { get; set; } = DivergenceDefaults.ExactTraceMaxDimension;
    /// <summary>Seed of the Hutchinson probes (row i uses the row seed of (Seed, i)).</summary>
    public ulong Seed { get; set; }
    /// <summary>
    /// Fold the ODE state back into the box after every accepted step, as the samplers do. The exact reflected flow
    /// never leaves the box (zero normal velocity at the faces); a learned score only nearly satisfies that, and
    /// unfolded flows of rows unlike the training data can run off and diverge (large positive log-likelihoods).
    /// A fold is a reflection (|det| = 1), so the divergence integral needs no correction; but folding at step ends
    /// is only first-order accurate where a flow touches a face, so results then depend more on the step sizes.
    /// Off by default, as in the reference.
    /// </summary>
    public bool FoldIntoBox { get; set; }
    /// <summary>Rows integrated together (results do not depend on it).</summary>
    public int BatchSize { get; set; } = 1024;
    /// <summary>Classifier-free guidance weight for conditional likelihoods.</summary>
    public double Guidance { get; set; }
    /// <summary>Data are dequantised bytes scaled to [0,1]: bits per dimension then count the 8 bits of the byte grid.</summary>
    public bool ByteData { get; set; }
    /// <summary>Called after every solver iteration with (iteration, mean time of the active rows).</summary>
    public Action<int, double>? Callback { get; set; }
    /// <summary>Cancels between solver iterations.</summary>
    public CancellationToken CancellationToken { get; set; }

    // The method for rows of `dimension` features: Divergence, with Auto resolved by ExactTraceMaxDimension.
    internal DivergenceMethod MethodFor(int dimension)
        => Divergence != DivergenceMethod.Auto ? Divergence
            : DivergenceDefaults.TakesExactTrace(dimension, ExactTraceMaxDimension) ? DivergenceMethod.Exact : DivergenceMethod.Hutchinson;

    /// <summary>Throws naming the first option out of range.</summary>
    public void Validate()
    {
        if (!(RelativeTolerance > 0)) throw new ArgumentOutOfRangeException(nameof(RelativeTolerance), RelativeTolerance, "RelativeTolerance must be positive.");
        if (!(AbsoluteTolerance > 0)) throw new ArgumentOutOfRangeException(nameof(AbsoluteTolerance), AbsoluteTolerance, "AbsoluteTolerance must be positive.");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be positive.");
        if (ExactTraceMaxDimension < 0) throw new ArgumentOutOfRangeException(nameof(ExactTraceMaxDimension), ExactTraceMaxDimension, "ExactTraceMaxDimension must not be negative.");
        if (!double.IsFinite(Guidance)) throw new ArgumentOutOfRangeException(nameof(Guidance), Guidance, "Guidance must be finite.");
    }
}
