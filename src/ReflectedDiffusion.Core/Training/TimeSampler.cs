using TorchSharp;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Training;

/// <summary>
/// Draws training times t in [minTime, 1]. Uniform by default; with importance sampling, loss-aware: t is drawn
/// per bin with probability proportional to the root mean square of the recent losses in that bin (mixed with
/// a uniform floor), and each sample is reweighted by 1 / (bins * p_bin), so the loss stays unbiased while its
/// variance drops. Stays uniform until every bin has a full loss history.
/// </summary>
internal sealed class TimeSampler
{
    private const double UniformFloor = 0.1;
    private readonly double _minTime;
    private readonly bool _importance;
    private readonly int _bins, _history;
    private readonly double[] _losses;  // [bins * history], a ring per bin
    private readonly long[] _counts;    // losses seen per bin

    public TimeSampler(double minTime, bool importance, int bins = 32, int history = 16)
    {
        (_minTime, _importance, _bins, _history) = (minTime, importance, bins, history);
        _losses = new double[bins * history];
        _counts = new long[bins];
    }

    /// <summary>Times [B] and their importance weights [B] (all one when uniform).</summary>
    public (Tensor Time, Tensor Weight) Sample(int batchSize, Generator gen, Device device)
    {
        using var scope = NewDisposeScope();
        var u = torch.rand(batchSize, dtype: float32, generator: gen);
        Tensor t, w;
        if (!IsWarm)
        {
            t = _minTime + (1 - _minTime) * u;
            w = torch.ones(batchSize);
        }
        else
        {
            var p = torch.tensor(BinProbabilities());
            var bin = torch.multinomial(p, batchSize, replacement: true, generator: gen);
            var within = torch.rand(batchSize, dtype: float32, generator: gen);
            t = _minTime + (1 - _minTime) * (bin.to(float32) + within) / _bins;
            w = (1.0 / (_bins * p.index_select(0, bin))).to(float32);
        }
        return (t.to(device).MoveToOuterDisposeScope(), w.to(device).MoveToOuterDisposeScope());
    }

    /// <summary>Records per-sample losses (unweighted) at their times.</summary>
    public void Record(Tensor time, Tensor perSampleLoss)
    {
        if (!_importance) return;
        var ts = time.detach().cpu().to(float64).data<double>().ToArray();
        var ls = perSampleLoss.detach().cpu().to(float64).data<double>().ToArray();
        for (int i = 0; i < ts.Length; i++)
        {
            int b = (int)System.Math.Clamp((ts[i] - _minTime) / (1 - _minTime) * _bins, 0, _bins - 1);
            _losses[b * _history + (int)(_counts[b] % _history)] = ls[i];
            _counts[b]++;
        }
    }

    private bool IsWarm => _importance && _counts.All(c => c >= _history);

    private double[] BinProbabilities()
    {
        var rms = new double[_bins];
        for (int b = 0; b < _bins; b++)
        {
            double s = 0;
            for (int k = 0; k < _history; k++) s += _losses[b * _history + k] * _losses[b * _history + k];
            rms[b] = System.Math.Sqrt(s / _history);
        }
        double total = rms.Sum();
        return rms.Select(r => total > 0 ? (1 - UniformFloor) * r / total + UniformFloor / _bins : 1.0 / _bins).ToArray();
    }

    public IEnumerable<KeyValuePair<string, Tensor>> State()
    {
        yield return new("time_sampler.losses", torch.tensor(_losses));
        yield return new("time_sampler.counts", torch.tensor(_counts));
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        if (!state.TryGetValue("time_sampler.losses", out var l) || !state.TryGetValue("time_sampler.counts", out var c)) return;
        l.data<double>().ToArray().CopyTo(_losses, 0);
        c.data<long>().ToArray().CopyTo(_counts, 0);
    }
}
