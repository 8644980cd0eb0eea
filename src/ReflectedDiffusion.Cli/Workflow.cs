using Microsoft.ML;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.Cli;

/// <summary>Training settings of the tool (the options of 'rdiff train').</summary>
internal sealed record TrainSettings
{
    public int Steps { get; init; } = 2000;
    public int BatchSize { get; init; } = 256;
    public LossWeighting Weighting { get; init; } = LossWeighting.Sigma2;
    public BoundsSource Bounds { get; init; } = BoundsSource.Data;
    public double[]? LowerBounds { get; init; }
    public double[]? UpperBounds { get; init; }
    public double SigmaMin { get; init; } = 1e-4;
    public NetworkKind Network { get; init; } = NetworkKind.Mlp;
    public int HiddenWidth { get; init; } = 256;
    public int Blocks { get; init; } = 3;
    public int LikelihoodSteps { get; init; } = 100;
    public bool FoldLikelihood { get; init; }
    public ulong Seed { get; init; } = 1;
    public string Device { get; init; } = "cpu";
    public CancellationToken Cancel { get; init; }
}

/// <summary>The steps the commands share: train through the ML.NET estimator, sample, score.</summary>
internal static class Workflow
{
    public static ModelBundle Train(Dataset data, TrainSettings settings, ProgressReporter progress)
    {
        var ml = new MLContext(seed: 1);
        var view = FeatureView(ml, data.Rows, data.Dimension, data.Labels, data.ClassNames?.Length ?? 0);
        var options = new ReflectedDiffusionOptions
        {
            FeatureColumnName = ModelBundle.FeatureColumn, LabelColumnName = data.Labels is null ? null : LabelColumn,
            NumberOfSteps = settings.Steps, BatchSize = settings.BatchSize, Weighting = settings.Weighting,
            Bounds = settings.Bounds, LowerBounds = settings.LowerBounds, UpperBounds = settings.UpperBounds,
            SigmaMin = settings.SigmaMin, HiddenWidth = settings.HiddenWidth, Blocks = settings.Blocks, Network = settings.Network,
            ImageChannels = data.Image?.Channels ?? 1, ImageHeight = data.Image?.Height ?? 0, ImageWidth = data.Image?.Width ?? 0,
            LikelihoodSteps = settings.LikelihoodSteps, FoldLikelihoodFlow = settings.FoldLikelihood, Seed = settings.Seed, Device = settings.Device, CancellationToken = settings.Cancel,
            Progress = p => progress.Report("train", p.Step, p.TotalSteps, $"loss {p.Loss:F4}, {p.SamplesPerSecond:F0} samples/s"),
        };
        var transformer = ml.Transforms.ReflectedDiffusion(options).Fit(view);
        var image = data.Image is { } s ? new[] { s.Height, s.Width, s.Channels } : null;
        return new ModelBundle(transformer, new ModelInfo(data.FeatureNames, data.LabelName, data.ClassNames, image, settings.LikelihoodSteps, settings.FoldLikelihood));
    }

    private const string LabelColumn = "Label";

    /// <summary>A view with a known-size <c>Features</c> vector column (and a key <c>Label</c> column when labels are given).</summary>
    public static IDataView FeatureView(MLContext ml, IEnumerable<float[]> rows, int dimension, long[]? labels = null, int classes = 0)
        => VectorDataView.Create(ml, rows, dimension, ModelBundle.FeatureColumn, labels, classes, LabelColumn);

    /// <summary>
    /// Draws samples in the user's units through the model's generator (the ML.NET API's own path) with the chosen
    /// sampler: "ode" (Heun, 100 steps by default: the sampler of the ONNX generation graph), "sde" (reflected
    /// Euler-Maruyama, 500) or "pc" (predictor-corrector, 250).
    /// </summary>
    public static float[][] Sample(ReflectedDiffusionGenerator generator, int count, long[]? labels, double guidance, string sampler, int? steps, ulong seed, ProgressReporter progress, CancellationToken cancel = default)
    {
        var options = new GenerationOptions
        {
            Sampler = sampler switch { "sde" => SamplerKind.ReflectedSde, "pc" => SamplerKind.PredictorCorrector, _ => SamplerKind.OdeHeun },
            Steps = steps, Seed = seed, Guidance = guidance, CancellationToken = cancel,
            Progress = (done, total) => progress.Report("sample", done, total),
        };
        return generator.Generate(count, options, labels);
    }

    /// <summary>Log-likelihood (nats) and bits per dimension of rows, batched through the compiled likelihood graph.</summary>
    public static (float[] LogLikelihood, float[] BitsPerDimension) Score(ModelBundle bundle, IReadOnlyList<float[]> rows)
    {
        var (logLikelihood, bitsPerDimension) = bundle.Transformer.ScoreBatched(FeatureView(new MLContext(), rows, bundle.Info.Features.Length), batchSize: 256);
        return (logLikelihood, bitsPerDimension);
    }
}
