using Microsoft.ML;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.ML;

/// <summary>Where the box that bounds the data comes from.</summary>
public enum BoundsSource
{
    /// <summary>The unit box [0, 1]^d: values must already lie in it (for example after <c>NormalizeMinMax</c>).</summary>
    Unit,
    /// <summary>Per-feature minimum and maximum of the training data, widened by <see cref="ReflectedDiffusionOptions.BoundsMargin"/>.</summary>
    Data,
    /// <summary><see cref="ReflectedDiffusionOptions.LowerBounds"/> and <see cref="ReflectedDiffusionOptions.UpperBounds"/>.</summary>
    Explicit,
}

/// <summary>Options of <see cref="ReflectedDiffusionEstimator"/> (public fields with defaults, as ML.NET options are).</summary>
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
    /// <summary>Peak Adam learning rate.</summary>
    public double LearningRate = 2e-3;
    /// <summary>
    /// Score network: the residual MLP (any feature vector) or the U-Net for images, which needs
    /// <see cref="ImageChannels"/>, <see cref="ImageHeight"/> and <see cref="ImageWidth"/>.
    /// </summary>
    public NetworkKind Network = NetworkKind.Mlp;
    /// <summary>U-Net: colour planes; the feature vector holds them one after another, as <c>ExtractPixels</c> writes them.</summary>
    public int ImageChannels = 1;
    /// <summary>U-Net: image height in pixels.</summary>
    public int ImageHeight;
    /// <summary>U-Net: image width in pixels.</summary>
    public int ImageWidth;
    /// <summary>U-Net: channels at the first level.</summary>
    public int BaseChannels = 32;
    /// <summary>U-Net: channel multiplier per level (each level after the first halves the image); null picks up to [1, 2, 2] as the size allows.</summary>
    public int[]? ChannelMultipliers;
    /// <summary>Hidden width of the residual MLP.</summary>
    public int HiddenWidth = 256;
    /// <summary>Residual blocks of the MLP.</summary>
    public int Blocks = 3;
    /// <summary>Loss weighting: likelihood weighting (the default here) suits likelihood scoring.</summary>
    public LossWeighting Weighting = LossWeighting.Likelihood;

    /// <summary>Where the bounds come from.</summary>
    public BoundsSource Bounds = BoundsSource.Unit;
    /// <summary>With <see cref="BoundsSource.Data"/>: each side widens by this fraction of the observed range.</summary>
    public double BoundsMargin = 0.05;
    /// <summary>With <see cref="BoundsSource.Explicit"/>: lower bound per feature.</summary>
    public double[]? LowerBounds;
    /// <summary>With <see cref="BoundsSource.Explicit"/>: upper bound per feature.</summary>
    public double[]? UpperBounds;

    /// <summary>
    /// Smallest noise level: the reference's 1e-4 for likelihood models. It is also the bandwidth of the modelled
    /// density: on small tabular sets a larger value (0.1 on the breast-cancer set) gives better anomaly scores.
    /// </summary>
    public double SigmaMin = 1e-4;
    /// <summary>Fixed RK4 steps of the likelihood ODE in the compiled graph.</summary>
    public int LikelihoodSteps = 100;
    /// <summary>
    /// Divergence in the likelihood graph: 0 for the exact trace (one network tangent per feature), K &gt; 0 for
    /// Hutchinson's unbiased estimate with K fixed Rademacher probes; null picks the exact trace up to 64 features
    /// and 16 probes above (images).
    /// </summary>
    public int? LikelihoodProbes;
    /// <summary>
    /// Fold the likelihood ODE back into the box after every step. Rows far from the training data then score low
    /// instead of running off (on the demo's digits: uniform noise -151 nats instead of +223, digits -88), at the
    /// cost of first-order error where flows touch the faces. Worth turning on for anomaly detection on data unlike
    /// the training set; off by default, as in the reference.
    /// </summary>
    public bool FoldLikelihoodFlow;
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
    public Action<TrainingProgress>? Progress;
    /// <summary>Cancels training.</summary>
    public CancellationToken CancellationToken;
    /// <summary>
    /// The pipeline's <see cref="MLContext"/>. Its <see cref="MLContext.Log"/> receives training messages (data,
    /// bounds, progress, timing) under the source "ReflectedDiffusion", and its <see cref="MLContext.GpuDeviceId"/> and
    /// <see cref="MLContext.FallbackToCpu"/> apply to inference when <see cref="GpuDeviceId"/> is null. ML.NET's catalogs
    /// do not expose their context to extensions, so pass it here; null logs nothing.
    /// </summary>
    public MLContext? Context;
}
