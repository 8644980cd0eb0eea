using Onnx;
using ReflectedDiffusion.Networks;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// Emits a trained score network into an ONNX graph, operator by operator as its TorchSharp forward computes it:
/// s(x, sigma, label) = raw(2x - 1, embedding(sigma, label)) / sigma, for <see cref="ResidualMlp"/> and
/// <see cref="UNet"/> bodies (the U-Net's layers are in NetworkGraph.UNet.cs).
/// </summary>
internal sealed partial class NetworkGraph
{
    private readonly Dictionary<string, Tensor> _weights;
    private readonly ScoreNetworkConfig _config;
    private readonly Dictionary<string, string> _initializers = new();
    private readonly GraphBuilder _root;

    /// <summary>Weights become initializers of <paramref name="root"/> (the outermost graph), so Loop bodies can read them.</summary>
    public NetworkGraph(ScoreNetwork network, GraphBuilder root)
    {
        if (network is not (ResidualMlp or UNet))
            throw new NotSupportedException($"ONNX export supports the ResidualMlp and UNet networks; {network.GetType().Name} is not supported.");
        _config = network.Config;
        _weights = network.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().to(float32));
        _root = root;
    }

    /// <summary>
    /// The network alone, for checking a translation against TorchSharp: inputs <c>X</c> [N, d], <c>Sigma</c> [N, 1],
    /// <c>Labels</c> int64 [N] (conditional networks) and <c>Directions</c> [K, 1, d]; outputs <c>Score</c> [N, d]
    /// and <c>Tangent</c> [K, N, d].
    /// </summary>
    internal static byte[] Standalone(ScoreNetwork network, int directions)
    {
        var g = new GraphBuilder("score_network");
        var net = new NetworkGraph(network, g);
        int d = network.Config.Dimension;
        g.Input("X", global::Onnx.TensorProto.Types.DataType.Float, null, d);
        g.Input("Sigma", global::Onnx.TensorProto.Types.DataType.Float, null, 1);
        g.Input("Directions", global::Onnx.TensorProto.Types.DataType.Float, directions, 1, d);
        string? labels = null;
        if (network.Config.IsConditional) g.Input(labels = "Labels", global::Onnx.TensorProto.Types.DataType.Int64, [null]);
        var (score, tangent) = net.ScoreWithTangent(g, "X", "Sigma", labels, "Directions", directions);
        g.OpNamed("Identity", [score], ["Score"]);
        g.OpNamed("Identity", [tangent], ["Tangent"]);
        g.Output("Score", global::Onnx.TensorProto.Types.DataType.Float, null, d);
        g.Output("Tangent", global::Onnx.TensorProto.Types.DataType.Float, directions, null, d);
        return g.ToModelBytes(GenerationGraph.Opset, "MLNetReflectedDiffusion");
    }

    /// <summary>Emits the score for float inputs x [N, d] and sigma [N, 1] (or [1, 1]); labels int64 [N].</summary>
    public string Score(GraphBuilder g, string x, string sigma, string? labels) => Forward(g, x, sigma, labels, null, 0).Score;

    /// <summary>
    /// Emits the score and its forward-mode tangent: <paramref name="tangent"/> [K, N, d] (or [K, 1, d], broadcast
    /// over the rows) holds <paramref name="directions"/> = K input directions, the result's tangent [K, N, d] the
    /// Jacobian-vector products. Every layer carries its own tangent rule (Linear: T W^T; SiLU: T silu'(a);
    /// convolution, pooling and upsampling: the same linear map; GroupNorm: its own rule, in Norm), so no autodiff is needed.
    /// </summary>
    public (string Score, string Tangent) ScoreWithTangent(GraphBuilder g, string x, string sigma, string? labels, string tangent, int directions)
    {
        var (score, t) = Forward(g, x, sigma, labels, tangent, directions);
        return (score, t!);
    }

    private (string Score, string? Tangent) Forward(GraphBuilder g, string x, string sigma, string? labels, string? tangent, int directions)
    {
        var emb = Embedding(g, sigma, labels);
        var centred = g.Sub(g.Mul(x, Const("two", 2f)), Const("one", 1f));
        var tc = tangent is null ? null : g.Mul(tangent, Const("two", 2f));
        var (raw, tRaw) = _config.Kind == NetworkKind.UNet ? UNetBody(g, centred, tc, emb, directions) : MlpBody(g, centred, tc, emb);
        return (g.Div(raw, sigma), tRaw is null ? null : g.Div(tRaw, sigma));
    }

    private (string Raw, string? Tangent) MlpBody(GraphBuilder g, string centred, string? tc, string emb)
    {
        var h = Linear(g, "_input", centred);
        var th = tc is null ? null : LinearTangent(g, "_input", tc);
        var e = g.Silu(emb);
        for (int b = 0; b < _config.Blocks; b++)
        {
            var inner = g.Add(Linear(g, $"_blocks.{b}._l1", g.Silu(h)), Linear(g, $"_blocks.{b}._emb", e));
            var tInner = th is null ? null : LinearTangent(g, $"_blocks.{b}._l1", SiluTangent(g, h, th));
            var update = Linear(g, $"_blocks.{b}._l2", g.Silu(inner));
            if (th is not null) th = g.Add(th, LinearTangent(g, $"_blocks.{b}._l2", SiluTangent(g, inner, tInner!)));
            h = g.Add(h, update);
        }
        var raw = Linear(g, "_output", g.Silu(h));
        var tRaw = th is null ? null : LinearTangent(g, "_output", SiluTangent(g, h, th));
        return (raw, tRaw);
    }

    // d silu(a) = silu'(a) da, silu'(a) = sigmoid(a) (1 + a (1 - sigmoid(a))).
    private string SiluTangent(GraphBuilder g, string a, string ta)
    {
        var s = g.Op("Sigmoid", a);
        var derivative = g.Mul(s, g.Add(Const("one", 1f), g.Mul(a, g.Sub(Const("one", 1f), s))));
        return g.Mul(ta, derivative);
    }

    private string LinearTangent(GraphBuilder g, string module, string t) => g.Op("MatMul", t, Weight(module + ".weight", transpose: true));

    private string Embedding(GraphBuilder g, string sigma, string? labels)
    {
        var phase = g.Mul(g.Mul(g.Op("Log", sigma), Const("quarter", 0.25f)), FrequencyConst());
        var features = g.OpWith("Concat", [g.Op("Sin", phase), g.Op("Cos", phase)], [GraphBuilder.Int("axis", 1)]);
        var e = Linear(g, "_embedding._l2", g.Silu(Linear(g, "_embedding._l1", features)));
        if (_config.IsConditional)
        {
            var table = Weight("_embedding._labels.weight", transpose: false);
            var lab = labels ?? throw new ArgumentException("A conditional network needs a label input (use the null label for none).");
            e = g.Add(e, g.OpWith("Gather", [table, lab], [GraphBuilder.Int("axis", 0)]));
        }
        return e;
    }

    private string Linear(GraphBuilder g, string module, string input)
        => g.Add(g.Op("MatMul", input, Weight(module + ".weight", transpose: true)), Weight(module + ".bias", transpose: false));

    private string Weight(string name, bool transpose, long[]? shape = null)
    {
        var key = name + (transpose ? "^T" : "") + (shape is null ? "" : "@" + string.Join('x', shape));
        if (_initializers.TryGetValue(key, out var existing)) return existing;
        if (!_weights.TryGetValue(name, out var w)) throw new InvalidOperationException($"The network has no weight '{name}'.");
        using var t = transpose ? w.t().contiguous() : w.contiguous();
        var init = _root.FloatTensor(t.data<float>().ToArray(), shape ?? t.shape);
        _initializers[key] = init;
        return init;
    }

    private bool HasWeight(string name) => _weights.ContainsKey(name);

    // An int64 vector constant (shapes, axes) in the outermost graph.
    private string Ints(params long[] values)
    {
        var key = "ints:" + string.Join(',', values);
        if (_initializers.TryGetValue(key, out var existing)) return existing;
        return _initializers[key] = _root.Int64Vector(values);
    }

    private string FrequencyConst()
    {
        if (_initializers.TryGetValue("frequencies", out var existing)) return existing;
        using var f = SigmaEmbedding.Frequencies(_config.EmbeddingDim, ScalarType.Float32);
        return _initializers["frequencies"] = _root.FloatTensor(f.data<float>().ToArray(), f.shape);
    }

    private string Const(string key, params float[] values)
    {
        if (_initializers.TryGetValue(key, out var existing)) return existing;
        return _initializers[key] = _root.Float(values);
    }
}
