namespace ReflectedDiffusion.Onnx.Tests;

using ReflectedDiffusion.Networks;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

/// <summary>A network's score and Jacobian-vector products, from its compiled graph and from TorchSharp, on the same inputs.</summary>
internal static class NetworkComparison
{
    /// <summary>The standalone graph's score [n, d] and tangents [k, n, d] for rows [n, d], sigmas [n] and directions [k, d].</summary>
    public static (float[] Score, float[] Tangent) Onnx(ScoreNetwork network, float[] rows, int n, float[] sigmas, long[]? labels, float[] directions, int k)
    {
        int d = network.Config.Dimension;
        using var session = new InferenceSession(NetworkGraph.Standalone(network, k));
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("X", new DenseTensor<float>(rows, [n, d])),
            NamedOnnxValue.CreateFromTensor("Sigma", new DenseTensor<float>(sigmas, [n, 1])),
            NamedOnnxValue.CreateFromTensor("Directions", new DenseTensor<float>(directions, [k, 1, d])),
        };
        if (labels is not null) inputs.Add(NamedOnnxValue.CreateFromTensor("Labels", new DenseTensor<long>(labels, [n])));
        using var results = session.Run(inputs);
        return (results.First(r => r.Name == "Score").AsTensor<float>().ToArray(), results.First(r => r.Name == "Tangent").AsTensor<float>().ToArray());
    }

    /// <summary>TorchSharp: the score, and J u per direction by differentiating the vector-Jacobian product v -> J^T v.</summary>
    public static (float[] Score, float[] Tangent) TorchSharp(ScoreNetwork network, float[] rows, int n, float[] sigmas, long[]? labels, float[] directions, int k)
    {
        int d = network.Config.Dimension;
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(rows, [n, d]).requires_grad_();
        var score = network.forward(x, torch.tensor(sigmas), labels is null ? null : torch.tensor(labels));
        var v = torch.zeros_like(score).requires_grad_();
        var vjp = torch.autograd.grad([score], [x], [v], create_graph: true)[0];
        var jvps = Enumerable.Range(0, k).Select(i =>
        {
            var u = torch.tensor(directions.AsSpan(i * d, d).ToArray()).expand(n, d);
            return torch.autograd.grad([vjp], [v], [u], retain_graph: true)[0];
        }).ToArray();
        return (score.detach().data<float>().ToArray(), torch.stack(jvps).data<float>().ToArray());
    }

    /// <summary>
    /// Asserts the graph's score within 1e-4 and its tangents within 1e-3 of TorchSharp's (relative to the largest
    /// magnitude), writes both errors under <paramref name="label"/>, and returns the graph's score.
    /// </summary>
    public static float[] AssertGraphMatchesTorchSharp(ScoreNetwork network, float[] rows, int n, float[] sigmas, long[]? labels, float[] directions, int k,
        ITestOutputHelper output, string label)
    {
        var (onnxScore, onnxTangent) = Onnx(network, rows, n, sigmas, labels, directions, k);
        var (expectedScore, expectedTangent) = TorchSharp(network, rows, n, sigmas, labels, directions, k);
        double scoreError = RelativeError(onnxScore, expectedScore), tangentError = RelativeError(onnxTangent, expectedTangent);
        output.WriteLine($"{label}: relative error score {scoreError:E2}, tangents {tangentError:E2}");
        Assert.True(scoreError <= 1e-4, $"{label}: score differs: {scoreError}");
        Assert.True(tangentError <= 1e-3, $"{label}: tangents differ: {tangentError}");
        return onnxScore;
    }

    /// <summary>The largest absolute difference over the largest expected magnitude.</summary>
    public static double RelativeError(float[] actual, float[] expected)
        => actual.Zip(expected, (a, b) => (double)System.Math.Abs(a - b)).Max() / expected.Max(e => (double)System.Math.Abs(e));
}
