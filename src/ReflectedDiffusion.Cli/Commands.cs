using System.Diagnostics;
using System.Globalization;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Training;

namespace ReflectedDiffusion.Cli;

/// <summary>The train, sample, score and export commands.</summary>
internal static class Commands
{
    public static void Train(Arguments a, TextWriter output, CancellationToken cancel)
    {
        string dataPath = a.Require("data"), outPath = a.Require("out");
        var image = a.Get("image") is { } shapeText ? ImageShape.Parse(shapeText, "image") : (ImageShape?)null;
        var network = a.GetChoice("network", "auto", "auto", "mlp", "unet");
        // Options first, so that a bad option is reported before the data is read.
        var settings = new TrainSettings
        {
            Steps = a.GetInt("steps", 2000, 1), BatchSize = a.GetInt("batch-size", 256, 1, 1 << 20),
            Weighting = a.GetChoice("weighting", "sigma2", "sigma2", "likelihood") == "sigma2" ? LossWeighting.Sigma2 : LossWeighting.Likelihood,
            SigmaMin = a.GetDouble("sigma-min", 1e-4, 1e-6, 0.5), Seed = a.GetSeed("seed", 1), Device = Device(a), Cancel = cancel,
            FoldLikelihood = a.GetChoice("likelihood-flow", "plain", "plain", "folded") == "folded",
        };
        string? boundsChoice = a.Get("bounds") is null ? null : a.GetChoice("bounds", "data", "unit", "data");
        var data = ReadTrainingData(a, dataPath, image);
        if (network == "unet" && data.Image is null)
            throw new InputException($"Option '--network unet': the U-Net needs images (a folder of images, an IDX file, or a CSV with --image HxW[xC]); {dataPath} is tabular.");
        // auto: the U-Net for images when training on CUDA; on CPUs it trains tens of times slower than the MLP.
        bool unet = network == "unet" || (network == "auto" && data.Image is not null && settings.Device != "cpu");
        settings = settings with { Network = unet ? Networks.NetworkKind.UNet : Networks.NetworkKind.Mlp };
        var bounds = boundsChoice ?? (data.Image is not null ? "unit" : "data");
        if (bounds == "unit") data.RequireWithin(0, 1, "--bounds unit needs values in [0, 1]; use --bounds data or normalise the data");
        settings = settings with { Bounds = bounds == "unit" ? BoundsSource.Unit : BoundsSource.Data };
        output.WriteLine($"Training on {data.Rows.Count} rows of {data.Dimension} features" + (data.ClassNames is { } c ? $", {c.Length} classes ('{data.LabelName}')" : "") +
                         $" from {dataPath}, with the {(unet ? "U-Net" : "residual MLP")}.");
        var watch = Stopwatch.StartNew();
        using var bundle = Workflow.Train(data, settings, ProgressReporter.ForConsole(output));
        bundle.Save(outPath);
        output.WriteLine($"Trained {settings.Steps} steps in {watch.Elapsed.TotalSeconds:F0} s (final loss {bundle.Transformer.LossTrace.TakeLast(50).Average():F4}); model written to {outPath}.");
    }

    private static Dataset ReadTrainingData(Arguments a, string path, ImageShape? image)
    {
        if (Directory.Exists(path) || IdxFile.LooksLikeIdx(path))
        {
            if (a.Get("label") is not null || a.Get("features") is not null)
                throw new InputException("Options '--label' and '--features' apply to CSV files; image data takes its classes from the folder names or the IDX label file.");
            var images = Directory.Exists(path) ? ImageFolder.Read(path, image) : IdxFile.Read(path);
            if (image is { } wanted && images.Image != wanted)
                throw new InputException($"Option '--image {wanted}': {path} holds {images.Image} images.");
            return images;
        }
        var features = a.Get("features")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var data = Dataset.FromCsv(CsvTable.Read(path), a.Get("label"), features);
        if (image is not { } shape) return data;
        if (shape.Size != data.Dimension) throw new InputException($"Option '--image {shape}': {shape.Size} pixels, but {path} has {data.Dimension} feature columns.");
        return data with { Image = shape };
    }

    private static string Device(Arguments a)
    {
        if (a.GetChoice("device", "cpu", "cpu", "cuda") == "cpu") return "cpu";
        if (!TorchSharp.torch.cuda.is_available())
            throw new InputException("Option '--device cuda': no CUDA device is available to TorchSharp here (this build ships the CPU libtorch).");
        return "cuda:0";
    }

    public static void Sample(Arguments a, TextWriter output, CancellationToken cancel)
    {
        using var bundle = ModelBundle.Load(a.Require("model"));
        a.Require("count");
        int count = a.GetInt("count", 0, 1, 10_000_000);
        string outPath = a.Require("out");
        bool png = outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
        if (!png && !outPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) throw new InputException($"Option '--out {outPath}': write a .csv or a .png file.");
        if (png && bundle.Info.ImageShape is null) throw new InputException($"Option '--out {outPath}': the model was trained on tabular data; write a .csv file.");
        var info = bundle.Info;
        double guidance = a.GetDouble("guidance", 0, -100, 100);
        var labels = Labels(info, a.Get("label"), count);
        if (labels is null && guidance != 0) throw new InputException("Option '--guidance': the model is unconditional (trained without --label).");
        int? steps = a.Get("steps") is null ? null : a.GetInt("steps", 0, 1, 100_000);
        var rows = Workflow.Sample(bundle.Transformer.Generator, count, labels, guidance, a.GetChoice("sampler", "ode", "ode", "sde", "pc"), steps, a.GetSeed("seed", 0), ProgressReporter.ForConsole(output), cancel);
        if (png) WriteGrid(outPath, rows, bundle);
        else
        {
            var header = info.IsConditional ? [.. info.Features, info.Label ?? "label"] : info.Features;
            CsvTable.Write(outPath, header, rows.Select((r, i) => r.Select(CsvTable.Format).Concat(labels is null ? [] : [info.Classes![labels[i]]])));
        }
        output.WriteLine($"Wrote {count} samples to {outPath}.");
    }

    // One class per row for conditional models: the given class, or the classes in turn.
    private static long[]? Labels(ModelInfo info, string? label, int count)
    {
        if (!info.IsConditional)
            return label is null ? null : throw new InputException("Option '--label': the model is unconditional (trained without --label).");
        if (label is null) return Enumerable.Range(0, count).Select(i => (long)(i % info.Classes!.Length)).ToArray();
        int index = Array.IndexOf(info.Classes!, label);
        if (index < 0) throw new InputException($"Option '--label {label}': not a class of the model (classes: {string.Join(", ", info.Classes!)}).");
        return Enumerable.Repeat((long)index, count).ToArray();
    }

    /// <summary>A square-ish PNG grid of image rows, pixel values mapped from the model's bounds to 0..255.</summary>
    public static void WriteGrid(string path, IReadOnlyList<float[]> rows, ModelBundle bundle, int? columns = null)
    {
        var shape = bundle.Info.ImageShape!.Value;
        double lo = bundle.Model.Bounds.Lower.Min(), hi = bundle.Model.Bounds.Upper.Max();
        int scale = System.Math.Max(1, 64 / System.Math.Max(shape.Height, shape.Width));
        Png.WriteGrid(path, rows, shape, columns ?? (int)System.Math.Ceiling(System.Math.Sqrt(rows.Count)), scale,
            v => (byte)System.Math.Clamp(System.Math.Round((v - lo) / (hi - lo) * 255), 0, 255));
    }

    public static void Score(Arguments a, TextWriter output)
    {
        using var bundle = ModelBundle.Load(a.Require("model"));
        string dataPath = a.Require("data"), outPath = a.Require("out");
        var info = bundle.Info;
        string[] header;
        List<string[]> fields;
        List<float[]> rows;
        if (IdxFile.LooksLikeIdx(dataPath))
        {
            var images = IdxFile.Read(dataPath);
            if (images.Dimension != info.Features.Length) throw new InputException($"{dataPath}: {images.Image} images; the model takes {info.Features.Length} features.");
            (header, rows) = (images.FeatureNames, images.Rows);
            fields = rows.Select(r => r.Select(CsvTable.Format).ToArray()).ToList();
        }
        else
        {
            var table = CsvTable.Read(dataPath);
            (header, fields, rows) = (table.Header, table.Rows, table.ReadFeatures(info.Features));
        }
        var watch = Stopwatch.StartNew();
        var (ll, bpd) = Workflow.Score(bundle, rows);
        CsvTable.Write(outPath, [.. header, "log_likelihood", "bits_per_dim"],
            fields.Select((f, i) => f.Concat([CsvTable.Format(ll[i]), CsvTable.Format(bpd[i])])));
        int outside = ll.Count(float.IsNegativeInfinity);
        var finite = bpd.Where(float.IsFinite).DefaultIfEmpty(float.NaN);
        output.WriteLine($"Scored {rows.Count} rows in {watch.Elapsed.TotalSeconds:F1} s: mean bits/dim {finite.Average().ToString("F3", CultureInfo.InvariantCulture)}"
            + (outside > 0 ? $"; {outside} rows lie outside the model's bounds (log_likelihood -Infinity)" : "") + $". Wrote {outPath}.");
    }

    public static void Export(Arguments a, TextWriter output)
    {
        using var bundle = ModelBundle.Load(a.Require("model"));
        string dir = a.Require("out");
        bundle.Transformer.ExportOnnx(dir, a.GetInt("steps", 100, 1, 100_000));
        output.WriteLine($"Wrote likelihood.onnx, generation.onnx and model.json to {dir}.");
    }
}
