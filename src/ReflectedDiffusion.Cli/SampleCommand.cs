using System.CommandLine;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Sampling;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// 'rdiff sample': draws rows from a model file through <see cref="ReflectedDiffusionGenerator.Generate"/>, the
/// ML.NET API's own generation path. Its settings are the fields of <see cref="GenerationOptions"/>, one flag each.
/// </summary>
internal static class SampleCommand
{
    /// <summary>Fields the tool supplies itself: the progress callback, the cancellation token, and the first row (from <c>--rows A:B</c>).</summary>
    public static readonly string[] NotExposed = [nameof(GenerationOptions.Progress), nameof(GenerationOptions.CancellationToken), nameof(GenerationOptions.FirstRow)];

    /// <summary>The generated settings; today's short sampler names stay accepted.</summary>
    public static FieldOptions<GenerationOptions> Settings() => new(NotExposed, extraValues: new Dictionary<string, IReadOnlyDictionary<string, object?>>
    {
        [nameof(GenerationOptions.Sampler)] = new Dictionary<string, object?>
        {
            ["ode"] = SamplerKind.OdeHeun, ["sde"] = SamplerKind.ReflectedSde, ["pc"] = SamplerKind.PredictorCorrector,
        },
    });

    public static Command Create(CliContext context)
    {
        var model = CommonOptions.Model();
        var count = CommonOptions.Tool<int>("--count", "Rows to draw (rows 0 to count-1 of the run; or --rows).");
        var rows = RowRange.Option("the run (instead of --count)");
        var output = CommonOptions.Required("--out", "The file to write: .csv (the training columns, and the class of conditional models) or .png (a grid; image models only).");
        var label = new Option<string>("--label") { Description = "Conditional models: draw this class (a class name of the training data); without it the classes take turns." };
        var settings = Settings();
        var command = new Command("sample", "Draws new rows from a model.") { model, count, rows, output, label };
        foreach (var option in settings.Options) command.Options.Add(option);
        command.SetAction(p =>
        {
            var options = settings.Bind(p);
            int n = Count(p.GetResult(count) is null ? null : p.GetValue(count), RowRange.Parse(p.GetValue(rows)), options);
            Sample(context, p.GetRequiredValue(model), n, p.GetRequiredValue(output), p.GetValue(label), options, settings);
        });
        return command;
    }

    // Rows to draw: --count N (rows 0..N-1 of the run), or --rows A:B (rows A..B-1).
    private static int Count(int? count, RowRange? rows, GenerationOptions options)
    {
        if (rows is not { } range) return count ?? throw new InputException("Option '--count' (or '--rows A:B') is required.");
        if (count is not null) throw new InputException("Option '--rows': give either --rows A:B or --count, not both.");
        if (range.Count > int.MaxValue) throw new InputException($"Option '--rows {range.First}:{range.End}': at most {int.MaxValue} rows per run.");
        options.FirstRow = range.First;
        return (int)range.Count;
    }

    private static void Sample(CliContext context, string modelPath, int count, string outPath, string? label, GenerationOptions options, FieldOptions<GenerationOptions> settings)
    {
        using var bundle = ModelBundle.Load(modelPath);
        var info = bundle.Info;
        bool png = outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
        if (!png && !outPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) throw new InputException($"Option '--out {outPath}': write a .csv or a .png file.");
        if (png && info.ImageShape is null) throw new InputException($"Option '--out {outPath}': the model was trained on tabular data; write a .csv file.");
        var labels = Labels(info, label, count, options.FirstRow);
        options.CancellationToken = context.Cancel;
        var rows = Workflow.Sample(bundle.Transformer.Generator, count, labels, options, context.Progress,
            name => name == "count" ? "--count" : settings.FlagOf(name));
        if (png) WriteGrid(outPath, rows, bundle);
        else
        {
            var header = info.IsConditional ? [.. info.Features, info.Label ?? "label"] : info.Features;
            CsvTable.Write(outPath, header, rows.Select((r, i) => r.Select(CsvTable.Format).Concat(labels is null ? [] : [info.Classes![labels[i]]])));
        }
        context.Output.WriteLine($"Wrote {count} samples to {outPath}.");
    }

    // One class per row for conditional models: the given class, or the classes in turn by the row's index in the run
    // (so shards agree with the unsplit run). A count below 1 is the generator's to refuse.
    private static long[]? Labels(ModelInfo info, string? label, int count, long firstRow)
    {
        if (!info.IsConditional)
            return label is null ? null : throw new InputException("Option '--label': the model is unconditional (trained without --label-column-name).");
        if (label is null) return Enumerable.Range(0, System.Math.Max(0, count)).Select(i => (firstRow + i) % info.Classes!.Length).ToArray();
        int index = Array.IndexOf(info.Classes!, label);
        if (index < 0) throw new InputException($"Option '--label {label}': not a class of the model (classes: {string.Join(", ", info.Classes!)}).");
        return Enumerable.Repeat((long)index, System.Math.Max(0, count)).ToArray();
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
}
