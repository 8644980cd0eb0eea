using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;
using ReflectedDiffusion.Onnx;

namespace ReflectedDiffusion.ML;

/// <summary>
/// The scoring stage of a loaded model file made batched: ML.NET loads this library's scoring stage as its own chain
/// (OnnxTransformer, the scalar mapping, column dropping), which runs the graph one row at a time. This transformer
/// wraps that chain and runs the same graph bytes through one ONNX Runtime session in batches for
/// <see cref="Transform"/> (the same values); schema, row-to-row mapping (prediction engines) and saving stay the
/// chain's, so a file saved again is the same built-in chain.
/// </summary>
internal sealed class BatchedScoringTransformer : ITransformer, IDisposable
{
    private readonly TransformerChain<ITransformer> _inner;
    private readonly string _featureColumn;
    private readonly int _batchSize;
    private readonly Lazy<OnnxScorer> _scorer;
    private bool _disposed;

    private BatchedScoringTransformer(TransformerChain<ITransformer> inner, byte[] graph, string featureColumn, int dimension, int batchSize)
    {
        (_inner, _featureColumn, _batchSize) = (inner, featureColumn, batchSize);
        _scorer = new Lazy<OnnxScorer>(() => ScoringStage.Scorer(graph, dimension, featureColumn));
    }

    /// <summary>
    /// <paramref name="loaded"/> (what <c>mlContext.Model.Load</c> gave back for the file whose bytes are
    /// <paramref name="modelFile"/>, positioned at its start) with every scoring stage of this library replaced by a batched one; stages of
    /// other kinds, and scoring stages this version cannot recognise, are kept as they are.
    /// </summary>
    public static ITransformer Rewrite(ITransformer loaded, Stream modelFile, int batchSize)
    {
        using var zip = new ZipArchive(modelFile, ZipArchiveMode.Read, leaveOpen: true);
        // ML.NET stores the model under this folder and stage k of a chain under Transform_k (three digits) in its chain's folder.
        return Rewrite(loaded, "TransformerChain", zip, batchSize);
    }

    private static ITransformer Rewrite(ITransformer stage, string folder, ZipArchive zip, int batchSize)
    {
        if (stage is not TransformerChain<ITransformer> chain) return stage;
        var stages = chain.ToArray();
        if (stages.Length > 0 && stages[0] is OnnxTransformer && ScoringGraph(zip, $"{folder}/Transform_000/OnnxModel") is { } graph)
            return new BatchedScoringTransformer(chain, graph.Bytes, graph.FeatureColumn, graph.Dimension, batchSize);
        var rewritten = stages.Select((s, k) => Rewrite(s, $"{folder}/Transform_{k:000}", zip, batchSize)).ToArray();
        if (rewritten.SequenceEqual(stages)) return chain;
        // Keep each stage's scope (training, testing, scoring), which the chain only reveals through GetModelFor.
        TransformerScope[] flags = [TransformerScope.Training, TransformerScope.Testing, TransformerScope.Scoring];
        var members = flags.Select(f => chain.GetModelFor(f).ToHashSet(ReferenceEqualityComparer.Instance)).ToArray();
        var scopes = stages.Select(s => flags.Where((_, i) => members[i].Contains(s)).Aggregate(TransformerScope.None, (a, f) => a | f));
        return new TransformerChain<ITransformer>(rewritten, scopes);
    }

    // The graph in an OnnxTransformer's entry (a 32-bit length, then the ONNX bytes) when it is this library's
    // likelihood graph with anomaly outputs: its input (the feature column, [N, d]) and output names identify it.
    private static (byte[] Bytes, string FeatureColumn, int Dimension)? ScoringGraph(ZipArchive zip, string entryName)
    {
        if (zip.GetEntry(entryName) is not { } entry) return null;
        using var buffer = new MemoryStream();
        using (var s = entry.Open()) s.CopyTo(buffer);
        var content = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (content.Length < 4 || BitConverter.ToInt32(content) != content.Length - 4) return null;
        var bytes = content[4..].ToArray();
        var model = global::Onnx.ModelProto.Parser.ParseFrom(bytes);
        var outputs = model.Graph.Output.Select(o => o.Name).ToHashSet();
        if (!ScoringStage.VectorColumns.All(outputs.Contains) || model.Graph.Input.Count != 1) return null;
        var input = model.Graph.Input[0];
        var dims = input.Type?.TensorType?.Shape?.Dim;
        if (dims is not { Count: 2 } || dims[1].DimValue <= 0) return null;
        return (bytes, input.Name, (int)dims[1].DimValue);
    }

    /// <inheritdoc />
    public bool IsRowToRowMapper => ((ITransformer)_inner).IsRowToRowMapper;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => _inner.GetOutputSchema(inputSchema);

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)_inner).GetRowToRowMapper(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var schema = _inner.GetOutputSchema(input.Schema);
        var added = schema.Skip(input.Schema.Count).Select(c => c.Name).ToArray();
        return added.Length == BatchedLikelihoodView.AddedCount && BatchedLikelihoodView.HasExpectedLayout(input.Schema, schema, added)
            ? new BatchedLikelihoodView(input, schema, _scorer.Value, _featureColumn, _batchSize)
            : _inner.Transform(input);
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_inner).Save(ctx);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_scorer.IsValueCreated) _scorer.Value.Dispose();
        _inner.Dispose();
    }
}
