using ReflectedDiffusion.Sde;
using DataType = Onnx.TensorProto.Types.DataType;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// The reflected VE schedule as graph nodes, shared by the generation and likelihood graphs. The formulas are
/// <see cref="ReflectedVeSde"/>'s own, written in graph arithmetic, so TorchSharp and the graphs evaluate them alike.
/// </summary>
internal static class SdeGraph
{
    /// <summary>
    /// The schedule at time <paramref name="t"/> (a double scalar, or [N, 1] per row): sigma(t) as the network's noise input (float [1, 1] or [N, 1],
    /// broadcast over the rows) and the probability-flow scale -g(t)^2 / 2 (double, of t's shape).
    /// </summary>
    public static (string NetworkSigma, string FlowScale) At(GraphBuilder b, ReflectedVeSde sde, string t)
    {
        var arithmetic = Arithmetic(b);
        var sigma = sde.Sigma(t, arithmetic);
        var networkSigma = b.OpWith("Reshape", [b.Cast(sigma, DataType.Float), b.Int64Vector(-1, 1)], []);
        return (networkSigma, sde.ProbabilityFlowScale(sigma, arithmetic));
    }

    /// <summary>The probability-flow velocity: the scale from <see cref="At"/> times the network's (float) score, in double.</summary>
    public static string Velocity(GraphBuilder b, string flowScale, string score) => b.Mul(flowScale, b.Cast(score, DataType.Double));

    /// <summary>Folds into the unit box: values in it stay; others become 1 - |m - 1| with m = y - 2 floor(y / 2).</summary>
    public static string Fold(GraphBuilder b, string y)
    {
        var m = b.Sub(y, b.Mul(b.Double(2.0), b.Op("Floor", b.Mul(y, b.Double(0.5)))));
        var folded = b.Sub(b.Double(1.0), b.Op("Abs", b.Sub(m, b.Double(1.0))));
        var inside = b.Op("And", b.Op("GreaterOrEqual", y, b.Double(0.0)), b.Op("LessOrEqual", y, b.Double(1.0)));
        return b.Op("Where", inside, y, folded);
    }

    // Double scalars as nodes: constants become initializers.
    private static Arithmetic<string> Arithmetic(GraphBuilder b) => new((c, x) => b.Mul(b.Double(c), x), b.Mul, x => b.Op("Exp", x));
}
