using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.ML;

/// <summary>
/// A fitted reflected diffusion model in an ML.NET pipeline: adds <c>LogLikelihood</c> and <c>BitsPerDimension</c>
/// (scalar <see cref="float"/>) through a chain of ML.NET's own stages (OnnxTransformer, a registered custom mapping,
/// column dropping), to which saving is delegated; so <c>mlContext.Model.Load</c> needs nothing of this type, only
/// <see cref="ReflectedDiffusionCatalog.RegisterReflectedDiffusion"/>. Its <see cref="Transform"/> scores in batches;
/// <see cref="Generator"/> draws new rows.
/// </summary>
public sealed class ReflectedDiffusionTransformer : ITransformer, IDisposable
{
    private readonly ITransformer _inner;
    private readonly InferenceContext _context;
    private readonly string _featureColumn;
    private readonly string[] _addedColumns;
    private readonly (int? GpuDeviceId, bool FallbackToCpu) _device;
    private readonly int _batchSize;
    private readonly Lazy<OnnxScorer> _scorer;
    private readonly LikelihoodGraph.AnomalyOutputs _anomaly;
    private bool _disposed;

    /// <summary>
    /// Compiles the likelihood graph of <paramref name="model"/> as <paramref name="options"/> say, predicting anomalies
    /// above <paramref name="threshold"/> with the score's tail outside the bounds of scale <paramref name="tailBandwidth"/>, and fits the scoring chain on the schema of <paramref name="input"/> (only its
    /// schema is read).
    /// </summary>
    internal ReflectedDiffusionTransformer(ScoreModel model, ReflectedDiffusionOptions options, double threshold, double tailBandwidth, Density.AnomalyProfile? profile,
        IDataView input, IReadOnlyList<float> lossTrace)
    {
        Model = model;
        LossTrace = lossTrace;
        Threshold = threshold;
        TailBandwidth = tailBandwidth;
        AnomalyProfile = profile;
        _anomaly = ScoringStage.Anomaly(threshold, tailBandwidth, profile);
        _featureColumn = options.FeatureColumnName;
        _addedColumns = [ScoringStage.LogLikelihoodColumn, ScoringStage.BitsPerDimensionColumn, options.ScoreColumnName, options.PredictedLabelColumnName];
        _device = options.InferenceDevice;
        _batchSize = options.ScoringBatchSize;
        LikelihoodGraphBytes = ScoringStage.CompileGraph(model, options, _anomaly);
        _context = InferenceContext.Create();
        _inner = ScoringStage.Chain(_context, LikelihoodGraphBytes, options).Fit(input);
        _scorer = new Lazy<OnnxScorer>(() => ScoringStage.Scorer(Model, LikelihoodGraphBytes, _featureColumn, _anomaly, _device));
        Generator = new ReflectedDiffusionGenerator(model, _context);
    }

    /// <summary>
    /// Wraps a trained <see cref="ScoreModel"/> (for example one read with <see cref="ScoreModel.Load(string)"/>) as a
    /// transformer, without training: the likelihood graph is compiled as <paramref name="options"/> describe it
    /// (<see cref="ReflectedDiffusionOptions.LikelihoodSteps"/> or <see cref="ReflectedDiffusionOptions.LikelihoodTolerance"/>, probes, fold) for
    /// <see cref="ReflectedDiffusionOptions.FeatureColumnName"/>, with the options' devices; training options are
    /// ignored. The anomaly threshold is <see cref="ReflectedDiffusionOptions.Threshold"/> (without one, no row is
    /// predicted anomalous: the threshold is fitted from training rows), the tail bandwidth
    /// <see cref="ReflectedDiffusionOptions.TailBandwidth"/> (without one, the model's smallest noise level), the score
    /// multiscale with <see cref="ReflectedDiffusionOptions.AnomalyProfile"/> when <see cref="ReflectedDiffusionOptions.AnomalyScore"/>
    /// asks for it and one is given (the likelihood score otherwise). Without <paramref name="options"/>, the defaults,
    /// with 20 likelihood steps for a <see cref="ReflectedDiffusionOptions.NeumannFaces"/> network (its flow is smooth).
    /// The transformer owns <paramref name="model"/> from then on.
    /// </summary>
    public static ReflectedDiffusionTransformer FromScoreModel(ScoreModel model, ReflectedDiffusionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= model.Network.Config.NeumannFaces ? new ReflectedDiffusionOptions { LikelihoodSteps = 20 } : new ReflectedDiffusionOptions();
        options.Validate();
        var empty = VectorDataView.Create(new MLContext(), [], model.Network.Config.Dimension, options.FeatureColumnName);
        return new ReflectedDiffusionTransformer(model, options, options.Threshold ?? double.PositiveInfinity,
            options.TailBandwidth ?? model.Sde.SigmaMin, options.AnomalyScore == AnomalyScoreKind.Multiscale ? options.AnomalyProfile : null, empty, []);
    }

    /// <summary>The anomaly threshold: rows whose score lies above it are predicted anomalous.</summary>
    public double Threshold { get; }

    /// <summary>Scale of the score's Gaussian tail outside the bounds, as a share of each feature's range (see <see cref="ReflectedDiffusionOptions.TailBandwidth"/>).</summary>
    public double TailBandwidth { get; }

    /// <summary>The fitted reference of the multiscale anomaly score; null when the score is the likelihood score.</summary>
    public Density.AnomalyProfile? AnomalyProfile { get; }

    /// <summary>The trained model (EMA weights, SDE and bounds).</summary>
    public ScoreModel Model { get; }
    /// <summary>The compiled likelihood graph (ONNX bytes).</summary>
    public byte[] LikelihoodGraphBytes { get; }
    /// <summary>Training loss per step.</summary>
    public IReadOnlyList<float> LossTrace { get; }
    /// <summary>Draws new rows from the model (any sampler; rows in the user's units).</summary>
    public ReflectedDiffusionGenerator Generator { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => _inner.IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckFeatures(inputSchema);
        return _inner.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => _inner.GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    /// <remarks>
    /// The scores are computed lazily, in batches of <see cref="ReflectedDiffusionOptions.ScoringBatchSize"/> rows through one
    /// ONNX Runtime session, with the same graph and values as the saved chain. A model read back with
    /// <c>mlContext.Model.Load</c> is ML.NET's built-in chain, which scores one row at a time (many times slower).
    /// </remarks>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckFeatures(input.Schema);
        var schema = _inner.GetOutputSchema(input.Schema);
        return BatchedLikelihoodView.HasExpectedLayout(input.Schema, schema, _addedColumns)
            ? new BatchedLikelihoodView(input, schema, _scorer.Value, _featureColumn, _batchSize)
            : _inner.Transform(input);
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_inner).Save(ctx);

    /// <summary>
    /// Scores every row of <paramref name="input"/> eagerly, in batches of <paramref name="batchSize"/> rows, through a
    /// session of its own on the given device; returns one value per row and column, in row order (equal to the
    /// columns of <see cref="Transform"/>; <c>var (logLikelihood, bitsPerDimension) = ...</c> takes the first two).
    /// </summary>
    public ScoredRows ScoreBatched(IDataView input, int batchSize = 1024, int? gpuDeviceId = null, bool fallbackToCpu = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
        int d = CheckFeatures(input.Schema);
        using var scorer = ScoringStage.Scorer(Model, LikelihoodGraphBytes, _featureColumn, _anomaly, (gpuDeviceId, fallbackToCpu));
        var column = input.Schema[_featureColumn];
        using var cursor = input.GetRowCursor([column]);
        var reader = new FeatureReader(cursor, column, d);
        var batches = new List<ScoredRows>();
        for (var batch = reader.ReadBatch(batchSize); batch.Length > 0; batch = reader.ReadBatch(batchSize))
            batches.Add(scorer.Score(batch));
        return new ScoredRows([.. batches.SelectMany(b => b.LogLikelihood)], [.. batches.SelectMany(b => b.BitsPerDimension)],
            [.. batches.SelectMany(b => b.Score!)], [.. batches.SelectMany(b => b.PredictedLabel!)]);
    }

    /// <summary>Writes likelihood.onnx, generation.onnx and model.json (their inputs and outputs, the bounds) to a folder, for use outside .NET.</summary>
    public void ExportOnnx(string directory, int generationSteps = GenerationOptions.DefaultHeunSteps)
        => ModelExport.Write(directory, Model, LikelihoodGraphBytes, _featureColumn, ScoringStage.LogLikelihoodVectorColumn, ScoringStage.BitsPerDimensionVectorColumn, generationSteps);

    // The feature column must be a known-size Single vector of the trained dimension; returns that dimension.
    private int CheckFeatures(DataViewSchema schema)
    {
        int d = ScoringStage.FeatureSize(schema, _featureColumn);
        if (d != Model.Network.Config.Dimension)
            throw new InvalidOperationException($"Feature column '{_featureColumn}' has {d} features; the model was trained on {Model.Network.Config.Dimension}.");
        return d;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        (_inner as IDisposable)?.Dispose();
        if (_scorer.IsValueCreated) _scorer.Value.Dispose();
        Model.Dispose();
        _context.Dispose();
    }
}
