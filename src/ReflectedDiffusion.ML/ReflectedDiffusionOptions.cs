using Microsoft.ML;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.ML;

/// <summary>Where the box that bounds the data comes from.</summary>
public enum BoundsSource
{
    /// <summary>The unit box [0, 1]^d: values must already lie in it (pixels scaled by <c>ExtractPixels</c>, say).</summary>
    Unit,
    /// <summary>
    /// Per-feature minimum and maximum of the training data (the default), widened on each side by
    /// <see cref="ReflectedDiffusionOptions.BoundsMargin"/> of the range (0 by default: generated values never leave the
    /// observed range).
    /// </summary>
    Data,
    /// <summary><see cref="ReflectedDiffusionOptions.LowerBounds"/> and <see cref="ReflectedDiffusionOptions.UpperBounds"/>.</summary>
    Explicit,
}

/// <summary>What the anomaly score column measures (see <see cref="ReflectedDiffusionOptions.AnomalyScore"/>).</summary>
public enum AnomalyScoreKind
{
    /// <summary>The distance of the row's multiscale profile and likelihood score to the training rows' nearest ones (their 5th nearest, in the metric of a Gaussian fitted to them).</summary>
    Multiscale,
    /// <summary>The negative log-likelihood per dimension, continued outside the bounds by a Gaussian tail.</summary>
    Likelihood,
}

/// <summary>
/// Options of <see cref="ReflectedDiffusionEstimator"/>: public fields with defaults, as ML.NET's options are. This class
/// is the one place where the product's training and scoring settings and their defaults live: <c>rdiff train</c>
/// exposes every field as a flag of the same name in kebab case (<see cref="NumberOfSteps"/> is
/// <c>--number-of-steps</c>), and the core's option types are produced from it by one mapping each.
/// </summary>
public sealed class ReflectedDiffusionOptions
{
    /// <summary>The input column: a known-size vector of <see cref="float"/>.</summary>
    public string FeatureColumnName = "Features";

    /// <summary>
    /// Optional label column (a key, or an integer column with values 0..C-1): trains a class-conditional model with
    /// label dropout for classifier-free guidance. The likelihood columns are always unconditional (log p(x)).
    /// </summary>
    public string? LabelColumnName;

    /// <summary>Training steps.</summary>
    public int NumberOfSteps = 2000;
    /// <summary>Mini-batch size.</summary>
    public int BatchSize = 256;
    /// <summary>Peak Adam learning rate (after a linear warm-up over the first tenth of the steps, at most 100).</summary>
    public double LearningRate = 2e-3;
    /// <summary>
    /// Score network: the residual MLP (any feature vector) or the U-Net for images, which needs
    /// <see cref="ImageChannels"/>, <see cref="ImageHeight"/> and <see cref="ImageWidth"/>. Null chooses: the U-Net when
    /// the image shape is set and training runs on CUDA (on CPUs it trains tens of times slower), the MLP otherwise.
    /// </summary>
    public NetworkKind? Network;
    /// <summary>U-Net: colour planes; the feature vector holds them one after another, as <c>ExtractPixels</c> writes them.</summary>
    public int ImageChannels = 1;
    /// <summary>U-Net: image height in pixels (0: not an image).</summary>
    public int ImageHeight;
    /// <summary>U-Net: image width in pixels (0: not an image).</summary>
    public int ImageWidth;
    /// <summary>U-Net: channels at the first level.</summary>
    public int BaseChannels = 32;
    /// <summary>U-Net: channel multiplier per level (each level after the first halves the image); null picks up to [1, 2, 2] as the size allows.</summary>
    public int[]? ChannelMultipliers;
    /// <summary>Hidden width of the residual MLP.</summary>
    public int HiddenWidth = 256;
    /// <summary>Residual blocks of the MLP.</summary>
    public int Blocks = 3;
    /// <summary>
    /// Score network whose normal component is zero on every face of the box, as the reflected process's score is (its
    /// density meets the Neumann condition there), for MLP and U-Net alike: the probability-flow ODE then maps the box
    /// onto itself, so the likelihood is a normalised density without folding and its RK4 solve converges at fourth
    /// order (20 steps within about 1e-5 nats/dim, where the plain network needed 100 for 2e-3; docs/performance.md).
    /// Off by default for now: measured on breast cancer it chose a larger SigmaMin (0.03 against 0.001) and gave
    /// 0.9 nats/dim less held-out log-likelihood than the plain network's folded flow, while its anomaly AUC rose from
    /// 0.918 to 0.960; and every face becomes an invariant set of the flow, so rows lying exactly on a face (integer
    /// pixels at 0) get unbounded densities unless dequantised. With it, set <see cref="LikelihoodSteps"/> = 20.
    /// Models saved before this option read as off.
    /// </summary>
    public bool NeumannFaces;
    /// <summary>Loss weighting: likelihood weighting (the default) suits likelihood scoring; sigma^2 is the reference's for samples.</summary>
    public LossWeighting Weighting = LossWeighting.Likelihood;

    /// <summary>Where the bounds come from.</summary>
    public BoundsSource Bounds = BoundsSource.Data;
    /// <summary>With <see cref="BoundsSource.Data"/>: each side widens by this fraction of the observed range (0: the observed range itself).</summary>
    public double BoundsMargin;
    /// <summary>With <see cref="BoundsSource.Explicit"/>: lower bound per feature.</summary>
    public double[]? LowerBounds;
    /// <summary>With <see cref="BoundsSource.Explicit"/>: upper bound per feature.</summary>
    public double[]? UpperBounds;

    /// <summary>
    /// Smallest noise level, which is also the bandwidth of the modelled density (in unit-box coordinates). Null (the
    /// default) chooses it from the training rows alone: a model trained on 80% of them scores the other 20% at each
    /// candidate of <see cref="SigmaMinCandidates"/>, the candidate with the highest held-out likelihood wins, and the
    /// final model trains on all rows with it (training runs twice; the choice goes to the log). The reference uses
    /// 1e-4 for image likelihoods and 0.01 for generation.
    /// </summary>
    public double? SigmaMin;
    /// <summary>The bandwidths <see cref="SigmaMin"/> = null chooses from (a geometric grid).</summary>
    public double[] SigmaMinCandidates = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3];
    /// <summary>
    /// Fixed RK4 steps of the likelihood ODE in the compiled graph (4 network evaluations each); null integrates
    /// adaptively to <see cref="LikelihoodTolerance"/> instead (not the default: on learned models the adaptive solver
    /// needed more evaluations for the same accuracy, see docs/performance.md). 100 suits the plain network's folded
    /// flow; a <see cref="NeumannFaces"/> network needs only about 20 for better accuracy.
    /// </summary>
    public int? LikelihoodSteps = 100;
    /// <summary>
    /// Tolerance (relative and absolute, as scipy's rtol = atol) of the adaptive Dormand-Prince solver of the likelihood
    /// graph, used when <see cref="LikelihoodSteps"/> is null. One step size serves a scoring batch (its hardest row
    /// decides); a row scored alone takes its own steps. See docs/performance.md for its accuracy against a fine solve.
    /// </summary>
    public double LikelihoodTolerance = 1e-5;
    /// <summary>
    /// Divergence in the likelihood graph: 0 for the exact trace (one network tangent per feature), K &gt; 0 for
    /// Hutchinson's unbiased estimate with K fixed Rademacher probes; null picks the exact trace up to 64 features
    /// and 16 probes above (images).
    /// </summary>
    public int? LikelihoodProbes;
    /// <summary>
    /// Fold the likelihood ODE back into the box after every step (the default). A learned score only nearly has the
    /// reflected flow's zero normal velocity at the faces, so without the fold the flows of rows unlike the training data
    /// can run off and diverge, scoring them as very likely: measured on a held-out anomaly test (AnomalyTests), the
    /// area under the ROC curve of the anomaly score was 0.73 unfolded and 0.97 folded. The price is first-order error
    /// where flows touch the faces (on the demo's digits -88.0 nats folded against -86.4 plain). The reference does not
    /// fold: set false to reproduce it.
    /// </summary>
    public bool FoldLikelihoodFlow = true;
    /// <summary>
    /// What <see cref="ScoreColumnName"/> measures. <see cref="AnomalyScoreKind.Multiscale"/> (the default): the squared
    /// distance of the row's multiscale profile (the network's scaled score norm at 2 to 10 noise levels from
    /// <see cref="TailBandwidth"/> to a feature's whole range, as many as the training rows support and fewer than the
    /// features, plus the likelihood score) to the 5th nearest of the training rows' profiles, in the metric of a
    /// Gaussian fitted to them. <see cref="AnomalyScoreKind.Likelihood"/>:
    /// the negative log-likelihood per dimension with its tail outside the bounds. Measured by the anomaly benchmark
    /// (docs/results.md): the likelihood alone ranks rows of unseen classes that share the data's low-dimensional
    /// structure (correlated measurements, pixels at zero) as normal, so it fails badly on some data sets.
    /// </summary>
    public AnomalyScoreKind AnomalyScore = AnomalyScoreKind.Multiscale;
    /// <summary>
    /// The fitted reference of the multiscale score; null fits it at training from the training rows. Set it only to
    /// rebuild a fitted model's transformer (<see cref="ReflectedDiffusionTransformer.FromScoreModel"/>; rdiff keeps it in the model file).
    /// </summary>
    public Density.AnomalyProfile? AnomalyProfile;
    /// <summary>Name of the anomaly score column (Single, higher = more anomalous), as ML.NET's anomaly detectors name it.</summary>
    public string ScoreColumnName = "Score";
    /// <summary>Name of the predicted-label column (Boolean: the score lies above the threshold).</summary>
    public string PredictedLabelColumnName = "PredictedLabel";
    /// <summary>
    /// The share of training rows the fitted threshold marks as anomalies (the threshold is this upper quantile of the
    /// training rows' scores); ignored when <see cref="Threshold"/> is set.
    /// </summary>
    public double FalsePositiveRate = 0.01;
    /// <summary>An explicit anomaly threshold on <see cref="ScoreColumnName"/>; null sets it at fit time from <see cref="FalsePositiveRate"/>.</summary>
    public double? Threshold;
    /// <summary>
    /// Scale of the Gaussian tail that continues <see cref="ScoreColumnName"/> outside the bounds, as a share of each
    /// feature's range (unit-box coordinates): a row a distance r outside scores as its nearest point of the box plus
    /// r^2 / (2 b^2 d). Null sets it at fit time by Silverman's rule for a feature that fills its range,
    /// 1.06 (1 / sqrt 12) n^(-1/5) for n training rows (0.10 at 240 rows, 0.05 at 10,000), never below the model's
    /// smallest noise level: new normal rows fall just past the observed extremes at about that scale, so they rank with
    /// the rows inside and not with gross outliers.
    /// </summary>
    public double? TailBandwidth;
    /// <summary>
    /// Training holds the rows in memory up to this many. With more it streams them: one pass over the data view finds the
    /// bounds, the row count and two seeded samples (for the anomaly threshold and, with <see cref="SigmaMin"/> null, the
    /// bandwidth choice, which then trains on a sample of this many rows), and training draws its batches through a shuffle
    /// buffer of this many rows, reading the view again as needed; memory then depends on this limit, not on the row count.
    /// Data at or below the limit train exactly as before.
    /// </summary>
    public int MaxRowsInMemory = 1_000_000;
    /// <summary>
    /// When set, training of the final model writes a checkpoint to this file every <see cref="CheckpointInterval"/> steps
    /// and at the end (atomically), and a fit that finds the file resumes from it: a run killed mid-training and started
    /// again with the same data and settings ends with the weights of an uninterrupted run, bit for bit. The checkpoint
    /// records the settings, not the data: delete it before training on other data. (The bandwidth choice of
    /// <see cref="SigmaMin"/> = null is not checkpointed; it runs again, with the same result.)
    /// </summary>
    public string? CheckpointPath;
    /// <summary>Training steps between checkpoints (with <see cref="CheckpointPath"/>).</summary>
    public int CheckpointInterval = 500;
    /// <summary>Rows per ONNX Runtime call when the fitted transformer scores (its <c>Transform</c> computes in batches).</summary>
    public int ScoringBatchSize = 256;
    /// <summary>Seed of training (weights, batches, noise).</summary>
    public ulong Seed = 1;
    /// <summary>Torch device for training ("cpu", or "cuda:0" with a CUDA TorchSharp backend).</summary>
    public string Device = "cpu";
    /// <summary>CUDA device for ONNX Runtime inference; null takes <see cref="Context"/>'s GpuDeviceId (null there too: the CPU).</summary>
    public int? GpuDeviceId;
    /// <summary>Use the CPU when the CUDA device cannot be used.</summary>
    public bool FallbackToCpu = true;
    /// <summary>Training progress callback.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Action<TrainingProgress>? Progress;
    /// <summary>Cancels training.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public CancellationToken CancellationToken;
    /// <summary>
    /// The pipeline's <see cref="MLContext"/>. Its <see cref="MLContext.Log"/> receives training messages (data,
    /// bounds, progress, timing) under the source "ReflectedDiffusion", and its <see cref="MLContext.GpuDeviceId"/> and
    /// <see cref="MLContext.FallbackToCpu"/> apply to inference when <see cref="GpuDeviceId"/> is null. ML.NET's catalogs
    /// do not expose their context to extensions, so pass it here; null logs nothing.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public MLContext? Context;

    /// <summary>The inference device: this options' own setting, else the pipeline context's.</summary>
    internal (int? GpuDeviceId, bool FallbackToCpu) InferenceDevice
        => GpuDeviceId is null && Context is { } c ? (c.GpuDeviceId, c.FallbackToCpu) : (GpuDeviceId, FallbackToCpu);

    /// <summary>Whether the options describe images (for the U-Net).</summary>
    internal bool HasImageShape => ImageHeight > 0 || ImageWidth > 0;

    /// <summary>The network to train: <see cref="Network"/>, or the choice it leaves to the image shape and device.</summary>
    internal NetworkKind NetworkToTrain
        => Network ?? (HasImageShape && !Device.StartsWith("cpu", StringComparison.OrdinalIgnoreCase) ? NetworkKind.UNet : NetworkKind.Mlp);

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range. The estimator calls it once,
    /// when it is created; everything downstream trusts the options.
    /// </summary>
    public void Validate()
    {
        static void Require(bool ok, string name, object? value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}.");
        }
        Require(!string.IsNullOrWhiteSpace(FeatureColumnName), nameof(FeatureColumnName), FeatureColumnName, "must name a column");
        Require(LabelColumnName is null || !string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "must name a column or be null");
        Require(NumberOfSteps > 0, nameof(NumberOfSteps), NumberOfSteps, "must be positive");
        Require(BatchSize > 0, nameof(BatchSize), BatchSize, "must be positive");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be a positive finite number");
        Require(HiddenWidth > 0, nameof(HiddenWidth), HiddenWidth, "must be positive");
        Require(Blocks > 0, nameof(Blocks), Blocks, "must be positive");
        Require(ImageChannels is 1 or 3, nameof(ImageChannels), ImageChannels, "must be 1 or 3");
        Require(ImageHeight >= 0 && ImageWidth >= 0 && (ImageHeight > 0) == (ImageWidth > 0), nameof(ImageHeight), $"{ImageHeight}x{ImageWidth}",
            "and ImageWidth must both be positive (an image) or both 0");
        Require(Network != NetworkKind.UNet || HasImageShape, nameof(Network), Network,
            $"UNet needs the image shape: ImageChannels, ImageHeight and ImageWidth must be positive (got {ImageChannels}x{ImageHeight}x{ImageWidth})");
        Require(BaseChannels > 0, nameof(BaseChannels), BaseChannels, "must be positive");
        Require(ChannelMultipliers is null || (ChannelMultipliers.Length > 0 && ChannelMultipliers.All(m => m > 0)), nameof(ChannelMultipliers),
            ChannelMultipliers is null ? null : string.Join(",", ChannelMultipliers), "must hold positive multipliers");
        Require(BoundsMargin >= 0 && double.IsFinite(BoundsMargin), nameof(BoundsMargin), BoundsMargin, "must be a finite number not below 0");
        Require(Bounds != BoundsSource.Explicit || (LowerBounds is not null && UpperBounds is not null), nameof(Bounds), Bounds,
            "Explicit needs LowerBounds and UpperBounds");
        static bool Bandwidth(double s) => s > 0 && s < ReflectedDiffusion.Sde.ReflectedVeSde.DefaultSigmaMax;
        Require(SigmaMin is null || Bandwidth(SigmaMin.Value), nameof(SigmaMin), SigmaMin, $"must lie in (0, {ReflectedDiffusion.Sde.ReflectedVeSde.DefaultSigmaMax}) or be null (chosen from the data)");
        Require(SigmaMinCandidates is { Length: > 0 } && SigmaMinCandidates.All(Bandwidth), nameof(SigmaMinCandidates),
            SigmaMinCandidates is null ? null : string.Join(",", SigmaMinCandidates), $"must hold bandwidths in (0, {ReflectedDiffusion.Sde.ReflectedVeSde.DefaultSigmaMax})");
        Require(!string.IsNullOrWhiteSpace(ScoreColumnName), nameof(ScoreColumnName), ScoreColumnName, "must name a column");
        Require(!string.IsNullOrWhiteSpace(PredictedLabelColumnName) && PredictedLabelColumnName != ScoreColumnName, nameof(PredictedLabelColumnName),
            PredictedLabelColumnName, "must name a column other than ScoreColumnName");
        Require(FalsePositiveRate > 0 && FalsePositiveRate < 1, nameof(FalsePositiveRate), FalsePositiveRate, "must lie in (0, 1)");
        Require(Threshold is null || double.IsFinite(Threshold.Value), nameof(Threshold), Threshold, "must be finite or null");
        Require(TailBandwidth is null || (TailBandwidth > 0 && double.IsFinite(TailBandwidth.Value)), nameof(TailBandwidth), TailBandwidth, "must be a finite number above 0 or null");
        Require(LikelihoodSteps is null or > 0, nameof(LikelihoodSteps), LikelihoodSteps, "must be positive");
        Require(LikelihoodTolerance > 0 && double.IsFinite(LikelihoodTolerance), nameof(LikelihoodTolerance), LikelihoodTolerance, "must be positive and finite");
        Require(LikelihoodProbes is null or >= 0, nameof(LikelihoodProbes), LikelihoodProbes, "must not be negative");
        Require(MaxRowsInMemory > 0, nameof(MaxRowsInMemory), MaxRowsInMemory, "must be positive");
        Require(CheckpointInterval > 0, nameof(CheckpointInterval), CheckpointInterval, "must be positive");
        Require(ScoringBatchSize > 0, nameof(ScoringBatchSize), ScoringBatchSize, "must be positive");
        Require(!string.IsNullOrWhiteSpace(Device), nameof(Device), Device, "must name a torch device such as \"cpu\"");
        Require(GpuDeviceId is null or >= 0, nameof(GpuDeviceId), GpuDeviceId, "must not be negative");
    }
}
