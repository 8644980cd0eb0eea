using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ReflectedDiffusion.Onnx;

/// <summary>One batch of scored rows, in row order; the anomaly outputs are null when the graph has none.</summary>
/// <param name="LogLikelihood">Log-likelihood (nats, user units).</param>
/// <param name="BitsPerDimension">Bits per dimension.</param>
/// <param name="Score">Anomaly score (higher = more anomalous), when the graph has anomaly outputs.</param>
/// <param name="PredictedLabel">Score above the threshold, when the graph has anomaly outputs.</param>
public sealed record ScoredRows(float[] LogLikelihood, float[] BitsPerDimension, float[]? Score = null, bool[]? PredictedLabel = null)
{
    /// <summary>The two likelihood outputs.</summary>
    public void Deconstruct(out float[] logLikelihood, out float[] bitsPerDimension) => (logLikelihood, bitsPerDimension) = (LogLikelihood, BitsPerDimension);
}

/// <summary>Runs a compiled likelihood graph in batches through ONNX Runtime.</summary>
public sealed class OnnxScorer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _input, _logLikelihood, _bitsPerDimension;
    private readonly LikelihoodGraph.AnomalyOutputs? _anomaly;
    private bool _disposed;

    /// <summary>
    /// Wraps a graph from <see cref="LikelihoodGraph"/>.Build with the input and output names it was built with
    /// (<paramref name="anomaly"/>: the anomaly outputs it was built with, if any); see <see cref="OnnxSessions.Create"/>
    /// for the device.
    /// </summary>
    public OnnxScorer(byte[] graph, int dimension, int? gpuDeviceId = null, bool fallbackToCpu = true, string inputName = "Features",
        string logLikelihoodName = LikelihoodGraph.LogLikelihoodOutput, string bitsPerDimensionName = LikelihoodGraph.BitsPerDimensionOutput,
        LikelihoodGraph.AnomalyOutputs? anomaly = null)
    {
        _session = OnnxSessions.Create(graph, gpuDeviceId, fallbackToCpu);
        Dimension = dimension;
        (_input, _logLikelihood, _bitsPerDimension, _anomaly) = (inputName, logLikelihoodName, bitsPerDimensionName, anomaly);
    }

    /// <summary>Features per row.</summary>
    public int Dimension { get; }

    /// <summary>Scores rows given row-major [N, d] in the user's units.</summary>
    public ScoredRows Score(float[] features)
    {
        ArgumentNullException.ThrowIfNull(features);
        ObjectDisposedException.ThrowIf(_disposed, this); // a released native session must never be run
        if (features.Length % Dimension != 0) throw new ArgumentException($"Expected a multiple of {Dimension} values, got {features.Length}.", nameof(features));
        int n = features.Length / Dimension;
        var input = NamedOnnxValue.CreateFromTensor(_input, new DenseTensor<float>(features, [n, Dimension]));
        using var results = _session.Run([input]);
        T[] Output<T>(string name) => results.First(r => r.Name == name).AsTensor<T>().ToArray();
        return new ScoredRows(Output<float>(_logLikelihood), Output<float>(_bitsPerDimension),
            _anomaly is null ? null : Output<float>(_anomaly.ScoreName), _anomaly is null ? null : Output<bool>(_anomaly.PredictedLabelName));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _session.Dispose();
    }
}
