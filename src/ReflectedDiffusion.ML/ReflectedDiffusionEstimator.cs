using Microsoft.ML;
using TorchSharp;
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
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => ScoringStage.OutputShape(inputSchema, _options.FeatureColumnName, _options.LabelColumnName);

    /// <inheritdoc />
    public ReflectedDiffusionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int d = ScoringStage.FeatureSize(input.Schema, _options.FeatureColumnName);
        _ = OptionsMapping.ToNetworkConfig(_options, d, 0); // a wrong image shape fails before the data is read
        using var log = new TrainingLog(_options.Context);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (rows, labels, classes) = DataReading.Read(input, _options.FeatureColumnName, _options.LabelColumnName, d);
        var bounds = Bounds(rows, d);
        log.Info($"Training on {rows.Count} rows of {d} features from column '{_options.FeatureColumnName}'" +
                 (classes > 0 ? $", {classes} classes from '{_options.LabelColumnName}'" : "") +
                 $"; bounds {_options.Bounds} (per feature from [{bounds.Lower.Min():G4}, ...] to [{bounds.Upper.Max():G4}, ...]); {_options.NumberOfSteps} steps of batch {_options.BatchSize}.");
        var unitRows = bounds.ToUnitRows(rows);

        var sde = new ReflectedVeSde(_options.SigmaMin, ReflectedVeSde.DefaultSigmaMax);
        var trainer = new ScoreTrainer(OptionsMapping.ToNetworkConfig(_options, d, classes), sde, OptionsMapping.ToTrainerOptions(_options, p =>
        {
            log.Info($"Step {p.Step}/{p.TotalSteps}: loss {p.Loss:G5}, {p.SamplesPerSecond:F0} samples/s.");
            _options.Progress?.Invoke(p);
        }));
        TrainingResult result;
        using (var x = tensor(unitRows, [rows.Count, d]))
        using (var y = labels is null ? null : tensor(labels))
            result = trainer.Fit(new InMemoryTrainingSet(x, y, classes));
        var model = new ScoreModel(result.Network.to(CPU), sde, bounds);
        log.Info($"Trained in {watch.Elapsed.TotalSeconds:F1} s; compiling the likelihood graph ({_options.LikelihoodSteps} RK4 steps).");
        return new ReflectedDiffusionTransformer(model, _options, input, result.LossTrace);
    }

    private BoxBounds Bounds(List<float[]> rows, int d)
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
                var observed = BoxBounds.FromData(rows);
                var pad = observed.Upper.Zip(observed.Lower, (h, l) => _options.BoundsMargin * (h - l)).ToArray();
                return new BoxBounds(observed.Lower.Select((l, j) => l - pad[j]).ToArray(), observed.Upper.Select((h, j) => h + pad[j]).ToArray());
        }
    }
}
