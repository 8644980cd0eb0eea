using System.Diagnostics;
using System.Globalization;
using ReflectedDiffusion.Density;
using ReflectedDiffusion.Networks;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Sde;
using ReflectedDiffusion.Training;
using static TorchSharp.torch;

namespace ReflectedDiffusion.Benchmarks;

/// <summary>
/// Our code against the PyTorch reference script (reference/versus.py: the same networks, loss, batch sizes and step
/// counts), measured alternately in one run with the same thread count; prints every figure and the median ratio.
/// </summary>
internal static class VersusPyTorch
{
    public static void Run(double seconds, int rounds, int sampleRows, int likelihoodRows)
    {
        TorchRuntime.EnsureConfigured();
        int threads = get_num_threads();
        string python = EnsurePython();
        string script = Path.Combine(AppContext.BaseDirectory, "reference", "versus.py");
        Console.WriteLine($"threads {threads}; {rounds} alternating rounds; training {seconds} s per figure; sampling {sampleRows} rows x 1,000 steps; likelihood {likelihoodRows} rows");
        Console.WriteLine($"convolution path: {(ConvolutionBackend.UsesNative(CPU) ? "native conv2d" : "unfold")}; reference: {Capture(python, "-c \"import torch; print('PyTorch', torch.__version__)\"").Trim()}");
        var table = new List<string>();
        void Figure(string name, string pyFigure, double pyAmount, string unit, Func<double> ours)
        {
            var (o, r) = (new List<double>(), new List<double>());
            for (int i = 0; i < rounds; i++)
            {
                o.Add(ours());
                string line = Capture(python, $"\"{script}\" {pyFigure} {pyAmount.ToString(CultureInfo.InvariantCulture)} {threads}");
                r.Add(double.Parse(line.Trim().Split(' ')[1], CultureInfo.InvariantCulture));
                Console.WriteLine($"  {name} round {i + 1}: ours {o[^1]:F1}, reference {r[^1]:F1} {unit}");
            }
            double mo = Median(o), mr = Median(r);
            table.Add($"| {name} | {mo:F1} | {mr:F1} | {unit} | {mo / mr:F2}x |");
        }
        Figure("training, ResidualMlp d=64, batch 512", "train-mlp", seconds, "samples/s", () => Train(new ScoreNetworkConfig { Dimension = 64 }, 512, seconds));
        Figure("training, U-Net 28x28, batch 128", "train-unet", seconds, "samples/s",
            () => Train(new ScoreNetworkConfig { Kind = NetworkKind.UNet, Channels = 1, Height = 28, Width = 28, Dimension = 784 }, 128, seconds));
        Figure("sampling, reflected SDE 1,000 steps, d=2", "sample", sampleRows, "rows/s", () => Sample(sampleRows, SamplerKind.ReflectedSde, 1000));
        Figure("sampling, Heun ODE 100 steps, d=2", "sample-ode", 10 * sampleRows, "rows/s", () => Sample(10 * sampleRows, SamplerKind.OdeHeun, 100));
        Figure("likelihood, RK45 1e-5 exact trace, d=8", "likelihood", likelihoodRows, "rows/s", () => Score(likelihoodRows));
        Figure("likelihood, default ONNX graph (RK4 100 folded steps, exact trace), d=8", "likelihood-rk4", likelihoodRows, "rows/s", () => ScoreOnnx(likelihoodRows));
        Console.WriteLine();
        Console.WriteLine("| figure | ours | reference | unit | ratio |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var row in table) Console.WriteLine(row);
    }

    private static double Train(ScoreNetworkConfig config, int batch, double seconds)
    {
        using var x = rand(4096, config.Dimension);
        var data = new InMemoryTrainingSet(x);
        // A short pilot sizes the measured run to about the given seconds.
        var pilot = new ScoreTrainer(config, new ReflectedVeSde(), new TrainerOptions { Steps = TimedTraining.WarmUpSteps, BatchSize = batch }).Fit(data);
        pilot.Network.Dispose();
        var (network, samplesPerSecond) = TimedTraining.Run(config, data, batch, System.Math.Max(3, (long)(seconds * pilot.SamplesPerSecond / batch)));
        network.Dispose();
        return samplesPerSecond;
    }

    private static double Sample(int rows, SamplerKind kind, int steps)
    {
        random.manual_seed(1);
        using var net = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 2 });
        var clock = Stopwatch.StartNew();
        using var r = Sampler.Generate(net, new ReflectedVeSde(), rows, kind, new SamplerOptions { Steps = steps }).Samples;
        return rows / clock.Elapsed.TotalSeconds;
    }

    // The estimator's default scoring path: the compiled likelihood graph (100 RK4 steps, folded flow, exact trace) in
    // ONNX Runtime, in batches of the default ScoringBatchSize. Graph compilation and session creation are not timed.
    private static double ScoreOnnx(int rows)
    {
        random.manual_seed(1);
        var defaults = new ReflectedDiffusion.ML.ReflectedDiffusionOptions();
        using var model = new ScoreModel(ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 8 }), new ReflectedVeSde());
        using var scorer = new ReflectedDiffusion.Onnx.OnnxScorer(
            ReflectedDiffusion.Onnx.LikelihoodGraph.Build(model, defaults.LikelihoodSteps!.Value, foldSteps: defaults.FoldLikelihoodFlow), 8);
        var rng = new Random(1);
        var x = Enumerable.Range(0, rows * 8).Select(_ => rng.NextSingle()).ToArray(); // uniform rows, as the reference scores
        var clock = Stopwatch.StartNew();
        for (int first = 0; first < rows; first += defaults.ScoringBatchSize)
            scorer.Score(x.AsSpan(first * 8, System.Math.Min(defaults.ScoringBatchSize, rows - first) * 8).ToArray());
        return rows / clock.Elapsed.TotalSeconds;
    }

    private static double Score(int rows)
    {
        random.manual_seed(1);
        using var net = ScoreNetwork.Create(new ScoreNetworkConfig { Dimension = 8 });
        using var x = rand(rows, 8, dtype: float64);
        var clock = Stopwatch.StartNew();
        Likelihood.Evaluate(net, new ReflectedVeSde(), x);
        return rows / clock.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> v)
    {
        var s = v.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    // python3 with torch; on Debian, installs python3-torch and libopenblas0-pthread when missing (needs root).
    private static string EnsurePython()
    {
        string python = Environment.GetEnvironmentVariable("RDIFF_PYTHON") ?? "/usr/bin/python3";
        if (TryRun(python, "-c \"import torch\"")) return python;
        Console.WriteLine("PyTorch missing: installing python3-torch and libopenblas0-pthread with apt-get");
        const string install = "install -y --no-install-recommends python3-torch libopenblas0-pthread";
        // A fresh machine may have no package lists yet: update them when the first install cannot find the packages.
        bool installed = TryRun("apt-get", install) || (TryRun("apt-get", "update") && TryRun("apt-get", install));
        if (!installed || !TryRun(python, "-c \"import torch\""))
            throw new InvalidOperationException($"{python} cannot import torch; install python3-torch (Debian) or set RDIFF_PYTHON.");
        return python;
    }

    private static bool TryRun(string file, string args)
    {
        try
        {
            var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
            info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            using var p = Process.Start(info)!;
            p.StandardOutput.ReadToEnd(); p.StandardError.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    private static string Capture(string file, string args)
    {
        var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}): {err.Result}");
        return output;
    }
}
