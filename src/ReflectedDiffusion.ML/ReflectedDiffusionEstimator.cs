using Microsoft.ML;
using TorchSharp;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Training;
using static TorchSharp.torch;

namespace ReflectedDiffusion.ML;

/// <summary>
/// Trains a reflected diffusion model on a feature column and yields a transformer that adds
/// <c>LogLikelihood</c> and <c>BitsPerDimension</c> (scalar <see cref="float"/>) for every row. Inference runs as a
/// compiled ONNX graph through ML.NET's own OnnxTransformer, so the fitted pipeline saves and loads with
/// <c>mlContext.Model</c>.
/// </summary>
public sealed class ReflectedDiffusionEstimator : IEstimator<ReflectedDiffusionTransformer>
{
    /// <summary>Name of the added log-likelihood column.</summary>
    public const string LogLikelihoodColumn = ReflectedDiffusionColumns.LogLikelihood;
    /// <summary>Name of the added bits-per-dimension column.</summary>
    public const string BitsPerDimensionColumn = ReflectedDiffusionColumns.BitsPerDimension;

    private readonly ReflectedDiffusionOptions _options;

    /// <summary>Creates the estimator; validates the options (<see cref="ReflectedDiffusionOptions.Validate"/>).</summary>
    public ReflectedDiffusionEstimator(ReflectedDiffusionOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        options.Validate();
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => ScoringStage.OutputShape(inputSchema, _options);

    /// <inheritdoc />
    public ReflectedDiffusionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int d = ScoringStage.FeatureSize(input.Schema, _options.FeatureColumnName);
        _ = OptionsMapping.ToNetworkConfig(_options, d, 0); // a wrong image shape fails before the data is read
        using var log = new TrainingLog(_options.Context);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        string? labelColumn = _options.LabelColumnName;
        var scan = RowScan.Read(DataReading.Rows(input, _options.FeatureColumnName, labelColumn, d), d, _options.MaxRowsInMemory,
            sampleForSelection: _options.SigmaMin is null, _options.Seed);
        if (scan.Count == 0) throw DataReading.NoRows(_options.FeatureColumnName);
        int classes = labelColumn is null ? 0 : DataReading.Classes(input, labelColumn, scan.LargestLabel);
        var bounds = Bounds(scan, d);
        log.Info($"Training on {scan.Count} rows of {d} features from column '{_options.FeatureColumnName}'" +
                 (classes > 0 ? $", {classes} classes from '{labelColumn}'" : "") +
                 $"; bounds {_options.Bounds} (per feature from [{bounds.Lower.Min():G4}, ...] to [{bounds.Upper.Max():G4}, ...]); {_options.NumberOfSteps} steps of batch {_options.BatchSize}" +
                 (scan.Streaming ? $"; more than MaxRowsInMemory ({_options.MaxRowsInMemory}), so the rows stream through a shuffle buffer of that many." : "."));
        if (scan.Streaming && Enumerable.Range(0, d).Any(j => scan.Lower[j] < bounds.Lower[j] || scan.Upper[j] > bounds.Upper[j]))
            foreach (var _ in UnitRows(input, bounds, labelColumn)) { } // names the first row outside the bounds
        var data = scan.Rows is { } rows ? new TrainingRows(bounds.ToUnitRows(rows), labelColumn is null ? null : scan.Labels!.ToArray(), classes, d) : null;

        double sigmaMin = _options.SigmaMin ?? ChooseSigmaMin(data ?? SelectionRows(scan, bounds, classes, labelColumn is not null), log);
        var (network, lossTrace) = data is not null ? Train(data, sigmaMin, log, final: true)
            : Train(new StreamingTrainingSet(() => UnitRows(input, bounds, labelColumn), d, classes, _options.MaxRowsInMemory), sigmaMin, log, final: true);
        var model = new ScoreModel(network, new ReflectedVeSde(sigmaMin, ReflectedVeSde.DefaultSigmaMax), bounds);
        log.Info($"Trained in {watch.Elapsed.TotalSeconds:F1} s; compiling the likelihood graph ({ScoringStage.Solver(_options)}).");
        double tail = _options.TailBandwidth ?? AnomalyThreshold.TailBandwidth(scan.Count, sigmaMin);
        log.Info($"Anomaly score outside the bounds: Gaussian tail of {tail:G3} of each feature's range" + (_options.TailBandwidth is null ? $" (Silverman's rule for {scan.Count} rows)." : "."));
        var (threshold, profile) = AnomalyThreshold.Fit(model, _options, tail, scan.ThresholdSample.InRowOrder().Rows, log);
        return new ReflectedDiffusionTransformer(model, _options, threshold, tail, profile, input, lossTrace);
    }

    // Streaming with the bandwidth to choose: it is chosen on the scan's seeded sample of MaxRowsInMemory rows.
    private static TrainingRows SelectionRows(RowScan scan, BoxBounds bounds, int classes, bool labelled)
    {
        var (rows, labels) = scan.SelectionSample!.InRowOrder();
        return new TrainingRows(bounds.ToUnitRows(rows), labelled ? labels : null, classes, bounds.Dimension);
    }

    // One pass of the rows in the unit box, for the streaming training set (which opens a pass whenever it needs one).
    private IEnumerable<TrainingRow> UnitRows(IDataView input, BoxBounds bounds, string? labelColumn)
    {
        long row = 0;
        foreach (var (features, label) in DataReading.Rows(input, _options.FeatureColumnName, labelColumn, bounds.Dimension))
        {
            bounds.Validate(features, row++); // a view whose rows changed since the scan
            bounds.ToUnit(features, features);
            yield return new TrainingRow(features, label);
        }
    }

    // Training rows in the unit box, row-major, with their class indices.
    private sealed record TrainingRows(float[] Unit, long[]? Labels, int Classes, int Dimension)
    {
        public int Count => Unit.Length / Dimension;

        public List<float[]> Rows() => Enumerable.Range(0, Count).Select(i => Unit.AsSpan(i * Dimension, Dimension).ToArray()).ToList();

        public TrainingRows Subset(IReadOnlyList<int> indices) => this with
        {
            Unit = indices.SelectMany(i => Unit.AsSpan(i * Dimension, Dimension).ToArray()).ToArray(),
            Labels = Labels is null ? null : indices.Select(i => Labels[i]).ToArray(),
        };
    }

    private (ScoreNetwork Network, IReadOnlyList<float> LossTrace) Train(TrainingRows data, double sigmaMin, TrainingLog log, bool final = false)
    {
        using var x = tensor(data.Unit, [data.Count, data.Dimension]);
        using var y = data.Labels is null ? null : tensor(data.Labels);
        return Train(new InMemoryTrainingSet(x, y, data.Classes), sigmaMin, log, final);
    }

    // Only the final model's training checkpoints (and resumes): the bandwidth choice trains another network.
    private (ScoreNetwork Network, IReadOnlyList<float> LossTrace) Train(TrainingSet data, double sigmaMin, TrainingLog log, bool final)
    {
        string? resume = final && _options.CheckpointPath is { } path && File.Exists(path) ? path : null;
        if (resume is not null) log.Info($"Resuming from the checkpoint {resume}.");
        var sde = new ReflectedVeSde(sigmaMin, ReflectedVeSde.DefaultSigmaMax);
        var trainer = new ScoreTrainer(OptionsMapping.ToNetworkConfig(_options, data.Dimension, data.NumClasses), sde, OptionsMapping.ToTrainerOptions(_options, p =>
        {
            log.Trace($"Step {p.Step}/{p.TotalSteps}: loss {p.Loss:G5}, {p.SamplesPerSecond:F0} samples/s.");
            _options.Progress?.Invoke(p);
        }, checkpoint: final));
        var result = trainer.Fit(data, resume);
        return (result.Network.to(CPU), result.LossTrace);
    }

    // The bandwidth by held-out likelihood: one network trained on 80% of the rows down to the smallest candidate covers
    // every candidate (the network's time input is sigma, so the likelihood at bandwidth s integrates the same flow from
    // sigma = s), and the other 20% pick the candidate under which they are most likely. With bounds from the data, the
    // training part gets its own observed box and the held-out rows are scored as new rows will be after deployment,
    // the few beyond the training extremes through the tail: a bandwidth that only fits rows inside the box is not chosen.
    private double ChooseSigmaMin(TrainingRows data, TrainingLog log)
    {
        var candidates = _options.SigmaMinCandidates.Order().ToArray();
        if (data.Count < BandwidthSelection.MinimumRows)
        {
            double fallback = candidates[candidates.Length / 2];
            log.Info($"SigmaMin: {data.Count} rows are too few to hold some out; using the middle candidate {fallback:G3}.");
            return fallback;
        }
        var (train, heldOut) = BandwidthSelection.Split(data.Count, _options.Seed);
        log.Info($"SigmaMin: choosing among {string.Join(", ", candidates.Select(c => c.ToString("G3")))} by the likelihood of {heldOut.Count} held-out rows under a model of the other {train.Count}.");
        var trainPart = data.Subset(train);
        var box = _options.Bounds == BoundsSource.Data ? DataBounds(trainPart.Rows()) : BoxBounds.Unit(data.Dimension);
        var (network, _) = Train(trainPart with { Unit = box.ToUnitRows(trainPart.Rows()) }, candidates[0], log);
        using var model = new ScoreModel(network, new ReflectedVeSde(candidates[0], ReflectedVeSde.DefaultSigmaMax), box);
        var heldOutRows = data.Subset(heldOut).Unit;
        var scores = candidates.Select(c => BandwidthSelection.MeanLogLikelihood(model, c, _options.TailBandwidth ?? AnomalyThreshold.TailBandwidth(train.Count, c),
            heldOutRows, _options)).ToArray();
        double chosen = candidates[BandwidthSelection.Choose(scores)];
        log.Info($"SigmaMin: held-out mean log-likelihood per candidate {string.Join(", ", scores.Select((v, i) => $"{candidates[i]:G3}: {v.Mean:F3} (se {v.StandardError:F3})"))}; " +
                 $"chose {chosen:G3}, the widest within one standard error of the best.");
        return chosen;
    }

    // Data bounds need a range in every feature; a constant one (or a single row) has none, and a box invented around it
    // would put the model's whole mass on a face.
    private BoxBounds Bounds(RowScan scan, int d)
    {
        switch (_options.Bounds)
        {
            case BoundsSource.Unit:
                return BoxBounds.Unit(d);
            case BoundsSource.Explicit:
                var b = new BoxBounds(_options.LowerBounds!, _options.UpperBounds!);
                if (b.Dimension != d) throw new ArgumentOutOfRangeException(nameof(ReflectedDiffusionOptions.LowerBounds), $"The bounds have {b.Dimension} features; column '{_options.FeatureColumnName}' has {d}.");
                return b;
            default:
                for (int j = 0; j < d; j++)
                    if (scan.Lower[j] == scan.Upper[j])
                        throw new ArgumentOutOfRangeException(nameof(ReflectedDiffusionOptions.Bounds), BoundsSource.Data,
                            $"Bounds Data: feature {j} has the same value {(float)scan.Lower[j]} in all {scan.Count} rows, so the data give it no range. Drop the feature, or use Bounds Explicit (LowerBounds, UpperBounds) or Unit.");
                return Padded(new BoxBounds(scan.Lower, scan.Upper));
        }
    }

    // The observed range of each feature, widened on each side by BoundsMargin of its width.
    private BoxBounds DataBounds(IEnumerable<float[]> rows) => Padded(BoxBounds.FromData(rows));

    private BoxBounds Padded(BoxBounds observed)
    {
        var pad = observed.Width.Select(w => _options.BoundsMargin * w).ToArray();
        return new BoxBounds(observed.Lower.Select((l, j) => l - pad[j]).ToArray(), observed.Upper.Select((h, j) => h + pad[j]).ToArray());
    }
}
