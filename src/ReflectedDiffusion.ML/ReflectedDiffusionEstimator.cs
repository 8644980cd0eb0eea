using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Onnx;
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
    public const string LogLikelihoodColumn = "LogLikelihood";
    /// <summary>Name of the added bits-per-dimension column.</summary>
    public const string BitsPerDimensionColumn = "BitsPerDimension";
    internal const string LogLikelihoodVectorColumn = "LogLikelihood.Vector";
    internal const string BitsPerDimensionVectorColumn = "BitsPerDimension.Vector";

    private readonly ReflectedDiffusionOptions _options;

    /// <summary>Creates the estimator; validates the options.</summary>
    public ReflectedDiffusionEstimator(ReflectedDiffusionOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (string.IsNullOrWhiteSpace(options.FeatureColumnName)) throw new ArgumentOutOfRangeException(nameof(options), "FeatureColumnName must name a column.");
        if (options.NumberOfSteps <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.NumberOfSteps, "NumberOfSteps must be positive.");
        if (options.BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be positive.");
        if (options.LikelihoodSteps <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.LikelihoodSteps, "LikelihoodSteps must be positive.");
        if (options.ScoringBatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.ScoringBatchSize, "ScoringBatchSize must be positive.");
        if (options.LikelihoodProbes < 0) throw new ArgumentOutOfRangeException(nameof(options), options.LikelihoodProbes, "LikelihoodProbes must not be negative.");
        if (!(options.BoundsMargin >= 0)) throw new ArgumentOutOfRangeException(nameof(options), options.BoundsMargin, "BoundsMargin must not be negative.");
        if (options.Network == NetworkKind.UNet && (options.ImageChannels <= 0 || options.ImageHeight <= 0 || options.ImageWidth <= 0))
            throw new ArgumentOutOfRangeException(nameof(options), $"The U-Net needs the image shape: ImageChannels, ImageHeight and ImageWidth must be positive (got {options.ImageChannels}x{options.ImageHeight}x{options.ImageWidth}).");
        if (options.Bounds == BoundsSource.Explicit && (options.LowerBounds is null || options.UpperBounds is null))
            throw new ArgumentOutOfRangeException(nameof(options), "Explicit bounds need LowerBounds and UpperBounds.");
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var found = inputSchema.Where(c => c.Name == _options.FeatureColumnName).ToList();
        if (found.Count == 0)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Feature column '{_options.FeatureColumnName}' not found.");
        var col = found[^1];
        if (col.Kind != SchemaShape.Column.VectorKind.Vector || col.ItemType != NumberDataViewType.Single)
            throw new InvalidOperationException($"Feature column '{_options.FeatureColumnName}' must be a known-size vector of Single; found {col.Kind} of {col.ItemType}.");
        if (_options.LabelColumnName is { } label)
        {
            var labels = inputSchema.Where(c => c.Name == label).ToList();
            if (labels.Count == 0) throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{label}' not found.");
            var l = labels[^1];
            bool integer = l.ItemType == NumberDataViewType.Int32 || l.ItemType == NumberDataViewType.Int64 || l.ItemType == NumberDataViewType.Single;
            if (l.Kind != SchemaShape.Column.VectorKind.Scalar || !(l.IsKey || integer))
                throw new InvalidOperationException($"Label column '{label}' must be a scalar key or integer column; found {l.Kind} of {l.ItemType}. Map text labels with MapValueToKey first.");
        }
        using var ml = InferenceContext.Create();
        return ScoringChain(ml, PlaceholderGraph(), _options).GetOutputSchema(inputSchema);
    }

    /// <inheritdoc />
    public ReflectedDiffusionTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int d = FeatureSize(input.Schema, _options.FeatureColumnName);
        _ = NetworkConfig(d, 0); // a wrong image shape fails before the data is read
        using var log = new TrainingLog(_options.Context);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (rows, labels, classes) = DataReading.Read(input, _options.FeatureColumnName, _options.LabelColumnName, d);
        var bounds = Bounds(rows, d);
        log.Info($"Training on {rows.Count} rows of {d} features from column '{_options.FeatureColumnName}'" +
                 (classes > 0 ? $", {classes} classes from '{_options.LabelColumnName}'" : "") +
                 $"; bounds {_options.Bounds} (per feature from [{bounds.Lower.Min():G4}, ...] to [{bounds.Upper.Max():G4}, ...]); {_options.NumberOfSteps} steps of batch {_options.BatchSize}.");
        var unitRows = bounds.ToUnitRows(rows);

        var sde = new ReflectedVeSde(_options.SigmaMin, ReflectedVeSde.DefaultSigmaMax);
        var config = NetworkConfig(d, classes);
        var trainer = new ScoreTrainer(config, sde, new TrainerOptions
        {
            Steps = _options.NumberOfSteps, BatchSize = _options.BatchSize, LearningRate = _options.LearningRate, Weighting = _options.Weighting,
            Seed = _options.Seed, Device = _options.Device, CancellationToken = _options.CancellationToken,
            Progress = p =>
            {
                log.Info($"Step {p.Step}/{p.TotalSteps}: loss {p.Loss:G5}, {p.SamplesPerSecond:F0} samples/s.");
                _options.Progress?.Invoke(p);
            },
            WarmupSteps = System.Math.Min(100, _options.NumberOfSteps / 10),
        });
        TrainingResult result;
        using (var x = tensor(unitRows, [rows.Count, d]))
        using (var y = labels is null ? null : tensor(labels))
            result = trainer.Fit(new InMemoryTrainingSet(x, y, classes));
        var model = new ScoreModel(result.Network.to(CPU), sde, bounds);
        log.Info($"Trained in {watch.Elapsed.TotalSeconds:F1} s; compiling the likelihood graph ({_options.LikelihoodSteps} RK4 steps).");
        return Wrap(model, _options, input, result.LossTrace);
    }

    // Compiles the likelihood graph of a trained model and fits the scoring chain on the input's schema.
    internal static ReflectedDiffusionTransformer Wrap(ScoreModel model, ReflectedDiffusionOptions options, IDataView input, IReadOnlyList<float> lossTrace)
    {
        int probes = options.LikelihoodProbes ?? Density.DivergenceDefaults.ProbesFor(model.Network.Config.Dimension);
        var graph = LikelihoodGraph.Build(model, options.LikelihoodSteps, options.FeatureColumnName, LogLikelihoodVectorColumn, BitsPerDimensionVectorColumn, probes,
            foldSteps: options.FoldLikelihoodFlow);
        var ml = InferenceContext.Create();
        var inner = ScoringChain(ml, graph, options).Fit(input);
        var (gpu, fallback) = Device(options);
        return new ReflectedDiffusionTransformer(inner, ml, model, graph, options.FeatureColumnName, lossTrace, new(gpu, fallback, options.ScoringBatchSize));
    }

    // The network the options describe for d features; the U-Net's image shape must account for every feature.
    private ScoreNetworkConfig NetworkConfig(int d, int classes)
    {
        var config = new ScoreNetworkConfig { Dimension = d, HiddenWidth = _options.HiddenWidth, Blocks = _options.Blocks, NumClasses = classes };
        if (_options.Network != NetworkKind.UNet) return config;
        int c = _options.ImageChannels, h = _options.ImageHeight, w = _options.ImageWidth;
        if (c * h * w != d)
            throw new InvalidOperationException($"Feature column '{_options.FeatureColumnName}' has {d} features; the U-Net's image shape {c}x{h}x{w} (ImageChannels x ImageHeight x ImageWidth) has {c * h * w}.");
        config = config with
        {
            Kind = NetworkKind.UNet, Channels = c, Height = h, Width = w, BaseChannels = _options.BaseChannels,
            ChannelMultipliers = _options.ChannelMultipliers ?? ScoreNetworkConfig.ChannelMultipliersFor(h, w),
        };
        config.Validate();
        return config;
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

    internal static int FeatureSize(DataViewSchema schema, string column)
    {
        var col = schema.GetColumnOrNull(column) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Feature column '{column}' not found.");
        if (col.Type is not VectorDataViewType { ItemType: NumberDataViewType t } vector || t != NumberDataViewType.Single)
            throw new InvalidOperationException($"Feature column '{column}' must be a vector of Single; found {col.Type}.");
        if (!vector.IsKnownSize)
            throw new InvalidOperationException($"Feature column '{column}' must be a vector of known size; its size is unknown.");
        return vector.Size;
    }

    internal static IEstimator<ITransformer> ScoringChain(MLContext ml, byte[] graph, ReflectedDiffusionOptions options)
    {
        var (gpu, fallback) = Device(options);
        return ml.Transforms.ApplyOnnxModel([LogLikelihoodVectorColumn, BitsPerDimensionVectorColumn], [options.FeatureColumnName], new MemoryStream(graph), gpu, fallback)
            .Append(ml.Transforms.CustomMapping<LikelihoodVectors, LikelihoodScalars>(LikelihoodScalarsFactory.Map, LikelihoodScalarsFactory.ContractName))
            .Append(ml.Transforms.DropColumns(LogLikelihoodVectorColumn, BitsPerDimensionVectorColumn));
    }

    // The inference device: the options' own setting, else the pipeline context's.
    private static (int? GpuDeviceId, bool FallbackToCpu) Device(ReflectedDiffusionOptions options)
        => options.GpuDeviceId is null && options.Context is { } c ? (c.GpuDeviceId, c.FallbackToCpu) : (options.GpuDeviceId, options.FallbackToCpu);

    // A graph with the scoring signature, for schema propagation before training.
    private byte[] PlaceholderGraph()
        => LikelihoodGraph.BuildSignature(_options.FeatureColumnName, 1, LogLikelihoodVectorColumn, BitsPerDimensionVectorColumn);
}
