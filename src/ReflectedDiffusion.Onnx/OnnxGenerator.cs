using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ReflectedDiffusion.Onnx;

/// <summary>Creates ONNX Runtime sessions on the CPU or, where present, on a CUDA device.</summary>
public static class OnnxSessions
{
    /// <summary>
    /// A session for <paramref name="model"/>: on CUDA device <paramref name="gpuDeviceId"/> when given, else the CPU.
    /// When CUDA cannot be used and <paramref name="fallbackToCpu"/> is set, the CPU is used instead.
    /// </summary>
    public static InferenceSession Create(byte[] model, int? gpuDeviceId = null, bool fallbackToCpu = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (gpuDeviceId is { } id)
        {
            try
            {
                return new InferenceSession(model, SessionOptions.MakeSessionOptionWithCudaProvider(id));
            }
            catch (OnnxRuntimeException) when (fallbackToCpu)
            {
                // No CUDA runtime or device here: the CPU provider computes the same graph.
            }
        }
        return new InferenceSession(model);
    }
}

/// <summary>Runs a compiled generation graph in batches through ONNX Runtime.</summary>
public sealed class OnnxGenerator : IDisposable
{
    private readonly InferenceSession _session;

    /// <summary>Wraps a graph from <see cref="GenerationGraph.Build"/>; see <see cref="OnnxSessions.Create"/> for the device.</summary>
    public OnnxGenerator(byte[] graph, int dimension, bool conditional, int? gpuDeviceId = null, bool fallbackToCpu = true)
    {
        _session = OnnxSessions.Create(graph, gpuDeviceId, fallbackToCpu);
        Dimension = dimension;
        IsConditional = conditional;
    }

    /// <summary>Features per generated row.</summary>
    public int Dimension { get; }
    /// <summary>True when the graph takes labels and guidance weights.</summary>
    public bool IsConditional { get; }

    /// <summary>Generates one row per seed (row-major [N, d], in the user's units).</summary>
    public float[] Generate(long[] rowSeeds, long[]? labels = null, float[]? guidance = null)
    {
        ArgumentNullException.ThrowIfNull(rowSeeds);
        ObjectDisposedException.ThrowIf(_disposed, this); // a released native session must never be run
        int n = rowSeeds.Length;
        var inputs = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(GenerationGraph.SeedInput, new DenseTensor<long>(rowSeeds, [n, 1])) };
        if (IsConditional)
        {
            if (labels is null) throw new ArgumentException("A conditional graph needs a label per row (the null label for none).", nameof(labels));
            guidance ??= new float[n];
            if (labels.Length != n || guidance.Length != n) throw new ArgumentException($"Expected {n} labels and guidance weights.");
            inputs.Add(NamedOnnxValue.CreateFromTensor(GenerationGraph.LabelInput, new DenseTensor<long>(labels, [n, 1])));
            inputs.Add(NamedOnnxValue.CreateFromTensor(GenerationGraph.GuidanceInput, new DenseTensor<float>(guidance, [n, 1])));
        }
        using var results = _session.Run(inputs);
        return results.First(r => r.Name == GenerationGraph.GeneratedOutput).AsTensor<float>().ToArray();
    }

    private bool _disposed;

    /// <inheritdoc />
    public void Dispose()
    {
        _disposed = true;
        _session.Dispose();
    }
}
