using Onnx;
using ReflectedDiffusion.Networks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// Emits a trained score network into an ONNX graph, operator by operator as its TorchSharp forward computes it:
/// s(x, sigma, label) = raw(2x - 1, embedding(sigma, label)) / sigma, for <see cref="ResidualMlp"/> and
/// <see cref="UNet"/> bodies (the U-Net's layers are in NetworkGraph.UNet.cs). Layers are read through the
/// networks' typed properties, never by parameter name, and every emitted graph is checked to use every parameter.
/// </summary>
internal sealed partial class NetworkGraph
{
    private readonly ScoreNetwork _network;
    private readonly ScoreNetworkConfig _config;
    private readonly Dictionary<string, string> _initializers = new();
    // Per parameter (by reference), its initializer per layout (transposed, reshaped); the keys are what was consumed.
    private readonly Dictionary<Tensor, Dictionary<string, string>> _weightInitializers = new(ReferenceEqualityComparer.Instance);
    private readonly GraphBuilder _root;

    /// <summary>Weights become initializers of <paramref name="root"/> (the outermost graph), so Loop bodies can read them.</summary>
    public NetworkGraph(ScoreNetwork network, GraphBuilder root)
    {
        if (network is not (ResidualMlp or UNet))
            throw new NotSupportedException($"ONNX export supports the ResidualMlp and UNet networks; {network.GetType().Name} is not supported.");
        _network = network;
        _config = network.Config;
        _root = root;
    }

    /// <summary>The parameters the emitted graph reads, by reference.</summary>
    internal IReadOnlyCollection<Tensor> ConsumedParameters => _weightInitializers.Keys;

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
        var (raw, tRaw) = _network switch
        {
            UNet unet => UNetBody(g, unet, centred, tc, emb, directions),
            ResidualMlp mlp => MlpBody(g, mlp, centred, tc, emb),
            _ => throw new System.Diagnostics.UnreachableException(),
        };
        EnsureEveryParameterConsumed();
        if (_config.NeumannFaces) (raw, tRaw) = FaceMasked(g, x, sigma, raw, tRaw, tangent);
        return (g.Div(raw, sigma), tRaw is null ? null : g.Div(tRaw, sigma));
    }

    // raw * m with m = tanh(x / sigma) tanh((1 - x) / sigma) (ScoreNetwork.FaceMask); its tangent adds the mask's own
    // derivative along the input direction: T m + raw m' u, with m' = ((1 - a^2) b - a (1 - b^2)) / sigma.
    private (string Raw, string? Tangent) FaceMasked(GraphBuilder g, string x, string sigma, string raw, string? tRaw, string? tangent)
    {
        var a = g.Op("Tanh", g.Div(x, sigma));
        var b = g.Op("Tanh", g.Div(g.Sub(Const("one", 1f), x), sigma));
        var mask = g.Mul(a, b);
        var masked = g.Mul(raw, mask);
        if (tRaw is null || tangent is null) return (masked, null);
        var one = Const("one", 1f);
        var slope = g.Div(g.Sub(g.Mul(g.Sub(one, g.Mul(a, a)), b), g.Mul(a, g.Sub(one, g.Mul(b, b)))), sigma);
        return (masked, g.Add(g.Mul(tRaw, mask), g.Mul(g.Mul(raw, slope), tangent)));
    }

    // A parameter the compiler does not know would otherwise be dropped from the export without a word.
    private void EnsureEveryParameterConsumed()
    {
        var missing = _network.named_parameters().Where(p => !_weightInitializers.ContainsKey(p.parameter)).Select(p => p.name).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"The ONNX compiler does not translate these parameters of the {_network.GetType().Name}: {string.Join(", ", missing)}.");
    }

    private (string Raw, string? Tangent) MlpBody(GraphBuilder g, ResidualMlp mlp, string centred, string? tc, string emb)
    {
        var h = Linear(g, mlp.InputLayer, centred);
        var th = tc is null ? null : LinearTangent(g, mlp.InputLayer, tc);
        var e = g.Silu(emb);
        foreach (var block in mlp.Blocks)
        {
            var inner = g.Add(Linear(g, block.First, g.Silu(h)), Linear(g, block.EmbeddingProjection, e));
            var tInner = th is null ? null : LinearTangent(g, block.First, SiluTangent(g, h, th));
            var update = Linear(g, block.Second, g.Silu(inner));
            if (th is not null) th = g.Add(th, LinearTangent(g, block.Second, SiluTangent(g, inner, tInner!)));
            h = g.Add(h, update);
        }
        var raw = Linear(g, mlp.OutputLayer, g.Silu(h));
        var tRaw = th is null ? null : LinearTangent(g, mlp.OutputLayer, SiluTangent(g, h, th));
        return (raw, tRaw);
    }

    // d silu(a) = silu'(a) da, silu'(a) = sigmoid(a) (1 + a (1 - sigmoid(a))).
    private string SiluTangent(GraphBuilder g, string a, string ta)
    {
        var s = g.Op("Sigmoid", a);
        var derivative = g.Mul(s, g.Add(Const("one", 1f), g.Mul(a, g.Sub(Const("one", 1f), s))));
        return g.Mul(ta, derivative);
    }

    private string LinearTangent(GraphBuilder g, Linear layer, string t) => g.Op("MatMul", t, Weight(layer.weight, transpose: true));

    private string Embedding(GraphBuilder g, string sigma, string? labels)
    {
        var phase = g.Mul(g.Mul(g.Op("Log", sigma), Const("quarter", 0.25f)), FrequencyConst());
        var features = g.OpWith("Concat", [g.Op("Sin", phase), g.Op("Cos", phase)], [GraphBuilder.Int("axis", 1)]);
        var embedding = _network.Embedding;
        var e = Linear(g, embedding.Second, g.Silu(Linear(g, embedding.First, features)));
        if (embedding.LabelTable is { } labelTable)
        {
            var table = Weight(labelTable, transpose: false);
            var lab = labels ?? throw new ArgumentException("A conditional network needs a label input (use the null label for none).");
            e = g.Add(e, g.OpWith("Gather", [table, lab], [GraphBuilder.Int("axis", 0)]));
        }
        return e;
    }

    private string Linear(GraphBuilder g, Linear layer, string input)
    {
        var product = g.Op("MatMul", input, Weight(layer.weight, transpose: true));
        return layer.bias is null ? product : g.Add(product, Weight(layer.bias, transpose: false));
    }

    // A parameter as a float32 initializer of the outermost graph, optionally transposed or reshaped; one per layout.
    private string Weight(Tensor parameter, bool transpose, long[]? shape = null)
    {
        if (!_weightInitializers.TryGetValue(parameter, out var layouts))
            _weightInitializers[parameter] = layouts = new Dictionary<string, string>();
        var layout = (transpose ? "T" : "") + (shape is null ? "" : "@" + string.Join('x', shape));
        if (layouts.TryGetValue(layout, out var existing)) return existing;
        using var scope = NewDisposeScope(); // the float32 CPU copies; the parameter itself predates the scope
        var w = parameter.detach().cpu().to(float32);
        var t = transpose ? w.t().contiguous() : w.contiguous();
        return layouts[layout] = _root.FloatTensor(t.data<float>().ToArray(), shape ?? t.shape);
    }

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
