using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Sampling;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// 'rdiff demo': the main job on the embedded 8x8 digits. Trains a class-conditional model, draws samples per class
/// with and without guidance, checks them with a classifier trained on real digits, scores held-out digits, and
/// writes the model, sample grids and a report.
/// </summary>
internal static class Demo
{
    private const double PixelMax = 16;
    private static readonly double[] Guidances = [0, 2];

    public static Command Create(CliContext context)
    {
        var output = CommonOptions.Tool("--out", "The folder to write the model, sample grids and report.md to.", "rdiff-demo");
        var steps = CommonOptions.Tool("--steps", "Training steps.", 3000);
        var samples = CommonOptions.Tool("--samples", "Samples per class and guidance weight.", 100);
        var scoreRows = CommonOptions.Tool<int?>("--score-rows", "Held-out (and training) digits to score; all held-out digits when not given.");
        var seed = CommonOptions.Tool("--seed", "Seed of the split, the training and the samples.", 1UL);
        samples.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("Option '--samples' must be at least 1."); });
        scoreRows.Validators.Add(r => { if (r.GetValueOrDefault<int?>() < 1) r.AddError("Option '--score-rows' must be at least 1."); });
        var command = new Command("demo", "Trains a class-conditional model on the embedded 8x8 digits, draws samples per class with and without guidance, checks them with a classifier, scores held-out digits and writes a report.")
        {
            output, steps, samples, scoreRows, seed,
        };
        command.SetAction(p => Run(context, p.GetValue(output)!, p.GetValue(steps), p.GetValue(samples), p.GetValue(scoreRows) ?? int.MaxValue, p.GetValue(seed)));
        return command;
    }

    private static void Run(CliContext context, string outDir, int steps, int perClass, int scoreRows, ulong seed)
    {
        var (output, progress, cancel) = (context.Output, context.Progress, context.Cancel);
        var total = Stopwatch.StartNew();
        var (train, heldOut) = Split(LoadDigits(), seed);
        output.WriteLine($"rdiff demo: {train.Rows.Count} training and {heldOut.Rows.Count} held-out 8x8 digits (UCI, CC BY 4.0); output in {outDir}/");

        var shape = train.Image!.Value;
        var options = new ReflectedDiffusionOptions
        {
            NumberOfSteps = steps, BatchSize = 256, Weighting = LossWeighting.Sigma2, Bounds = BoundsSource.Explicit,
            LowerBounds = new double[train.Dimension], UpperBounds = Enumerable.Repeat(PixelMax, train.Dimension).ToArray(),
            // Pixel levels lie 1/16 apart: a smallest noise level far below that would model the grid, not the digits.
            // The plain (unfolded) likelihood flow, as in the paper and in earlier reports of this demo.
            SigmaMin = 0.01, LikelihoodSteps = 50, FoldLikelihoodFlow = false, Seed = seed, LabelColumnName = train.LabelName,
            ImageHeight = shape.Height, ImageWidth = shape.Width, ImageChannels = shape.Channels,
        };
        var watch = Stopwatch.StartNew();
        using var bundle = Workflow.Train(train, options, progress, cancel, name => name == nameof(options.NumberOfSteps) ? "--steps" : null);
        double trainSeconds = watch.Elapsed.TotalSeconds;
        Directory.CreateDirectory(outDir);
        bundle.Save(Path.Combine(outDir, "model.zip"));

        var ml = new MLContext(seed: 1);
        var classifier = ml.Transforms.NormalizeMinMax("Features")
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Label", "Features"))
            .Fit(Workflow.FeatureView(ml, train.Rows, train.Dimension, train.Labels, 10));
        double realAccuracy = Accuracy(Predict(ml, classifier, heldOut.Rows), heldOut.Labels!);

        var recognition = new List<(double Guidance, double[] PerClass, double Overall)>();
        var labels = Enumerable.Range(0, 10 * perClass).Select(i => (long)(i / perClass)).ToArray();
        watch.Restart();
        foreach (double w in Guidances)
        {
            var generation = new GenerationOptions { Sampler = SamplerKind.OdeHeun, Steps = 100, Seed = seed, Guidance = w, CancellationToken = cancel };
            var samples = Workflow.Sample(bundle.Transformer.Generator, labels.Length, labels, generation, progress, _ => null);
            var predicted = Predict(ml, classifier, samples);
            var perClassRate = Enumerable.Range(0, 10).Select(c => Accuracy(predicted.Skip(c * perClass).Take(perClass).ToArray(), labels.Skip(c * perClass).Take(perClass).ToArray())).ToArray();
            recognition.Add((w, perClassRate, Accuracy(predicted, labels)));
            var folder = Path.Combine(outDir, "samples", $"guidance-{w.ToString(CultureInfo.InvariantCulture)}");
            Directory.CreateDirectory(folder);
            for (int c = 0; c < 10; c++)
                SampleCommand.WriteGrid(Path.Combine(folder, $"digit-{c}.png"), samples.Skip(c * perClass).Take(perClass).ToList(), bundle);
        }
        double sampleSeconds = watch.Elapsed.TotalSeconds;

        watch.Restart();
        int scored = System.Math.Min(scoreRows, heldOut.Rows.Count);
        output.WriteLine($"likelihood: scoring {scored} held-out and {scored} training digits (exact divergence, 64 tangents per row)...");
        var likelihood = new (string Set, List<float[]> Rows)[]
        {
            ("held-out digits", heldOut.Rows.Take(scored).ToList()), ($"training digits (first {scored})", train.Rows.Take(scored).ToList()),
        }.Select(s => (s.Set, s.Rows.Count, Scores: Workflow.Score(bundle, s.Rows, progress))).ToList();
        double scoreSeconds = watch.Elapsed.TotalSeconds;

        var report = new StringBuilder();
        report.AppendLine("# rdiff demo report").AppendLine()
            .AppendLine($"Data: the UCI 8x8 digits (E. Alpaydin, C. Kaynak; CC BY 4.0), pixel values 0..16; {train.Rows.Count} training rows, {heldOut.Rows.Count} held out (seed {seed}).")
            .AppendLine($"Model: class-conditional residual MLP (width 256, 3 blocks) on 64 pixels, bounds [0, 16] per pixel, sigma_min {options.SigmaMin}, sigma^2 weighting; {steps} steps of batch 256 in {trainSeconds:F0} s (final loss {bundle.Transformer.LossTrace.TakeLast(50).Average():F4}).")
            .AppendLine($"Classifier: ML.NET SdcaMaximumEntropy trained on the training digits; accuracy on the held-out real digits {realAccuracy:F3}.").AppendLine()
            .AppendLine($"## Class-conditional samples ({perClass} per class, probability-flow ODE, Heun 100 steps; {sampleSeconds:F0} s)").AppendLine()
            .AppendLine("Share of samples the classifier labels with the class they were drawn for:").AppendLine()
            .AppendLine("| guidance | overall | " + string.Join(" | ", Enumerable.Range(0, 10)) + " |")
            .AppendLine("|---|---|" + string.Concat(Enumerable.Repeat("---|", 10)));
        foreach (var r in recognition)
            report.AppendLine($"| {r.Guidance} | {r.Overall:F3} | " + string.Join(" | ", r.PerClass.Select(p => p.ToString("F2", CultureInfo.InvariantCulture))) + " |");
        report.AppendLine().AppendLine($"## Likelihood (exact, probability-flow ODE with RK4 {options.LikelihoodSteps} steps and exact divergence; {scoreSeconds:F0} s)").AppendLine()
            .AppendLine("In pixel units (density on [0, 16]^64). Uniform density on the box: 4.000 bits/dim.").AppendLine()
            .AppendLine("| rows | count | mean log-likelihood (nats) | mean bits/dim |").AppendLine("|---|---|---|---|");
        foreach (var (set, count, (ll, bpd, _, _)) in likelihood)
            report.AppendLine($"| {set} | {count} | {ll.Average():F1} | {bpd.Average():F3} |");
        report.AppendLine().AppendLine($"Total time {total.Elapsed.TotalSeconds:F0} s. Files: model.zip (an ML.NET model file; `rdiff sample --model {outDir}/model.zip ...` uses it), samples/guidance-*/digit-*.png, report.md.");
        IO.AtomicFile.Write(Path.Combine(outDir, "report.md"), s => s.Write(Encoding.UTF8.GetBytes(report.ToString())));
        output.WriteLine();
        output.Write(report.ToString());
    }

    /// <summary>The embedded digits: 64 pixel columns (0..16) and the digit, no header.</summary>
    public static Dataset LoadDigits()
    {
        using var stream = typeof(Demo).Assembly.GetManifestResourceStream("digits.csv.gz") ?? throw new InvalidOperationException("The embedded digits are missing from the build.");
        using var reader = new StreamReader(new GZipStream(stream, CompressionMode.Decompress));
        var rows = new List<float[]>();
        var labels = new List<long>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0) continue;
            var v = line.Split(',').Select(f => float.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            rows.Add(v[..64]);
            labels.Add((long)v[64]);
        }
        var shape = new ImageShape(8, 8, 1);
        return new Dataset
        {
            FeatureNames = Dataset.PixelNames(shape), Rows = rows, Image = shape, LabelName = "digit",
            ClassNames = Enumerable.Range(0, 10).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray(), Labels = labels.ToArray(),
        };
    }

    // A seeded 80/20 split.
    private static (Dataset Train, Dataset HeldOut) Split(Dataset all, ulong seed)
    {
        var order = Enumerable.Range(0, all.Rows.Count).ToArray();
        new Random((int)(seed % int.MaxValue)).Shuffle(order);
        int held = all.Rows.Count / 5;
        Dataset Take(IEnumerable<int> idx) => all with { Rows = idx.Select(i => all.Rows[i]).ToList(), Labels = idx.Select(i => all.Labels![i]).ToArray() };
        return (Take(order.Skip(held)), Take(order.Take(held)));
    }

    private static long[] Predict(MLContext ml, ITransformer classifier, IReadOnlyList<float[]> rows)
    {
        var scored = classifier.Transform(Workflow.FeatureView(ml, rows, 64));
        return scored.GetColumn<uint>("PredictedLabel").Select(k => (long)k - 1).ToArray();
    }

    private static double Accuracy(long[] predicted, long[] truth) => predicted.Zip(truth).Count(p => p.First == p.Second) / (double)truth.Length;
}
