using Onnx;
using ReflectedDiffusion.Sde;
using DataType = Onnx.TensorProto.Types.DataType;

namespace ReflectedDiffusion.Onnx;

/// <summary>
/// Compiles a trained model into one ONNX graph that scores rows: the map to the unit box, the probability-flow
/// ODE from t = 0 to 1 integrated with the divergence inside an ONNX Loop (adaptive Dormand-Prince 5(4) with a
/// step size per row, or classical RK4 on a uniform t grid: a geometric sigma grid; see <see cref="LikelihoodSolver"/>), the divergence from forward-mode tangents of the network (the exact trace, or Hutchinson's
/// estimate for large d), the uniform prior and the bounds term. Unconditional (the model's null label for conditional models).
/// </summary>
/// <remarks>Input <c>Features</c> float [N, d] in the user's units; outputs <c>LogLikelihood</c> and <c>BitsPerDimension</c>, float [N].</remarks>
public static class LikelihoodGraph
{
    /// <summary>
    /// The anomaly outputs of a likelihood graph, in ML.NET's convention: <paramref name="ScoreName"/> (float [N], higher
    /// is more anomalous: the negative log-likelihood per dimension, continued outside the bounds by a Gaussian tail of
    /// <paramref name="TailBandwidth"/> in unit-box coordinates, so finite for every row) and
    /// <paramref name="PredictedLabelName"/> (bool [N]: score above <paramref name="Threshold"/>).
    /// </summary>
    /// <remarks>
    /// With a <paramref name="Profile"/> the score is instead the squared Mahalanobis distance, under the profile's
    /// reference, of the row's vector: its multiscale profile (<see cref="Density.MultiscaleProfile"/>) at the
    /// profile's levels, then the likelihood score above.
    /// </remarks>
    public sealed record AnomalyOutputs(string ScoreName, string PredictedLabelName, double Threshold, double TailBandwidth, Density.AnomalyProfile? Profile = null);

    /// <summary>Name of the log-likelihood output.</summary>
    public const string LogLikelihoodOutput = "LogLikelihood";
    /// <summary>Name of the bits-per-dimension output.</summary>
    public const string BitsPerDimensionOutput = "BitsPerDimension";

    /// <summary>
    /// Builds the serialised ONNX model with <paramref name="steps"/> classical RK4 steps on a uniform t grid; see the
    /// overload with a <see cref="LikelihoodSolver"/> for the parameters.
    /// </summary>
    public static byte[] Build(ScoreModel model, int steps, string inputName = "Features",
        string logLikelihoodName = LogLikelihoodOutput, string bitsPerDimensionName = BitsPerDimensionOutput, int probes = 0, ulong probeSeed = 0, bool foldSteps = false,
        AnomalyOutputs? anomaly = null)
    {
        if (steps <= 0) throw new ArgumentOutOfRangeException(nameof(steps), steps, "Steps must be positive.");
        return Build(model, LikelihoodSolver.Rk4(steps), inputName, logLikelihoodName, bitsPerDimensionName, probes, probeSeed, foldSteps, anomaly);
    }

    /// <summary>
    /// Builds the serialised ONNX model that integrates the flow with <paramref name="solver"/>. Rows outside the bounds
    /// lie outside the model's support: their log-likelihood is minus infinity (bits per dimension plus infinity).
    /// The divergence is the exact trace (d tangents per evaluation) when <paramref name="probes"/> is 0; otherwise
    /// Hutchinson's estimate with that many Rademacher probes, drawn once from <paramref name="probeSeed"/> and fixed
    /// along the trajectory (an unbiased estimate of the log-likelihood at a fraction of the cost for large d).
    /// With <paramref name="foldSteps"/> the state folds back into the box after every step (see
    /// <see cref="Density.LikelihoodOptions.FoldIntoBox"/>).
    /// </summary>
    /// <remarks>
    /// With <paramref name="anomaly"/> the graph also outputs an anomaly score and a predicted label (see
    /// <see cref="AnomalyOutputs"/>); the flow then starts from each row clamped into the box, which for rows inside
    /// the bounds is the row itself. An adaptive solve that does not reach t = 1 within its step limit gives NaN
    /// log-likelihood (and the largest anomaly score) for that row, never a truncated integral.
    /// </remarks>
    public static byte[] Build(ScoreModel model, LikelihoodSolver solver, string inputName = "Features",
        string logLikelihoodName = LogLikelihoodOutput, string bitsPerDimensionName = BitsPerDimensionOutput, int probes = 0, ulong probeSeed = 0, bool foldSteps = false,
        AnomalyOutputs? anomaly = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(solver);
        if (probes < 0) throw new ArgumentOutOfRangeException(nameof(probes), probes, "Probes must not be negative.");
        var config = model.Network.Config;
        int d = config.Dimension;
        var g = new GraphBuilder("reflected_diffusion_likelihood");
        var net = new NetworkGraph(model.Network, g);
        g.Input(inputName, DataType.Float, null, d);

        var unit = BoundsGraph.ToUnit(g, model.Bounds, g.Cast(inputName, DataType.Double));
        // The flow starts from the row clamped into the box (the row itself when it lies inside): rows outside then get
        // the density at their nearest point of the box, which the anomaly score extends outwards.
        var start = anomaly is null ? unit : g.Op("Clip", unit, g.Double(0.0), g.Double(1.0));
        var zeros = g.OpWith("ReduceSum", [g.Mul(unit, g.Double(0.0)), g.Int64Vector(1)], [GraphBuilder.Int("keepdims", 1)]); // [N, 1]
        // Tangent directions [K, 1, d], broadcast over the rows: the identity (exact trace) or Rademacher probes.
        var (directions, k) = Directions(d, probes, probeSeed);
        var tangents = g.FloatTensor(directions, [k, 1, d]);
        var traceWeight = 1.0 / (probes == 0 ? 1 : probes);
        string? labels = null;
        if (config.IsConditional)
            labels = g.OpWith("Expand", [g.Int64(config.NumClasses), g.OpWith("Slice", [g.OpWith("Shape", [inputName], []), g.Int64Vector(0), g.Int64Vector(1)], [])], []);
        Flow flow = (b, x, t) => Dynamics(b, net, model.Sde, x, t, labels, tangents, k, traceWeight);

        var (delta, reached) = solver.Tolerance is { } tolerance
            ? Dopri5Graph.Integrate(g, flow, start, zeros, d, tolerance, solver.MaxSteps, foldSteps)
            : (Rk4(g, flow, start, zeros, solver.Steps!.Value, foldSteps), null);
        // log p(x) = log p_1(x_1) (0: uniform) + integral of div v + log |d unit / d x|.
        if (reached is not null) delta = g.Op("Where", reached, delta, g.Double(double.NaN));
        delta = g.OpWith("Reshape", [delta, g.Int64Vector(-1)], []);
        var inside = g.Op("And", g.Op("GreaterOrEqual", unit, g.Double(0.0)), g.Op("LessOrEqual", unit, g.Double(1.0)));
        var rowInside = g.Op("Equal", g.OpWith("ReduceMin", [g.Cast(inside, DataType.Double), g.Int64Vector(1)], [GraphBuilder.Int("keepdims", 0)]), g.Double(1.0));
        var logpAtStart = g.Add(delta, g.Double(ReflectedVeSde.PriorLogDensity + model.Bounds.LogDensityOffset));
        var logp = g.Op("Where", rowInside, logpAtStart, g.Double(double.NegativeInfinity));
        g.OpNamed("Cast", [logp], [logLikelihoodName], GraphBuilder.Int("to", (long)DataType.Float));
        var bpd = g.Mul(logp, g.Double(-1.0 / (d * System.Math.Log(2))));
        g.OpNamed("Cast", [bpd], [bitsPerDimensionName], GraphBuilder.Int("to", (long)DataType.Float));
        g.Output(logLikelihoodName, DataType.Float, [null]);
        g.Output(bitsPerDimensionName, DataType.Float, [null]);
        if (anomaly is not null) AddAnomalyOutputs(g, anomaly, unit, start, logpAtStart, d, net, labels);
        return g.ToModelBytes(GenerationGraph.Opset, "MLNetReflectedDiffusion");
    }

    /// <summary>Emits (v [N, d], div v [N, 1]) in double at state x and time t (double scalar) into a graph or body.</summary>
    internal delegate (string V, string Div) Flow(GraphBuilder b, string x, string t);

    // Classical RK4 on a uniform t grid inside a Loop; returns the divergence integral [N, 1].
    private static string Rk4(GraphBuilder g, Flow flow, string start, string zeros, int steps, bool foldSteps)
    {
        double h = 1.0 / steps;
        var body = new GraphBuilder("rk4_step", "b_");
        body.Graph.Input.Add(GraphBuilder.ValueInfo("i", DataType.Int64, []));
        body.Graph.Input.Add(GraphBuilder.ValueInfo("cond_in", DataType.Bool, []));
        body.Graph.Input.Add(GraphBuilder.Untyped("x_in", DataType.Double));
        body.Graph.Input.Add(GraphBuilder.Untyped("delta_in", DataType.Double));
        var t0 = body.Mul(body.Cast("i", DataType.Double), body.Double(h));
        var tMid = body.Add(t0, body.Double(h / 2));
        var tEnd = body.Add(t0, body.Double(h));
        var (v1, q1) = flow(body, "x_in", t0);
        var (v2, q2) = flow(body, body.Add("x_in", body.Mul(v1, body.Double(h / 2))), tMid);
        var (v3, q3) = flow(body, body.Add("x_in", body.Mul(v2, body.Double(h / 2))), tMid);
        var (v4, q4) = flow(body, body.Add("x_in", body.Mul(v3, body.Double(h))), tEnd);
        body.OpNamed("Identity", ["cond_in"], ["cond_out"]);
        var stepped = body.Add("x_in", Rk4Increment(body, v1, v2, v3, v4, h));
        body.OpNamed("Identity", [foldSteps ? SdeGraph.Fold(body, stepped) : stepped], ["x_out"]);
        body.OpNamed("Add", ["delta_in", Rk4Increment(body, q1, q2, q3, q4, h)], ["delta_out"]);
        body.Graph.Output.Add(GraphBuilder.ValueInfo("cond_out", DataType.Bool, []));
        body.Graph.Output.Add(GraphBuilder.Untyped("x_out", DataType.Double));
        body.Graph.Output.Add(GraphBuilder.Untyped("delta_out", DataType.Double));
        g.OpNamed("Loop", [g.Int64(steps), "", start, zeros], ["x_final", "delta_final"], GraphBuilder.GraphAttr("body", body.Graph));
        return "delta_final";
    }

    // Score = -(log p(clamped row) - |row - clamped row|^2 / (2 b^2)) / d in unit-box coordinates: the log-likelihood per
    // dimension inside the box, continued outside by a Gaussian tail of bandwidth b, so it is finite everywhere and grows
    // with the distance outside. A flow that did not give a finite value scores float.MaxValue (most anomalous).
    private static void AddAnomalyOutputs(GraphBuilder g, AnomalyOutputs anomaly, string unit, string start, string logpAtStart, int d, NetworkGraph net, string? labels)
    {
        var excess = g.Sub(unit, start);
        var tail = g.OpWith("ReduceSum", [g.Mul(excess, excess), g.Int64Vector(1)], [GraphBuilder.Int("keepdims", 0)]);
        var extended = g.Sub(logpAtStart, g.Mul(tail, g.Double(0.5 / (anomaly.TailBandwidth * anomaly.TailBandwidth))));
        var score = FiniteOrWorst(g, g.Mul(extended, g.Double(-1.0 / d)));
        if (anomaly.Profile is { } profile) score = FiniteOrWorst(g, ProfileDistance(g, profile, unit, score, net, labels));
        g.OpNamed("Cast", [score], [anomaly.ScoreName], GraphBuilder.Int("to", (long)DataType.Float));
        g.OpNamed("Greater", [score, g.Double(anomaly.Threshold)], [anomaly.PredictedLabelName]);
        g.Output(anomaly.ScoreName, DataType.Float, [null]);
        g.Output(anomaly.PredictedLabelName, DataType.Bool, [null]);
    }

    // A double score [N] clipped to float's range; not finite (a flow that failed) scores float.MaxValue, the most anomalous.
    private static string FiniteOrWorst(GraphBuilder g, string raw)
    {
        var finite = g.Op("Not", g.Op("Or", g.Op("IsNaN", raw), g.Op("IsInf", raw)));
        return g.Op("Where", finite, g.Op("Clip", raw, g.Double(-float.MaxValue), g.Double(float.MaxValue)), g.Double(float.MaxValue));
    }

    // The squared Mahalanobis distance of [profile at each level, likelihood score] (see Density.MultiscaleProfile);
    // computed as MultiscaleProfile.Compute does: the float score, its mean square, then the log in double.
    private static string ProfileDistance(GraphBuilder g, Density.AnomalyProfile profile, string unit, string likelihoodScore, NetworkGraph net, string? labels)
    {
        var x = g.Cast(unit, DataType.Float);
        var columns = profile.Levels.Select(level =>
        {
            var score = net.Score(g, x, g.FloatTensor([(float)level], [1, 1]), labels);
            var scaled = g.Mul(score, g.Float((float)level));
            var meanSquare = g.OpWith("ReduceMean", [g.Mul(scaled, scaled), g.Int64Vector(1)], [GraphBuilder.Int("keepdims", 1)]);
            return g.Op("Log", g.Cast(meanSquare, DataType.Double));
        }).Append(g.OpWith("Unsqueeze", [likelihoodScore, g.Int64Vector(1)], [])).ToArray();
        var vector = g.OpWith("Concat", columns, [GraphBuilder.Int("axis", 1)]);
        var reference = profile.Reference;
        int k = reference.Dimension;
        if (profile.Neighbours is { } neighbours) return NeighbourDistance(g, vector, reference, neighbours, profile.Rank);
        var centred = g.Sub(vector, g.Double(reference.Mean));
        var projected = g.Op("MatMul", centred, g.DoubleTensor(reference.Precision, [k, k]));
        return g.OpWith("ReduceSum", [g.Mul(projected, centred), g.Int64Vector(1)], [GraphBuilder.Int("keepdims", 0)]);
    }

    // The squared distance [N] of each vector [N, k] to its rank-th nearest reference vector in the metric P:
    // z'Pz - 2 z'P v + v'Pv for every reference v at once, then the rank smallest by TopK.
    private static string NeighbourDistance(GraphBuilder g, string vector, Density.MahalanobisReference metric, double[] neighbours, int rank)
    {
        int k = metric.Dimension, n = neighbours.Length / k, top = System.Math.Min(rank, n);
        var transposed = new double[k * n];
        var norms = new double[n];
        var origin = new double[k];
        for (int i = 0; i < n; i++)
        {
            for (int a = 0; a < k; a++) transposed[a * n + i] = neighbours[i * k + a];
            norms[i] = metric.Between(neighbours.AsSpan(i * k, k), origin);
        }
        var projected = g.Op("MatMul", vector, g.DoubleTensor(metric.Precision, [k, k]));
        var own = g.OpWith("ReduceSum", [g.Mul(projected, vector), g.Int64Vector(1)], [GraphBuilder.Int("keepdims", 1)]);
        var cross = g.Op("MatMul", projected, g.DoubleTensor(transposed, [k, n]));
        var squared = g.Add(g.Sub(own, g.Mul(cross, g.Double(2.0))), g.DoubleTensor(norms, [1, n]));
        string nearest = g.Fresh("nearest"), indices = g.Fresh("nearest_indices");
        g.OpNamed("TopK", [squared, g.Int64Vector(top)], [nearest, indices], GraphBuilder.Int("largest", 0), GraphBuilder.Int("sorted", 1));
        return g.OpWith("Gather", [nearest, g.Int64(top - 1)], [GraphBuilder.Int("axis", 1)]);
    }

    // The identity's rows (exact trace, K = d) or K Rademacher probes, row-major [K * d].
    private static (float[] Directions, int K) Directions(int d, int probes, ulong seed)
    {
        if (probes == 0) return (Enumerable.Range(0, d * d).Select(k => k / d == k % d ? 1f : 0f).ToArray(), d);
        // Counter-based (seed, index) bits: System.Random's first draws are correlated across nearby seeds.
        return (Enumerable.Range(0, probes * d).Select(i => (Training.CounterRng.Hash(seed, (ulong)i) >> 63) == 0 ? -1f : 1f).ToArray(), probes);
    }

    // Returns (v [N, d], div v [N, 1]) in double for the velocity v = -g^2 s / 2.
    private static (string V, string Div) Dynamics(GraphBuilder b, NetworkGraph net, ReflectedVeSde sde, string x, string t, string? labels, string directions, int k, double traceWeight)
    {
        var (sf, scale) = SdeGraph.At(b, sde, t);
        var (score, tangent) = net.ScoreWithTangent(b, b.Cast(x, DataType.Float), sf, labels, directions, k);
        // Trace of the Jacobian: weight * sum_k u_k . (J u_k) over the directions u_k (exact for the identity's rows).
        var trace = b.OpWith("ReduceSum", [b.Mul(tangent, directions), b.Int64Vector(0, 2)], [GraphBuilder.Int("keepdims", 0)]);
        var div = b.Mul(b.OpWith("Unsqueeze", [b.Mul(b.Cast(trace, DataType.Double), b.Double(traceWeight)), b.Int64Vector(1)], []), scale);
        return (SdeGraph.Velocity(b, scale, score), div);
    }

    private static string Rk4Increment(GraphBuilder b, string k1, string k2, string k3, string k4, double h)
        => b.Mul(b.Add(b.Add(k1, b.Mul(b.Add(k2, k3), b.Double(2.0))), k4), b.Double(h / 6));
}
