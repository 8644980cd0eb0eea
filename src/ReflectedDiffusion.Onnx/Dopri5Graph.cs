using DataType = Onnx.TensorProto.Types.DataType;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// Adaptive Dormand-Prince 5(4) inside an ONNX Loop, the graph twin of Core's solver: every row carries its own time
/// and step size (t and h are [N, 1]), so a row's result does not depend on the other rows of its batch and the
/// row-at-a-time and batched paths agree. The loop runs until the slowest row reaches t = 1; finished rows take
/// steps of length 0 meanwhile (their state is unchanged, their evaluations are wasted).
/// </summary>
internal static class Dopri5Graph
{
    // The tableau is the core solver's (Sampling.Dopri5); the fifth-order weights are its last row (first same as last).
    private static readonly double[] C = Sampling.Dopri5.C, E = Sampling.Dopri5.E, B = Sampling.Dopri5.A[6];
    private static readonly double[][] A = Sampling.Dopri5.A;
    private const double FirstStep = 0.02, EndSlack = 1e-9;

    /// <summary>
    /// Integrates d[x, delta]/dt = flow(x, t) from t = 0 to 1 from x = <paramref name="start"/> [N, d] and delta =
    /// <paramref name="zeros"/> [N, 1]. Returns delta at t = 1 and a bool [N, 1]: whether the row reached t = 1 within
    /// <paramref name="maxSteps"/> iterations. The error of a row is the larger of two scaled norms: the RMS over x of
    /// e / (tol (1 + max(|x|, |x_new|))) and, for the divergence integral, |e| / (tol (d + max(|delta|, |delta_new|))),
    /// a tolerance per feature, since likelihoods are compared per dimension (the RMS over all d + 1 components would
    /// dilute the integral's error by sqrt(d + 1)). With <paramref name="fold"/>, accepted states fold into the box, and
    /// the last stage (the next step's first) is evaluated at the folded state, so the first-same-as-last stage stays
    /// exact; for rows that left the box this perturbs only the error estimate, by h / 40 times the velocity change.
    /// </summary>
    public static (string Delta, string Reached) Integrate(GraphBuilder g, LikelihoodGraph.Flow flow, string start, string zeros, int d, double tolerance, int maxSteps, bool fold)
    {
        var t0 = g.Mul(zeros, g.Double(0.0));
        var (v0, q0) = flow(g, start, t0);
        var b = new GraphBuilder("dopri5_step", "b_");
        Body(b);
        g.OpNamed("Loop", [g.Int64(maxSteps), g.Cast(g.Int64(1), DataType.Bool), t0, g.Add(t0, g.Double(FirstStep)), start, zeros, v0, q0],
            ["t_final", "h_final", "x_final", "delta_final", "v_final", "q_final"], GraphBuilder.GraphAttr("body", b.Graph));
        return ("delta_final", g.Op("GreaterOrEqual", "t_final", g.Double(1 - EndSlack)));

        void Body(GraphBuilder b)
        {
            b.Graph.Input.Add(GraphBuilder.ValueInfo("i", DataType.Int64, []));
            b.Graph.Input.Add(GraphBuilder.ValueInfo("cond_in", DataType.Bool, []));
            foreach (var name in new[] { "t_in", "h_in", "x_in", "delta_in", "v_in", "q_in" }) b.Graph.Input.Add(GraphBuilder.Untyped(name, DataType.Double));
            // Never step past t = 1 (finished rows step by 0).
            var h = b.Op("Min", "h_in", b.Sub(b.Double(1.0), "t_in"));
            var v = new string[7];
            var q = new string[7];
            (v[0], q[0]) = ("v_in", "q_in");
            for (int stage = 1; stage < 6; stage++)
                (v[stage], q[stage]) = flow(b, b.Add("x_in", b.Mul(h, Combine(b, v, A[stage]))), b.Add("t_in", b.Mul(h, b.Double(C[stage]))));
            var x5 = b.Add("x_in", b.Mul(h, Combine(b, v, B)));
            var delta5 = b.Add("delta_in", b.Mul(h, Combine(b, q, B)));
            var xNext = fold ? SdeGraph.Fold(b, x5) : x5;
            var tNext = b.Add("t_in", h);
            (v[6], q[6]) = flow(b, xNext, tNext);
            var xScaled = Scaled(b, b.Mul(h, Combine(b, v, E)), "x_in", x5, tolerance, 1.0);
            var xError = b.Op("Sqrt", b.OpWith("ReduceMean", [b.Mul(xScaled, xScaled), b.Int64Vector(1)], [GraphBuilder.Int("keepdims", 1)]));
            var deltaError = b.Op("Abs", Scaled(b, b.Mul(h, Combine(b, q, E)), "delta_in", delta5, tolerance, d));
            var error = b.Op("Max", xError, deltaError); // [N, 1]
            // A NaN error (a flow that blew up) rejects and shrinks the step until the iteration limit reports the row.
            var accept = b.Op("LessOrEqual", error, b.Double(1.0));
            var factor = b.Op("Clip", b.Mul(b.Double(0.9), b.Op("Pow", b.Op("Max", error, b.Double(1e-10)), b.Double(-0.2))), b.Double(0.2), b.Double(10.0));
            factor = b.Op("Where", accept, factor, b.Op("Min", factor, b.Double(1.0)));
            factor = b.Op("Where", b.Op("IsNaN", error), b.Double(0.2), factor);
            var tOut = b.Op("Where", accept, tNext, "t_in");
            var unfinished = b.Op("Less", tOut, b.Double(1 - EndSlack));
            b.OpNamed("Cast", [b.OpWith("ReduceMax", [b.Cast(unfinished, DataType.Float)], [GraphBuilder.Int("keepdims", 0)])], ["cond_out"], GraphBuilder.Int("to", (long)DataType.Bool));
            b.OpNamed("Identity", [tOut], ["t_out"]);
            b.OpNamed("Mul", [h, factor], ["h_out"]);
            b.OpNamed("Where", [accept, xNext, "x_in"], ["x_out"]);
            b.OpNamed("Where", [accept, delta5, "delta_in"], ["delta_out"]);
            b.OpNamed("Where", [accept, v[6], "v_in"], ["v_out"]);
            b.OpNamed("Where", [accept, q[6], "q_in"], ["q_out"]);
            b.Graph.Output.Add(GraphBuilder.ValueInfo("cond_out", DataType.Bool, []));
            foreach (var name in new[] { "t_out", "h_out", "x_out", "delta_out", "v_out", "q_out" }) b.Graph.Output.Add(GraphBuilder.Untyped(name, DataType.Double));
        }
    }

    // sum_j c_j k_j over the non-zero weights.
    private static string Combine(GraphBuilder b, string[] k, double[] weights)
    {
        string? sum = null;
        for (int j = 0; j < weights.Length; j++)
        {
            if (weights[j] == 0) continue;
            var term = b.Mul(k[j], b.Double(weights[j]));
            sum = sum is null ? term : b.Add(sum, term);
        }
        return sum!;
    }

    // error / (tol (offset + max(|y|, |y_new|))).
    private static string Scaled(GraphBuilder b, string error, string y, string yNew, double tolerance, double offset)
        => b.Div(error, b.Mul(b.Double(tolerance), b.Add(b.Double(offset), b.Op("Max", b.Op("Abs", y), b.Op("Abs", yNew)))));
}
