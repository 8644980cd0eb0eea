using System.Diagnostics;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Training throughput clocked after a few warm-up steps of the same run, as the PyTorch reference script clocks its
/// own: a fresh network's first steps fault its memory in (gigabytes for the U-Net).
/// </summary>
internal static class TimedTraining
{
    /// <summary>Steps run before the clock starts.</summary>
    public const int WarmUpSteps = 3;

    /// <summary>Trains for <see cref="WarmUpSteps"/> + <paramref name="steps"/> steps; returns the network (the caller disposes it) and the timed steps' samples per second.</summary>
    public static (ScoreNetwork Network, double SamplesPerSecond) Run(ScoreNetworkConfig config, TrainingSet data, int batch, long steps)
    {
        var clock = new Stopwatch();
        var options = new TrainerOptions
        {
            Steps = WarmUpSteps + steps, BatchSize = batch, ProgressInterval = 1,
            Progress = p => { if (p.Step == WarmUpSteps) clock.Start(); },
        };
        var result = new ScoreTrainer(config, new ReflectedVeSde(), options).Fit(data);
        return (result.Network, steps * batch / clock.Elapsed.TotalSeconds);
    }
}
