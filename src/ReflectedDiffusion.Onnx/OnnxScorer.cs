using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ReflectedDiffusion.Onnx;

/// <summary>Runs a compiled likelihood graph in batches through ONNX Runtime.</summary>
public sealed class OnnxScorer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _input, _logLikelihood, _bitsPerDimension;

    /// <summary>
    /// Wraps a graph from <see cref="LikelihoodGraph.Build"/> with the input and output names it was built with;
    /// see <see cref="OnnxSessions.Create"/> for the device.
    /// </summary>
    public OnnxScorer(byte[] graph, int dimension, int? gpuDeviceId = null, bool fallbackToCpu = true, string inputName = "Features",
        string logLikelihoodName = LikelihoodGraph.LogLikelihoodOutput, string bitsPerDimensionName = LikelihoodGraph.BitsPerDimensionOutput)
    {
        _session = OnnxSessions.Create(graph, gpuDeviceId, fallbackToCpu);
        Dimension = dimension;
        (_input, _logLikelihood, _bitsPerDimension) = (inputName, logLikelihoodName, bitsPerDimensionName);
    }

    /// <summary>Features per row.</summary>
    public int Dimension { get; }

    /// <summary>Log-likelihood (nats, user units) and bits per dimension of rows given row-major [N, d].</summary>
    public (float[] LogLikelihood, float[] BitsPerDimension) Score(float[] features)
    {
        ArgumentNullException.ThrowIfNull(features);
        ObjectDisposedException.ThrowIf(_disposed, this); // a released native session must never be run
        if (features.Length % Dimension != 0) throw new ArgumentException($"Expected a multiple of {Dimension} values, got {features.Length}.", nameof(features));
        int n = features.Length / Dimension;
        var input = NamedOnnxValue.CreateFromTensor(_input, new DenseTensor<float>(features, [n, Dimension]));
        using var results = _session.Run([input]);
        return (results.First(r => r.Name == _logLikelihood).AsTensor<float>().ToArray(),
                results.First(r => r.Name == _bitsPerDimension).AsTensor<float>().ToArray());
    }

    private bool _disposed;

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _session.Dispose();
    }
}
