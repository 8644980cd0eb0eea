namespace ReflectedDiffusion.Sampling;

/// <summary>The samplers of a trained (or exact) reflected score.</summary>
public enum SamplerKind
{
    /// <summary>Reverse reflected SDE, Euler-Maruyama with a fold after every step and a noise-free last step.</summary>
    ReflectedSde,
    /// <summary>Reflected Euler-Maruyama predictor with reflected Langevin corrector steps.</summary>
    PredictorCorrector,
    /// <summary>Probability-flow ODE, adaptive Dormand-Prince RK45 with a step size per sample.</summary>
    OdeAdaptive,
    /// <summary>Probability-flow ODE, fixed-step Heun on a geometric sigma grid (uniform in t).</summary>
    OdeHeun,
}

/// <summary>One step of a sampler, for progress callbacks.</summary>
/// <param name="Step">Steps (or solver iterations) done in the current batch.</param>
/// <param name="TotalSteps">Steps in the batch; -1 for adaptive solvers.</param>
/// <param name="Time">Current diffusion time t in [0, 1] (mean over active rows for adaptive solvers).</param>
/// <param name="RowsDone">Rows finished before the current batch.</param>
public readonly record struct SamplerStep(int Step, int TotalSteps, double Time, long RowsDone);

/// <summary>Settings of sampling. Every sample depends only on (Seed, its index, label): never on the batch size.</summary>
public sealed class SamplerOptions
{
    /// <summary>Steps of the fixed-step samplers (SDE, predictor-corrector, Heun).</summary>
    public int Steps { get; set; } = 500;
    /// <summary>Seed: sample i uses the row seed derived from (Seed, FirstRow + i).</summary>
    public ulong Seed { get; set; }
    /// <summary>
    /// Index of the first sample in its run: a call for rows [FirstRow, FirstRow + count) gives exactly those rows of
    /// one call for them all, so a run can be split into shards with no coordination.
    /// </summary>
    public long FirstRow { get; set; }
    /// <summary>Rows integrated together (memory versus speed; results do not depend on it).</summary>
    public int BatchSize { get; set; } = 4096;
    /// <summary>Classifier-free guidance weight w (0: plain conditional or unconditional sampling).</summary>
    public double Guidance { get; set; }
    /// <summary>Predictor-corrector: Langevin signal-to-noise ratio (the reference's 0.01).</summary>
    public double SignalToNoise { get; set; } = 0.01;
    /// <summary>Predictor-corrector: corrector steps per predictor step.</summary>
    public int CorrectorSteps { get; set; } = 1;
    /// <summary>Adaptive ODE: relative tolerance.</summary>
    public double RelativeTolerance { get; set; } = 1e-5;
    /// <summary>Adaptive ODE: absolute tolerance.</summary>
    public double AbsoluteTolerance { get; set; } = 1e-5;
    /// <summary>ODE samplers: start from U[0.01, 0.99]^d instead of U[0, 1]^d (the reference's choice).</summary>
    public bool InteriorStart { get; set; }
    /// <summary>ODE samplers: multiply the velocity by a bump that is 1 inside and 0 at the faces (the reference's choice).</summary>
    public bool BoundaryBump { get; set; }
    /// <summary>Called after every step.</summary>
    public Action<SamplerStep>? Callback { get; set; }
    /// <summary>Cancels between steps.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Throws naming the first option out of range.</summary>
    public void Validate()
    {
        if (Steps <= 0) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "Steps must be positive.");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be positive.");
        if (FirstRow < 0) throw new ArgumentOutOfRangeException(nameof(FirstRow), FirstRow, "FirstRow must not be negative.");
        if (!double.IsFinite(Guidance)) throw new ArgumentOutOfRangeException(nameof(Guidance), Guidance, "Guidance must be finite.");
        if (!(SignalToNoise > 0)) throw new ArgumentOutOfRangeException(nameof(SignalToNoise), SignalToNoise, "SignalToNoise must be positive.");
        if (CorrectorSteps < 0) throw new ArgumentOutOfRangeException(nameof(CorrectorSteps), CorrectorSteps, "CorrectorSteps must not be negative.");
        if (!(RelativeTolerance > 0)) throw new ArgumentOutOfRangeException(nameof(RelativeTolerance), RelativeTolerance, "RelativeTolerance must be positive.");
        if (!(AbsoluteTolerance > 0)) throw new ArgumentOutOfRangeException(nameof(AbsoluteTolerance), AbsoluteTolerance, "AbsoluteTolerance must be positive.");
    }
}

/// <summary>Samples in the unit box [N, d] (float32) and the score evaluations spent per sample.</summary>
public sealed record SamplingResult(TorchSharp.torch.Tensor Samples, double EvaluationsPerSample);
