using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.ML;

/// <summary>
/// The one mapping from the product's options (<see cref="ReflectedDiffusionOptions"/>, <see cref="GenerationOptions"/>)
/// to each core option type. The options were validated when the estimator or generator took them; this only translates.
/// </summary>
internal static class OptionsMapping
{
    /// <summary>The trainer's options; <paramref name="progress"/> receives every progress report.</summary>
    public static TrainerOptions ToTrainerOptions(ReflectedDiffusionOptions o, Action<TrainingProgress> progress, bool checkpoint = false) => new()
    {
        CheckpointPath = checkpoint ? o.CheckpointPath : null, CheckpointInterval = o.CheckpointInterval,
        Steps = o.NumberOfSteps, BatchSize = o.BatchSize, LearningRate = o.LearningRate, Weighting = o.Weighting,
        WarmupSteps = System.Math.Min(100, o.NumberOfSteps / 10), Seed = o.Seed, Device = o.Device,
        CancellationToken = o.CancellationToken, Progress = progress,
    };

    /// <summary>The network for <paramref name="dimension"/> features and <paramref name="classes"/> classes (0: unconditional).</summary>
    public static ScoreNetworkConfig ToNetworkConfig(ReflectedDiffusionOptions o, int dimension, int classes)
    {
        var config = new ScoreNetworkConfig { Dimension = dimension, HiddenWidth = o.HiddenWidth, Blocks = o.Blocks, NumClasses = classes, NeumannFaces = o.NeumannFaces };
        if (o.NetworkToTrain != NetworkKind.UNet) return config;
        int c = o.ImageChannels, h = o.ImageHeight, w = o.ImageWidth;
        if (c * h * w != dimension)
            throw new InvalidOperationException($"Feature column '{o.FeatureColumnName}' has {dimension} features; the U-Net's image shape {c}x{h}x{w} (ImageChannels x ImageHeight x ImageWidth) has {c * h * w}.");
        config = config with
        {
            Kind = NetworkKind.UNet, Channels = c, Height = h, Width = w, BaseChannels = o.BaseChannels,
            ChannelMultipliers = o.ChannelMultipliers ?? ScoreNetworkConfig.ChannelMultipliersFor(h, w),
        };
        config.Validate();
        return config;
    }

    /// <summary>The sampler's options; <paramref name="count"/> rows in all, for progress.</summary>
    public static SamplerOptions ToSamplerOptions(GenerationOptions o, long count) => new()
    {
        Steps = o.StepsToTake, Seed = o.Seed, FirstRow = o.FirstRow, Guidance = o.Guidance, BatchSize = o.BatchSize, CancellationToken = o.CancellationToken,
        Callback = o.Progress is not { } report ? null : s =>
        {
            // Rows done so far, counting the current batch by the share of its steps taken (adaptive solvers: by time).
            long inBatch = System.Math.Min(o.BatchSize, count - s.RowsDone);
            double share = s.TotalSteps > 0 ? (double)s.Step / s.TotalSteps : 1 - s.Time;
            report(s.RowsDone + (long)(share * inBatch), count);
        },
    };
}
