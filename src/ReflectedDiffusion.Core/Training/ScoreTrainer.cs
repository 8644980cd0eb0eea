using System.Diagnostics;
using System.Text.Json;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Training;

/// <summary>The outcome of <see cref="ScoreTrainer.Fit"/>.</summary>
/// <param name="Network">The EMA network, in evaluation mode (use this one for sampling and likelihood).</param>
/// <param name="LossTrace">Training loss of every step from step 1 (including steps taken before a resume).</param>
/// <param name="SamplesPerSecond">Training throughput of this call.</param>
public sealed record TrainingResult(ScoreNetwork Network, IReadOnlyList<float> LossTrace, double SamplesPerSecond);

/// <summary>Thrown when a training loss is NaN or infinite; names the step.</summary>
public sealed class TrainingDivergedException(long step, double loss)
    : InvalidOperationException($"Training diverged: the loss at step {step} is {loss}. Lower the learning rate or check the data.")
{
    /// <summary>The 1-based step whose loss was not finite.</summary>
    public long Step { get; } = step;
}

/// <summary>
/// Trains a reflected score network by denoising score matching: Adam with linear warm-up, gradient-norm
/// clipping and an EMA of the weights; label dropout for classifier-free guidance; a counter-based stream of
/// batches and noise derived from one seed, so checkpoints resume with the same loss trace as an
/// uninterrupted run.
/// </summary>
public sealed class ScoreTrainer
{
    private const string CheckpointMagic = "RDCKPT01";
    private const int CheckpointVersion = 1;

    /// <summary>Creates a trainer; validates the network configuration and options.</summary>
    public ScoreTrainer(ScoreNetworkConfig network, ReflectedVeSde sde, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        network.Validate();
        options.Validate();
        TorchRuntime.EnsureConfigured();
        NetworkConfig = network;
        Sde = sde ?? throw new ArgumentNullException(nameof(sde));
        Options = options;
    }

    /// <summary>The network to train.</summary>
    public ScoreNetworkConfig NetworkConfig { get; }
    /// <summary>The SDE whose score is learned.</summary>
    public ReflectedVeSde Sde { get; }
    /// <summary>Training settings.</summary>
    public TrainerOptions Options { get; }

    /// <summary>
    /// Trains on <paramref name="data"/> for <see cref="TrainerOptions.Steps"/> steps, continuing from the checkpoint at
    /// <paramref name="resumeFrom"/> when given.
    /// </summary>
    public TrainingResult Fit(TrainingSet data, string? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Dimension != NetworkConfig.Dimension)
            throw new ArgumentException($"The data has {data.Dimension} features; the network expects {NetworkConfig.Dimension}.", nameof(data));
        if (NetworkConfig.IsConditional && data.NumClasses != NetworkConfig.NumClasses)
            throw new ArgumentException($"The data has {data.NumClasses} classes; the network expects {NetworkConfig.NumClasses}.", nameof(data));

        var o = Options;
        var device = torch.device(o.Device);
        torch.random.manual_seed(CounterRng.TorchSeed(o.Seed, 0x1217));
        var network = ScoreNetwork.Create(NetworkConfig).to(device);
        var ema = ScoreNetwork.Create(NetworkConfig).to(device);
        CopyWeights(network, ema);
        network.train();
        ema.eval();
        using var adam = new AdamOptimizer(network.named_parameters(), o.Beta1, o.Beta2, o.AdamEpsilon);
        var times = new TimeSampler(o.MinTime, o.ImportanceSampling);
        var trace = new List<float>();
        long step = 0;
        if (resumeFrom is not null)
            step = LoadCheckpoint(resumeFrom, network, ema, adam, times, trace);

        using var batches = data.Open(o.Seed, step, o.BatchSize, device);
        var clock = Stopwatch.StartNew();
        var reportClock = Stopwatch.StartNew();
        long startStep = step, reportStep = step;
        while (step < o.Steps)
        {
            o.CancellationToken.ThrowIfCancellationRequested();
            float loss = TrainStep(network, ema, adam, times, batches, step);
            step++;
            trace.Add(loss);
            if (o.Progress is not null && (step % o.ProgressInterval == 0 || step == o.Steps))
            {
                double rate = (step - reportStep) * (double)o.BatchSize / System.Math.Max(1e-9, reportClock.Elapsed.TotalSeconds);
                o.Progress(new TrainingProgress(step, o.Steps, loss, rate));
                reportClock.Restart(); reportStep = step;
            }
            if (o.CheckpointPath is not null && (step % o.CheckpointInterval == 0 || step == o.Steps))
                SaveCheckpoint(o.CheckpointPath, step, network, ema, adam, times, trace);
        }
        double samplesPerSecond = (step - startStep) * (double)o.BatchSize / System.Math.Max(1e-9, clock.Elapsed.TotalSeconds);
        network.Dispose();
        // The tuned allocator keeps freed blocks for the next step (a U-Net batch: gigabytes); training is over, so hand
        // them back rather than hold the peak for the rest of the process.
        TorchRuntime.ReleaseFreedMemory();
        return new TrainingResult(ema, trace, samplesPerSecond);
    }

    private float TrainStep(ScoreNetwork network, ScoreNetwork ema, AdamOptimizer adam, TimeSampler times, IBatchStream batches, long step)
    {
        var o = Options;
        using var scope = NewDisposeScope();
        var (x0, labels) = batches.Next();
        var device = x0.device;
        using var gen = new Generator((ulong)CounterRng.TorchSeed(o.Seed, 0x57E9, (ulong)step));
        var (t, weight) = times.Sample(o.BatchSize, gen, device);
        var z = torch.randn(x0.shape, dtype: float32, generator: gen).to(device);
        if (labels is not null && NetworkConfig.IsConditional && o.LabelDropout > 0)
        {
            var drop = torch.rand(o.BatchSize, generator: gen).to(device) < o.LabelDropout;
            labels = torch.where(drop, torch.full_like(labels, network.NullLabel), labels);
        }
        var perSample = DenoisingScoreMatching.PerSampleLoss(network, Sde, x0, NetworkConfig.IsConditional ? labels : null, t, z, o.Weighting, o.Reduction, o.Process);
        var loss = (perSample * weight).mean();
        float value = loss.item<float>();
        if (!float.IsFinite(value)) throw new TrainingDivergedException(step + 1, value);

        network.zero_grad();
        loss.backward();
        adam.ClipGradients(o.GradientClipNorm);
        double warm = o.WarmupSteps > 0 ? System.Math.Min(1.0, (step + 1) / (double)o.WarmupSteps) : 1.0;
        adam.Step(o.LearningRate * warm);
        UpdateEma(network, ema, System.Math.Min(o.EmaDecay, (1.0 + step) / (10.0 + step)));
        times.Record(t, perSample);
        return value;
    }

    private static void UpdateEma(ScoreNetwork source, ScoreNetwork ema, double decay)
    {
        using var _ = torch.no_grad();
        // Held Scalars: an implicitly converted one can be finalized while the native call that got its handle runs.
        using Scalar keep = decay.ToScalar(), take = (1 - decay).ToScalar();
        foreach (var ((_, p), (_, e)) in source.named_parameters().Zip(ema.named_parameters()))
            e.mul_(keep).add_(p, alpha: take);
    }

    private static void CopyWeights(ScoreNetwork source, ScoreNetwork target)
    {
        using var _ = torch.no_grad();
        foreach (var ((_, p), (_, q)) in source.named_parameters().Zip(target.named_parameters())) q.copy_(p);
    }

    private string Fingerprint() => JsonSerializer.Serialize(new
    {
        Network = NetworkConfig, Sde.SigmaMin, Sde.SigmaMax, Options.Seed, Options.BatchSize,
        Weighting = Options.Weighting.ToString(), Process = Options.Process.ToString(), Options.ImportanceSampling, Options.MinTime, Options.LabelDropout,
    });

    private void SaveCheckpoint(string path, long step, ScoreNetwork network, ScoreNetwork ema, AdamOptimizer adam, TimeSampler times, List<float> trace)
    {
        IO.AtomicFile.Write(path, stream =>
        {
            using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            TensorIO.WriteHeader(w, CheckpointMagic, CheckpointVersion);
            w.Write(Fingerprint());
            w.Write(step);
            w.Write(adam.StepCount);
            w.Write(trace.Count);
            foreach (var l in trace) w.Write(l);
            var tensors = new List<KeyValuePair<string, Tensor>>();
            tensors.AddRange(network.state_dict().Select(kv => new KeyValuePair<string, Tensor>("net." + kv.Key, kv.Value)));
            tensors.AddRange(ema.state_dict().Select(kv => new KeyValuePair<string, Tensor>("ema." + kv.Key, kv.Value)));
            tensors.AddRange(adam.State());
            tensors.AddRange(times.State());
            TensorIO.Write(w, tensors);
        });
    }

    private long LoadCheckpoint(string path, ScoreNetwork network, ScoreNetwork ema, AdamOptimizer adam, TimeSampler times, List<float> trace)
    {
        using var fs = File.OpenRead(path);
        using var r = new BinaryReader(fs);
        int version = TensorIO.ReadHeader(r, CheckpointMagic, "training checkpoint");
        if (version != CheckpointVersion) throw new InvalidDataException($"Checkpoint format version {version} is not supported.");
        string fingerprint = r.ReadString();
        if (fingerprint != Fingerprint())
            throw new InvalidOperationException($"The checkpoint '{path}' was written by a run with other settings; resume needs the same network, SDE, seed, batch size and loss settings.");
        long step = r.ReadInt64();
        long adamSteps = r.ReadInt64();
        int n = r.ReadInt32();
        for (int i = 0; i < n; i++) trace.Add(r.ReadSingle());
        var tensors = TensorIO.Read(r);
        try
        {
            network.load_state_dict(Prefixed(tensors, "net."));
            ema.load_state_dict(Prefixed(tensors, "ema."));
            adam.LoadState(tensors, adamSteps);
            times.LoadState(tensors);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        return step;
    }

    private static Dictionary<string, Tensor> Prefixed(Dictionary<string, Tensor> all, string prefix)
        => all.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
}
