using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Sampling;

/// <summary>
/// Adaptive Dormand-Prince 5(4) integration with a step size per row: every row of the state advances with its
/// own error control, so a row's trajectory (and result) does not depend on the other rows in the batch.
/// Finished rows leave the active set, so later iterations only evaluate rows still moving.
/// </summary>
internal static class Dopri5
{
    // The Dormand-Prince tableau, shared with the ONNX likelihood graph (Onnx/Dopri5Graph); A's last row is the fifth-order weights.
    internal static readonly double[] C = [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1];
    internal static readonly double[][] A =
    [
        [],
        [1.0 / 5],
        [3.0 / 40, 9.0 / 40],
        [44.0 / 45, -56.0 / 15, 32.0 / 9],
        [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
        [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
        [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
    ];
    // Fifth-order weights minus the embedded fourth-order ones.
    internal static readonly double[] E =
        [35.0 / 384 - 5179.0 / 57600, 0, 500.0 / 1113 - 7571.0 / 16695, 125.0 / 192 - 393.0 / 640, -2187.0 / 6784 + 92097.0 / 339200, 11.0 / 84 - 187.0 / 2100, -1.0 / 40];

    /// <summary>
    /// Integrates dy/dt = f(y, t, rows) for each row from t0 to t1. f receives the active rows' states [A, k], their
    /// times [A] and their row indices [A] (int64) and returns dy/dt [A, k]. <paramref name="project"/>, if given,
    /// maps accepted states (e.g. folds them into the box). Returns the final states and evaluations per row.
    /// </summary>
    public static (Tensor Y, long[] Evaluations) Solve(Func<Tensor, Tensor, Tensor, Tensor> f, Tensor y0, double t0, double t1,
        double rtol, double atol, Func<Tensor, Tensor>? project, Action<int, double>? progress, CancellationToken token, int maxIterations = 100_000)
    {
        long b = y0.shape[0];
        double direction = System.Math.Sign(t1 - t0);
        var y = y0.to(float64).clone();
        var t = torch.full(b, t0, dtype: float64, device: y0.device);
        var h = torch.full(b, 0.01 * (t1 - t0), dtype: float64, device: y0.device);
        var all = torch.arange(b, dtype: int64, device: y0.device);
        var k1 = f(y, t, all).to(float64);
        var evaluations = new long[b];
        Array.Fill(evaluations, 1L);
        var done = torch.zeros(b, dtype: ScalarType.Bool, device: y0.device);
        for (int iteration = 0; ; iteration++)
        {
            token.ThrowIfCancellationRequested();
            if (iteration >= maxIterations) throw new InvalidOperationException($"The ODE solver did not reach t = {t1} within {maxIterations} steps (rtol {rtol}, atol {atol}).");
            using var scope = NewDisposeScope();
            var active = (~done).nonzero().squeeze(1);
            long n = active.shape[0];
            if (n == 0) break;
            var ya = y.index_select(0, active);
            var ta = t.index_select(0, active);
            // Never step past t1.
            var remaining = t1 - ta;
            var ha = direction > 0 ? torch.minimum(h.index_select(0, active), remaining) : torch.maximum(h.index_select(0, active), remaining);
            var hcol = ha.unsqueeze(1);
            var k = new Tensor[7];
            k[0] = k1.index_select(0, active);
            for (int stage = 1; stage < 7; stage++)
            {
                var increment = torch.zeros_like(ya);
                for (int j = 0; j < stage; j++)
                    if (A[stage][j] != 0) increment = increment + A[stage][j] * k[j];
                k[stage] = f(ya + hcol * increment, ta + C[stage] * ha, active).to(float64);
            }
            var yNew = ya;
            for (int j = 0; j < 6; j++) if (A[6][j] != 0) yNew = yNew + hcol * (A[6][j] * k[j]);
            var err = torch.zeros_like(ya);
            for (int j = 0; j < 7; j++) if (E[j] != 0) err = err + E[j] * k[j];
            err = hcol * err;
            var scale = atol + rtol * torch.maximum(ya.abs(), yNew.abs());
            var errNorm = (err / scale).pow(2).mean([1]).sqrt();
            var accept = errNorm <= 1;
            if (project is not null) yNew = project(yNew);

            var acceptedRows = active.masked_select(accept);
            if (acceptedRows.shape[0] > 0)
            {
                y.index_copy_(0, acceptedRows, yNew.index_select(0, accept.nonzero().squeeze(1)));
                t.index_copy_(0, acceptedRows, (ta + ha).masked_select(accept));
                k1.index_copy_(0, acceptedRows, k[6].index_select(0, accept.nonzero().squeeze(1)));
            }
            var factor = (0.9 * errNorm.clamp_min(1e-10).pow(-0.2)).clamp(0.2, 10.0);
            factor = torch.where(accept, factor, factor.clamp_max(1.0));
            h.index_copy_(0, active, ha * factor);
            done.index_copy_(0, active, done.index_select(0, active) | (accept & ((ta + ha - t1).abs() <= 1e-12)));
            foreach (var row in active.data<long>()) evaluations[row] += 6;
            progress?.Invoke(iteration + 1, t.index_select(0, active).mean().item<double>());
        }
        return (y, evaluations);
    }
}
