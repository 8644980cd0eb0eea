using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.ML;

/// <summary>
/// The scoring stage in ML.NET terms: the column names and types it adds, the schema checks, the compiled likelihood
/// graph and the chain of ML.NET's own stages that runs it (OnnxTransformer, a registered scalar mapping, column
/// dropping), to which saving is delegated so that <c>mlContext.Model.Load</c> needs nothing of this library's types.
/// </summary>
internal static class ScoringStage
{
    public const string LogLikelihoodColumn = ReflectedDiffusionColumns.LogLikelihood;
    public const string BitsPerDimensionColumn = ReflectedDiffusionColumns.BitsPerDimension;
    // The graph's per-row outputs as ML.NET's OnnxTransformer gives them (vectors of length one), before the scalar mapping.
    public const string LogLikelihoodVectorColumn = "LogLikelihood.Vector";
    public const string BitsPerDimensionVectorColumn = "BitsPerDimension.Vector";
    public const string ScoreVectorColumn = "Score.Vector";
    public const string PredictedLabelVectorColumn = "PredictedLabel.Vector";
    /// <summary>The graph's outputs, which identify a likelihood graph with anomaly outputs.</summary>
    public static readonly string[] VectorColumns = [LogLikelihoodVectorColumn, BitsPerDimensionVectorColumn, ScoreVectorColumn, PredictedLabelVectorColumn];

    /// <summary>The size of the feature column: it must be a known-size vector of Single.</summary>
    public static int FeatureSize(DataViewSchema schema, string column)
    {
        var col = schema.GetColumnOrNull(column) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Feature column '{column}' not found.");
        if (col.Type is not VectorDataViewType { ItemType: NumberDataViewType t } vector || t != NumberDataViewType.Single)
            throw new InvalidOperationException($"Feature column '{column}' must be a vector of Single; found {col.Type}.");
        if (!vector.IsKnownSize)
            throw new InvalidOperationException($"Feature column '{column}' must be a vector of known size; its size is unknown.");
        return vector.Size;
    }

    /// <summary>Checks the feature (and label) columns of a schema shape before training; returns the shape with the score columns added.</summary>
    public static SchemaShape OutputShape(SchemaShape input, ReflectedDiffusionOptions options)
    {
        string featureColumn = options.FeatureColumnName;
        string? labelColumn = options.LabelColumnName;
        var found = input.Where(c => c.Name == featureColumn).ToList();
        if (found.Count == 0) throw new ArgumentOutOfRangeException(nameof(input), $"Feature column '{featureColumn}' not found.");
        var col = found[^1];
        if (col.Kind != SchemaShape.Column.VectorKind.Vector || col.ItemType != NumberDataViewType.Single)
            throw new InvalidOperationException($"Feature column '{featureColumn}' must be a known-size vector of Single; found {col.Kind} of {col.ItemType}.");
        if (labelColumn is not null)
        {
            var labels = input.Where(c => c.Name == labelColumn).ToList();
            if (labels.Count == 0) throw new ArgumentOutOfRangeException(nameof(input), $"Label column '{labelColumn}' not found.");
            var l = labels[^1];
            bool integer = l.ItemType == NumberDataViewType.Int32 || l.ItemType == NumberDataViewType.Int64 || l.ItemType == NumberDataViewType.Single;
            if (l.Kind != SchemaShape.Column.VectorKind.Scalar || !(l.IsKey || integer))
                throw new InvalidOperationException($"Label column '{labelColumn}' must be a scalar key or integer column; found {l.Kind} of {l.ItemType}. Map text labels with MapValueToKey first.");
        }
        // SchemaShape.Column has no public constructor: the added columns come from the output shape of the same stages
        // with no input columns, which propagate shapes without running anything.
        var ml = new MLContext();
        var scalars = ml.Transforms.CustomMapping<NoInput, LikelihoodScalars>((_, _) => { }, contractName: null).GetOutputSchema(new SchemaShape([]));
        var added = Renames(ml, options).GetOutputSchema(scalars).ToList();
        var names = added.Select(c => c.Name).ToHashSet();
        return new SchemaShape(input.Where(c => !names.Contains(c.Name)).Concat(added));
    }

    private sealed class NoInput;

    // The scalar mapping names the anomaly columns Score and PredictedLabel; other names are a copy and a drop away.
    private static IEstimator<ITransformer> Renames(MLContext ml, ReflectedDiffusionOptions options)
    {
        var renames = new[] { (From: ReflectedDiffusionColumns.Score, To: options.ScoreColumnName), (From: ReflectedDiffusionColumns.PredictedLabel, To: options.PredictedLabelColumnName) }
            .Where(r => r.From != r.To).ToArray();
        IEstimator<ITransformer> chain = new EstimatorChain<ITransformer>();
        foreach (var (from, to) in renames) chain = chain.Append(ml.Transforms.CopyColumns(to, from));
        var unused = renames.Select(r => r.From).Except(renames.Select(r => r.To)).ToArray();
        return unused.Length == 0 ? chain : chain.Append(ml.Transforms.DropColumns(unused));
    }

    /// <summary>
    /// The graph's anomaly outputs for a threshold, a tail bandwidth (<see cref="ReflectedDiffusionOptions.TailBandwidth"/>)
    /// and, for the multiscale score, its fitted profile (null: the likelihood score).
    /// </summary>
    public static LikelihoodGraph.AnomalyOutputs Anomaly(double threshold, double tailBandwidth, Density.AnomalyProfile? profile = null)
        => new(ScoreVectorColumn, PredictedLabelVectorColumn, threshold, tailBandwidth, profile);

    /// <summary>Compiles the likelihood graph of a trained model as the options describe it, with the given anomaly outputs.</summary>
    public static byte[] CompileGraph(ScoreModel model, ReflectedDiffusionOptions options, LikelihoodGraph.AnomalyOutputs anomaly)
    {
        int probes = options.LikelihoodProbes ?? Density.DivergenceDefaults.ProbesFor(model.Network.Config.Dimension);
        return LikelihoodGraph.Build(model, Solver(options), options.FeatureColumnName, LogLikelihoodVectorColumn, BitsPerDimensionVectorColumn, probes,
            foldSteps: options.FoldLikelihoodFlow, anomaly: anomaly);
    }

    /// <summary>The likelihood graph's ODE solver as the options describe it: fixed RK4 steps when set, else adaptive.</summary>
    public static LikelihoodSolver Solver(ReflectedDiffusionOptions options)
        => options.LikelihoodSteps is { } steps ? LikelihoodSolver.Rk4(steps) : LikelihoodSolver.Adaptive(options.LikelihoodTolerance);

    /// <summary>The chain of ML.NET stages that runs <paramref name="graph"/> on the feature column and adds the scalar columns.</summary>
    public static IEstimator<ITransformer> Chain(MLContext ml, byte[] graph, ReflectedDiffusionOptions options)
    {
        var (gpu, fallback) = options.InferenceDevice;
        return ml.Transforms.ApplyOnnxModel(VectorColumns, [options.FeatureColumnName], new MemoryStream(graph), gpu, fallback)
            .Append(ml.Transforms.CustomMapping<LikelihoodVectors, LikelihoodScalars>(LikelihoodScalarsFactory.Map, LikelihoodScalarsFactory.ContractName))
            .Append(ml.Transforms.DropColumns(VectorColumns))
            .Append(Renames(ml, options));
    }

    /// <summary>A batched session over the graph, with the graph's input and output names.</summary>
    public static OnnxScorer Scorer(ScoreModel model, byte[] graph, string featureColumn, LikelihoodGraph.AnomalyOutputs anomaly, (int? GpuDeviceId, bool FallbackToCpu) device)
        => new(graph, model.Network.Config.Dimension, device.GpuDeviceId, device.FallbackToCpu, featureColumn, LogLikelihoodVectorColumn, BitsPerDimensionVectorColumn,
            anomaly);

    /// <summary>A batched CPU session over a compiled graph read back from a model file (its threshold and profile are inside it; the scorer needs only the output names).</summary>
    public static OnnxScorer Scorer(byte[] graph, int dimension, string featureColumn)
        => new(graph, dimension, inputName: featureColumn, logLikelihoodName: LogLikelihoodVectorColumn, bitsPerDimensionName: BitsPerDimensionVectorColumn,
            anomaly: Anomaly(double.NaN, double.NaN));
}
