using Onnx;
using ReflectedDiffusion.Sde;
using DataType = Onnx.TensorProto.Types.DataType;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// Compiles a trained model into one ONNX graph that generates samples: counter-based uniform prior from each row's
/// seed, the probability-flow ODE by Heun's method inside an ONNX Loop (the same arithmetic as
/// <see cref="ReflectedDiffusion.Sampling.Sampler.Heun"/>), the fold into the box after every step, classifier-free
/// guidance for conditional models, and the map back to the user's bounds.
/// </summary>
/// <remarks>
/// Inputs: <c>Seed</c> int64 [N, 1] (a row seed per row; ML.NET feeds [1, 1]); for conditional models also
/// <c>Label</c> int64 [N, 1] (the null label = number of classes) and <c>Guidance</c> float [N, 1].
/// Output: <c>Generated</c> float [N, d]. Opset 18 (the noise needs BitwiseXor on uint64).
/// </remarks>
public static class GenerationGraph
{
    /// <summary>The opset the graphs use.</summary>
    public const int Opset = 18;
    /// <summary>Default name of the row-seed input.</summary>
    public const string SeedInput = "Seed";
    /// <summary>Default name of the class-index input (conditional models).</summary>
    public const string LabelInput = "Label";
    /// <summary>Default name of the guidance-weight input (conditional models).</summary>
    public const string GuidanceInput = "Guidance";
    /// <summary>Default name of the output.</summary>
    public const string GeneratedOutput = "Generated";

    /// <summary>Builds the serialised ONNX model for <paramref name="model"/> with <paramref name="steps"/> Heun steps.</summary>
    public static byte[] Build(ScoreModel model, int steps, string seedName = SeedInput, string outputName = GeneratedOutput,
        string labelName = LabelInput, string guidanceName = GuidanceInput)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "Steps must be positive.");
        var g = new GraphBuilder("reflected_diffusion_generation");
        var net = new NetworkGraph(model.Network, g);
        var config = model.Network.Config;
        int d = config.Dimension;
        g.Input(seedName, DataType.Int64, null, 1);
        string? label = null, guidance = null;
        if (config.IsConditional)
        {
            g.Input(labelName, DataType.Int64, null, 1);
            g.Input(guidanceName, DataType.Float, null, 1);
            label = g.OpWith("Reshape", [labelName, g.Int64Vector(-1)], []);
            guidance = guidanceName;
        }

        var x0 = CounterNoiseGraph.Uniform(g, g.Cast(seedName, DataType.Uint64), Sampling.Sampler.PriorStream, 0, d);

        // Loop body: one Heun step from t0 = 1 + i dt to t1 = t0 + dt, dt = -1/steps.
        double dt = -1.0 / steps;
        var body = new GraphBuilder("heun_step", "b_");
        body.Graph.Input.Add(GraphBuilder.ValueInfo("i", DataType.Int64, []));
        body.Graph.Input.Add(GraphBuilder.ValueInfo("cond_in", DataType.Bool, []));
        body.Graph.Input.Add(GraphBuilder.Untyped("x_in", DataType.Double));
        var t0 = body.Add(body.Double(1.0), body.Mul(body.Cast("i", DataType.Double), body.Double(dt)));
        var t1 = body.Add(t0, body.Double(dt));
        var d1 = Velocity(body, net, model.Sde, "x_in", t0, label, guidance, config.NumClasses);
        var euler = SdeGraph.Fold(body, body.Add("x_in", body.Mul(d1, body.Double(dt))));
        var d2 = Velocity(body, net, model.Sde, euler, t1, label, guidance, config.NumClasses);
        var next = SdeGraph.Fold(body, body.Add("x_in", body.Mul(body.Add(d1, d2), body.Double(0.5 * dt))));
        body.OpNamed("Identity", ["cond_in"], ["cond_out"]);
        body.OpNamed("Identity", [next], ["x_out"]);
        body.Graph.Output.Add(GraphBuilder.ValueInfo("cond_out", DataType.Bool, []));
        body.Graph.Output.Add(GraphBuilder.Untyped("x_out", DataType.Double));

        var final = g.OpWith("Loop", [g.Int64(steps), "", x0], [GraphBuilder.GraphAttr("body", body.Graph)]);
        BoundsGraph.FromUnit(g, model.Bounds, g.Cast(final, DataType.Float), outputName);
        g.Output(outputName, DataType.Float, null, d);
        return g.ToModelBytes(Opset, "MLNetReflectedDiffusion");
    }

    // dx/dt = -g(t)^2 s(x, sigma(t)) / 2 with the network evaluated in float; guided when conditional.
    private static string Velocity(GraphBuilder b, NetworkGraph net, ReflectedVeSde sde, string x, string t, string? label, string? guidance, int numClasses)
    {
        var (sf, flowScale) = SdeGraph.At(b, sde, t);
        var xf = b.Cast(x, DataType.Float);
        string score;
        if (label is null) score = net.Score(b, xf, sf, null);
        else
        {
            var conditional = net.Score(b, xf, sf, label);
            var nulls = b.OpWith("Expand", [b.Int64(numClasses), b.OpWith("Shape", [label], [])], []);
            var unconditional = net.Score(b, xf, sf, nulls);
            // (1 + w) s_c - w s_null = s_c + w (s_c - s_null)
            score = b.Add(conditional, b.Mul(guidance!, b.Sub(conditional, unconditional)));
        }
        return SdeGraph.Velocity(b, flowScale, score);
    }
}
