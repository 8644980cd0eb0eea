using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Training;

/// <summary>How the denoising loss is weighted over noise levels.</summary>
public enum LossWeighting
{
    /// <summary>lambda = sigma^2 (the reference's default; good samples).</summary>
    Sigma2,
    /// <summary>lambda = g(t)^2, which makes the loss a bound on the negative log-likelihood (better likelihoods).</summary>
    Likelihood,
}

/// <summary>Which forward process the score is trained for.</summary>
public enum DiffusionProcess
{
    /// <summary>The reflected VE SDE on the box (this library's model).</summary>
    Reflected,
    /// <summary>The standard, unreflected VE SDE with a Gaussian kernel: only for the thresholding baselines.</summary>
    Standard,
}

/// <summary>How the per-sample loss is reduced over dimensions.</summary>
public enum LossReduction
{
    /// <summary>0.5 * sum over dimensions (the reference; the likelihood bound's scale).</summary>
    HalfSum,
    /// <summary>Mean over dimensions (a loss whose scale does not grow with d).</summary>
    Mean,
}

/// <summary>One progress report of <see cref="ScoreTrainer"/>.</summary>
/// <param name="Step">Steps completed so far.</param>
/// <param name="TotalSteps">Steps the run will take.</param>
/// <param name="Loss">Training loss of the last step.</param>
/// <param name="SamplesPerSecond">Training throughput since the previous report.</param>
public readonly record struct TrainingProgress(long Step, long TotalSteps, double Loss, double SamplesPerSecond);

/// <summary>Settings of a training run. Defaults follow the reference, scaled to short CPU runs.</summary>
public sealed class TrainerOptions
{
    /// <summary>Number of optimisation steps.</summary>
    public long Steps { get; set; } = 2000;
    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; set; } = 256;
    /// <summary>Peak Adam learning rate.</summary>
    public double LearningRate { get; set; } = 2e-4;
    /// <summary>Steps of linear learning-rate warm-up.</summary>
    public long WarmupSteps { get; set; } = 100;
    /// <summary>Adam beta1.</summary>
    public double Beta1 { get; set; } = 0.9;
    /// <summary>Adam beta2.</summary>
    public double Beta2 { get; set; } = 0.999;
    /// <summary>Adam epsilon.</summary>
    public double AdamEpsilon { get; set; } = 1e-8;
    /// <summary>Global gradient-norm clip; 0 or less disables clipping.</summary>
    public double GradientClipNorm { get; set; } = 1.0;
    /// <summary>Largest EMA decay; the decay at step n is min(this, (1 + n) / (10 + n)).</summary>
    public double EmaDecay { get; set; } = 0.999;
    /// <summary>Loss weighting over noise levels.</summary>
    public LossWeighting Weighting { get; set; } = LossWeighting.Sigma2;
    /// <summary>Loss-aware importance sampling of t (a variance reduction; used with either weighting, unbiased).</summary>
    public bool ImportanceSampling { get; set; }
    /// <summary>Forward process: reflected (default) or the standard Gaussian one for thresholding baselines.</summary>
    public DiffusionProcess Process { get; set; } = DiffusionProcess.Reflected;
    /// <summary>Reduction of the per-sample loss over dimensions.</summary>
    public LossReduction Reduction { get; set; } = LossReduction.HalfSum;
    /// <summary>Smallest training time t (the reference uses 1e-5).</summary>
    public double MinTime { get; set; } = 1e-5;
    /// <summary>Probability of replacing a label with the null token (classifier-free guidance); used only for conditional models.</summary>
    public double LabelDropout { get; set; } = 0.2;
    /// <summary>Seed of the run: initial weights, batches, noise and dropout all derive from it.</summary>
    public ulong Seed { get; set; } = 1;
    /// <summary>Torch device, e.g. "cpu" or "cuda:0".</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>Progress callback, called every <see cref="ProgressInterval"/> steps and at the end.</summary>
    public Action<TrainingProgress>? Progress { get; set; }
    /// <summary>Steps between progress reports.</summary>
    public long ProgressInterval { get; set; } = 100;
    /// <summary>When set, a checkpoint is written here every <see cref="CheckpointInterval"/> steps and at the end.</summary>
    public string? CheckpointPath { get; set; }
    /// <summary>Steps between checkpoints.</summary>
    public long CheckpointInterval { get; set; } = 1000;
    /// <summary>Cancels training between steps (<see cref="OperationCanceledException"/>; the last checkpoint stays valid).</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Throws naming the first option that is out of range.</summary>
    public void Validate()
    {
        if (Steps <= 0) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "Steps must be positive.");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be positive.");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be a positive finite number.");
        if (WarmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "WarmupSteps must not be negative.");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "Beta1 must lie in [0, 1).");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "Beta2 must lie in [0, 1).");
        if (!(AdamEpsilon > 0)) throw new ArgumentOutOfRangeException(nameof(AdamEpsilon), AdamEpsilon, "AdamEpsilon must be positive.");
        if (!(EmaDecay >= 0 && EmaDecay < 1)) throw new ArgumentOutOfRangeException(nameof(EmaDecay), EmaDecay, "EmaDecay must lie in [0, 1).");
        if (!(MinTime > 0 && MinTime < 1)) throw new ArgumentOutOfRangeException(nameof(MinTime), MinTime, "MinTime must lie in (0, 1).");
        if (!(LabelDropout >= 0 && LabelDropout < 1)) throw new ArgumentOutOfRangeException(nameof(LabelDropout), LabelDropout, "LabelDropout must lie in [0, 1).");
        if (ProgressInterval <= 0) throw new ArgumentOutOfRangeException(nameof(ProgressInterval), ProgressInterval, "ProgressInterval must be positive.");
        if (CheckpointInterval <= 0) throw new ArgumentOutOfRangeException(nameof(CheckpointInterval), CheckpointInterval, "CheckpointInterval must be positive.");
        if (string.IsNullOrWhiteSpace(Device)) throw new ArgumentOutOfRangeException(nameof(Device), Device, "Device must name a torch device such as \"cpu\".");
    }
}
