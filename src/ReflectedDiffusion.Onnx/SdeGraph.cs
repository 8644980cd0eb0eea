using ReflectedDiffusion.Sde;
using DataType = Onnx.TensorProto.Types.DataType;

namespace ReflectedDiffusion.Onnx;

/// <summary>The reflected VE schedule as graph nodes, shared by the generation and likelihood graphs.</summary>
internal static class SdeGraph
{
    /// <summary>sigma(t) = sigma_min exp(ln(sigma_max / sigma_min) t), a double scalar.</summary>
    public static string Sigma(GraphBuilder b, ReflectedVeSde sde, string t)
        => b.Mul(b.Double(sde.SigmaMin), b.Op("Exp", b.Mul(b.Double(sde.LogRatio), t)));

    /// <summary>The probability-flow factor -g(t)^2 / 2 = -ln(sigma_max / sigma_min) sigma^2, a double scalar.</summary>
    public static string FlowFactor(GraphBuilder b, ReflectedVeSde sde, string sigma)
        => b.Mul(b.Mul(b.Double(-sde.LogRatio), sigma), sigma);

    /// <summary>sigma as the network's noise input: float [1, 1], broadcast over the rows.</summary>
    public static string NetworkSigma(GraphBuilder b, string sigma)
        => b.OpWith("Reshape", [b.Cast(sigma, DataType.Float), b.Int64Vector(1, 1)], []);

    /// <summary>Folds into the unit box: values in it stay; others become 1 - |m - 1| with m = y - 2 floor(y / 2).</summary>
    public static string Fold(GraphBuilder b, string y)
    {
        var m = b.Sub(y, b.Mul(b.Double(2.0), b.Op("Floor", b.Mul(y, b.Double(0.5)))));
        var folded = b.Sub(b.Double(1.0), b.Op("Abs", b.Sub(m, b.Double(1.0))));
        var inside = b.Op("And", b.Op("GreaterOrEqual", y, b.Double(0.0)), b.Op("LessOrEqual", y, b.Double(1.0)));
        return b.Op("Where", inside, y, folded);
    }
}
