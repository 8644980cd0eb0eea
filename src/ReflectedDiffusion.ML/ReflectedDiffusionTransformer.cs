using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.Onnx;
using ReflectedDiffusion.Sampling;

namespace ReflectedDiffusion.ML;

/// <summary>
/// A fitted reflected diffusion model in an ML.NET pipeline: adds <c>LogLikelihood</c> and <c>BitsPerDimension</c>
/// (scalar <see cref="float"/>) through a chain of ML.NET's own stages (OnnxTransformer, a registered custom mapping,
/// column dropping), to which saving is delegated; so <c>mlContext.Model.Load</c> needs nothing of this type, only
/// <see cref="ReflectedDiffusionCatalog.RegisterReflectedDiffusion"/>. Also generates new rows.
/// </summary>
public sealed class ReflectedDiffusionTransformer : ITransformer, IDisposable
{
    private readonly ITransformer _inner;
    private readonly InferenceContext _context;
    private readonly string _featureColumn;
    private readonly InferenceSettings _inference;
    private readonly Lazy<OnnxScorer> _scorer;

    internal ReflectedDiffusionTransformer(ITransformer inner, InferenceContext context, ScoreModel model, byte[] likelihoodGraph, string featureColumn,
        IReadOnlyList<float> lossTrace, InferenceSettings inference)
    {
        _inner = inner;
        _context = context;
        Model = model;
        LikelihoodGraphBytes = likelihoodGraph;
        _featureColumn = featureColumn;
        LossTrace = lossTrace;
        _inference = inference;
        _scorer = new Lazy<OnnxScorer>(() => CreateScorer(inference.GpuDeviceId, inference.FallbackToCpu));
    }

    /// <summary>The device and batch settings of the transformer's own ONNX Runtime session.</summary>
    internal sealed record InferenceSettings(int? GpuDeviceId, bool FallbackToCpu, int BatchSize);

    /// <summary>
    /// Wraps a trained <see cref="ScoreModel"/> (for example one read with <see cref="ScoreModel.Load(string)"/>) as a
    /// transformer, without training: the likelihood graph is compiled with <see cref="ReflectedDiffusionOptions.LikelihoodSteps"/>
    /// steps for <see cref="ReflectedDiffusionOptions.FeatureColumnName"/>; the device options apply. Other options
    /// are ignored. The transformer owns <paramref name="model"/> from then on.
    /// </summary>
    public static ReflectedDiffusionTransformer FromScoreModel(ScoreModel model, ReflectedDiffusionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new ReflectedDiffusionOptions();
        _ = new ReflectedDiffusionEstimator(options); // validates
        var empty = VectorDataView.Create(new MLContext(), [], model.Network.Config.Dimension, options.FeatureColumnName);
        return ReflectedDiffusionEstimator.Wrap(model, options, empty, []);
    }

    /// <summary>The trained model (EMA weights, SDE and bounds).</summary>
    public ScoreModel Model { get; }
    /// <summary>The compiled likelihood graph (ONNX bytes).</summary>
    public byte[] LikelihoodGraphBytes { get; }
    /// <summary>Training loss per step.</summary>
    public IReadOnlyList<float> LossTrace { get; }

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
        CheckFeatures(input.Schema);
        var schema = _inner.GetOutputSchema(input.Schema);
        return BatchedLikelihoodView.HasExpectedLayout(input.Schema, schema)
            ? new BatchedLikelihoodView(input, schema, _scorer.Value, _featureColumn, _inference.BatchSize)
            : _inner.Transform(input);
    }

    private OnnxScorer CreateScorer(int? gpuDeviceId, bool fallbackToCpu)
        => new(LikelihoodGraphBytes, Model.Network.Config.Dimension, gpuDeviceId, fallbackToCpu, _featureColumn,
            ReflectedDiffusionEstimator.LogLikelihoodVectorColumn, ReflectedDiffusionEstimator.BitsPerDimensionVectorColumn);

    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_inner).Save(ctx);

    // The feature column must be a known-size Single vector of the trained dimension; returns that dimension.
    private int CheckFeatures(DataViewSchema schema)
    {
        int d = ReflectedDiffusionEstimator.FeatureSize(schema, _featureColumn);
        if (d != Model.Network.Config.Dimension)
            throw new InvalidOperationException($"Feature column '{_featureColumn}' has {d} features; the model was trained on {Model.Network.Config.Dimension}.");
        return d;
    }

    /// <summary>
    /// Scores every row of <paramref name="input"/> eagerly, in batches of <paramref name="batchSize"/> rows, through a
    /// session of its own on the given device; returns one value per row, in row order (equal to the
    /// <c>LogLikelihood</c> and <c>BitsPerDimension</c> columns of <see cref="Transform"/>).
    /// </summary>
    public (float[] LogLikelihood, float[] BitsPerDimension) ScoreBatched(IDataView input, int batchSize = 1024, int? gpuDeviceId = null, bool fallbackToCpu = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
        int d = CheckFeatures(input.Schema);
        using var scorer = CreateScorer(gpuDeviceId, fallbackToCpu);
        var column = input.Schema[_featureColumn];
        using var cursor = input.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var logp = new List<float>();
        var bpd = new List<float>();
        for (var batch = BatchedLikelihoodView.ReadBatch(cursor, getter, d, batchSize); batch.Length > 0; batch = BatchedLikelihoodView.ReadBatch(cursor, getter, d, batchSize))
        {
            var (l, b) = scorer.Score(batch);
            logp.AddRange(l);
            bpd.AddRange(b);
        }
        return (logp.ToArray(), bpd.ToArray());
    }

    /// <summary>
    /// Generates <paramref name="count"/> rows in the user's units through the compiled generation graph (Heun ODE,
    /// <paramref name="steps"/> steps); row i uses the row seed of (<paramref name="seed"/>, i). For conditional models
    /// pass one label per row (the class index; the number of classes means "no label") and a guidance weight.
    /// </summary>
    public float[][] Generate(int count, ulong seed = 0, int steps = 100, long[]? labels = null, float guidance = 0)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "The number of rows must be positive.");
        var config = Model.Network.Config;
        if (config.IsConditional) labels ??= Enumerable.Repeat((long)config.NumClasses, count).ToArray();
        else if (labels is not null) throw new ArgumentException("The model is unconditional; it takes no labels.", nameof(labels));
        using var generator = new OnnxGenerator(GenerationGraph.Build(Model, steps), config.Dimension, config.IsConditional);
        using var seeds = CounterNoise.RowSeeds(seed, 0, count);
        var flat = generator.Generate(seeds.data<long>().ToArray(), labels, labels is null ? null : Enumerable.Repeat(guidance, count).ToArray());
        return Enumerable.Range(0, count).Select(i => flat.AsSpan(i * config.Dimension, config.Dimension).ToArray()).ToArray();
    }

    /// <summary>
    /// A generation transformer: maps rows holding a seed (an <see cref="long"/> column) to a <c>Generated</c> vector
    /// column in the user's units, through the compiled generation graph (Heun ODE, <paramref name="steps"/> steps)
    /// in ML.NET's OnnxTransformer; it saves and loads with <c>mlContext.Model</c> like any ML.NET stage. A row's
    /// sample depends only on its seed (and label and guidance weight). Conditional models also read a label column
    /// (<see cref="long"/> class index; the number of classes means no label) and a guidance column (<see cref="float"/>).
    /// </summary>
    public ITransformer CreateGenerationTransformer(IDataView seedRows, string seedColumnName = "Seed", int steps = 100, string outputColumnName = "Generated",
        string labelColumnName = "Label", string guidanceColumnName = "Guidance")
    {
        ArgumentNullException.ThrowIfNull(seedRows);
        RequireColumn(seedRows.Schema, seedColumnName, NumberDataViewType.Int64, "Seed");
        string[] inputs = [seedColumnName];
        if (Model.Network.Config.IsConditional)
        {
            RequireColumn(seedRows.Schema, labelColumnName, NumberDataViewType.Int64, "Label");
            RequireColumn(seedRows.Schema, guidanceColumnName, NumberDataViewType.Single, "Guidance");
            inputs = [seedColumnName, labelColumnName, guidanceColumnName];
        }
        var graph = GenerationGraph.Build(Model, steps, seedColumnName, outputColumnName, labelColumnName, guidanceColumnName);
        return _context.Context.Transforms.ApplyOnnxModel([outputColumnName], inputs, new MemoryStream(graph)).Fit(seedRows);
    }

    private static void RequireColumn(DataViewSchema schema, string name, DataViewType type, string role)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"{role} column '{name}' not found.");
        if (column.Type != type) throw new InvalidOperationException($"{role} column '{name}' must be {type}; found {column.Type}.");
    }

    /// <summary>
    /// Generates rows (see <see cref="Generate"/>) as an <see cref="IDataView"/> with a known-size vector column, for
    /// data augmentation. With <paramref name="balanceLabels"/> (conditional models only) row i is drawn for class
    /// i mod C at the given guidance weight, and a key column <paramref name="labelColumnName"/> (C values, class
    /// index i is key i + 1, as MapValueToKey numbers them) says which.
    /// </summary>
    public IDataView GenerateDataView(MLContext mlContext, int count, ulong seed = 0, int steps = 100, string columnName = "Generated",
        bool balanceLabels = false, float guidance = 0, string labelColumnName = "Label")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        int d = Model.Network.Config.Dimension, classes = Model.Network.Config.NumClasses;
        if (!balanceLabels) return VectorDataView.Create(mlContext, Generate(count, seed, steps), d, columnName);
        if (!Model.Network.Config.IsConditional) throw new InvalidOperationException("Balanced labels need a conditional model (trained with LabelColumnName).");
        var labels = Enumerable.Range(0, count).Select(i => (long)(i % classes)).ToArray();
        return VectorDataView.Create(mlContext, Generate(count, seed, steps, labels, guidance), d, columnName, labels, classes, labelColumnName);
    }

    /// <summary>Writes likelihood.onnx, generation.onnx and model.json (their inputs and outputs) to a folder, for use outside .NET.</summary>
    public void ExportOnnx(string directory, int generationSteps = 100)
    {
        Directory.CreateDirectory(directory);
        var config = Model.Network.Config;
        IO.AtomicFile.Write(Path.Combine(directory, "likelihood.onnx"), s => s.Write(LikelihoodGraphBytes));
        var generation = GenerationGraph.Build(Model, generationSteps);
        IO.AtomicFile.Write(Path.Combine(directory, "generation.onnx"), s => s.Write(generation));
        var description = new
        {
            likelihood = new
            {
                file = "likelihood.onnx", opset = GenerationGraph.Opset,
                inputs = new[] { new { name = _featureColumn, type = "float32", shape = new object[] { "N", config.Dimension } } },
                outputs = new[]
                {
                    new { name = ReflectedDiffusionEstimator.LogLikelihoodVectorColumn, type = "float32", shape = new object[] { "N" } },
                    new { name = ReflectedDiffusionEstimator.BitsPerDimensionVectorColumn, type = "float32", shape = new object[] { "N" } },
                },
            },
            generation = new
            {
                file = "generation.onnx", opset = GenerationGraph.Opset, steps = generationSteps,
                inputs = config.IsConditional
                    ? new[] { new { name = "Seed", type = "int64", shape = new object[] { "N", 1 } }, new { name = "Label", type = "int64", shape = new object[] { "N", 1 } }, new { name = "Guidance", type = "float32", shape = new object[] { "N", 1 } } }
                    : new[] { new { name = "Seed", type = "int64", shape = new object[] { "N", 1 } } },
                outputs = new[] { new { name = "Generated", type = "float32", shape = new object[] { "N", config.Dimension } } },
            },
            bounds = new { lower = Model.Bounds.Lower, upper = Model.Bounds.Upper },
            classes = config.NumClasses,
        };
        var json = JsonSerializer.Serialize(description, new JsonSerializerOptions { WriteIndented = true });
        IO.AtomicFile.Write(Path.Combine(directory, "model.json"), s => s.Write(System.Text.Encoding.UTF8.GetBytes(json)));
    }

    private bool _disposed;

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
