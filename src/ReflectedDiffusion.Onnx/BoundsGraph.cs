using ReflectedDiffusion.Sde;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// <see cref="BoxBounds"/>' affine map between the user's units and the unit box as graph nodes, with the offsets
/// and scales taken from the bounds, shared by the generation and likelihood graphs.
/// </summary>
internal static class BoundsGraph
{
    /// <summary>(x - lo) / (hi - lo) for values <paramref name="x"/> (double [N, d]) in the user's units.</summary>
    public static string ToUnit(GraphBuilder g, BoxBounds bounds, string x)
        => g.Div(g.Sub(x, g.Double(bounds.Lower)), g.Double(bounds.Width));

    /// <summary>lo + u (hi - lo) in float for unit-box values <paramref name="unit"/> (float [N, d]), written to <paramref name="output"/>.</summary>
    public static void FromUnit(GraphBuilder g, BoxBounds bounds, string unit, string output)
    {
        var lower = g.FloatTensor(ToFloats(bounds.Lower), [bounds.Dimension]);
        var width = g.FloatTensor(ToFloats(bounds.Width), [bounds.Dimension]);
        g.OpNamed("Add", [lower, g.Mul(unit, width)], [output]);
    }

    private static float[] ToFloats(double[] values) => values.Select(v => (float)v).ToArray();
}
