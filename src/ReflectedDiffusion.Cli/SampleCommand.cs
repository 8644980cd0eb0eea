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
            ["ode"] = SamplerKind.OdeHeun, ["sde"] = SamplerKind.ReflectedSde, ["pc"] = SamplerKind.PredictorCorrector, ["auto"] = null,
        },
    });

    public static Command Create(CliContext context)
    {
        var model = CommonOptions.Model();
        var count = CommonOptions.Tool<int>("--count", "Rows to draw (rows 0 to count-1 of the run; or --rows).");
        var rows = RowRange.Option("the run (instead of --count)");
        var output = CommonOptions.Required("--out", "The file to write: .csv (the training columns, and the class of conditional models) or .png (a grid; image models only).");
        var label = new Option<string>("--label") { Description = "Conditional models: draw this class (a class name of the training data); without it the classes take turns." };
        var where = new Option<string[]>("--where")
        {
            Description = "Table models: a condition every generated row satisfies (repeat for more): COLUMN=VALUE (a category, a number, or NA) or a numeric range COLUMN>=X, >X, <=X, <X. Rows are drawn from the model and those that satisfy every condition kept.",
            HelpName = "CONDITION", AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.ZeroOrMore,
        };
        var maxDraws = CommonOptions.Tool<int>("--max-draws", "Table models with --where or --exclude-copies-of: the most rows drawn to find --count that qualify (default 100 times --count).");
        var exclude = new Option<string>("--exclude-copies-of")
        {
            Description = "Table models: a CSV file (the training table): generated rows equal to one of its rows in every column are drawn again, so none is written. The model file holds no rows to check against, so give the file here.",
            HelpName = "FILE",
        };
        var settings = Settings();
        var command = new Command("sample", "Draws new rows from a model. Table models write the training table's columns, types, categories and NA.") { model, count, rows, output, label, where, maxDraws, exclude };
        foreach (var option in settings.Options) command.Options.Add(option);
        command.SetAction(p =>
        {
            var options = settings.Bind(p);
            int n = Count(p.GetResult(count) is null ? null : p.GetValue(count), RowRange.Parse(p.GetValue(rows)), options);
            Sample(context, p.GetRequiredValue(model), n, p.GetRequiredValue(output), p.GetValue(label), options, settings, p.GetValue(where) ?? [], p.GetValue(maxDraws), p.GetValue(exclude));
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

    private static void Sample(CliContext context, string modelPath, int count, string outPath, string? label, GenerationOptions options, FieldOptions<GenerationOptions> settings,
        string[] where, int maxDraws, string? excludeCopiesOf)
    {
        using var bundle = ModelBundle.Load(modelPath);
        var info = bundle.Info;
        bool png = outPath.EndsWith(".png", StringComparison.OrdinalIgnoreCase);
        if (!png && !outPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase)) throw new InputException($"Option '--out {outPath}': write a .csv or a .png file.");
        options.CancellationToken = context.Cancel;
        Func<string, string?> flagOf = name => name == "count" ? "--count" : settings.FlagOf(name);
        if (info.Table is { } encoder)
        {
            if (png) throw new InputException($"Option '--out {outPath}': the model was trained on a table; write a .csv file.");
            if (label is not null) throw new InputException("Option '--label': the model was trained on a table; use --where COLUMN=VALUE to fix a column.");
            if (count <= 0) throw new InputException($"Option '--count': the number of rows must be positive (got {count}).");
            var conditions = where.Select(w => Translate(() => Tables.RowCondition.Parse(w))).ToArray();
            if ((conditions.Length > 0 || excludeCopiesOf is not null) && options.FirstRow != 0)
                throw new InputException("Option '--rows': not with --where or --exclude-copies-of (those rows are found by rejection, which a row range cannot split); shard with --seed instead.");
            var copies = excludeCopiesOf is null ? null : TableMode.RowsOf(excludeCopiesOf, encoder);
            int budget = maxDraws > 0 ? maxDraws : (int)System.Math.Min(int.MaxValue, 100L * count);
            var (table, drawn) = TableMode.Sample(bundle, count, conditions, budget, options, context.Progress, flagOf, copies);
            TableMode.Write(outPath, table, encoder.Schema);
            string satisfied = conditions.Length > 0 ? $", {100.0 * count / drawn:F1}% satisfied {string.Join(" and ", conditions.Select(c => c.ToString()))}" : "";
            string redrawn = copies is null ? "" : $"; rows equal to one of the {copies.Count} distinct rows of {excludeCopiesOf} were drawn again";
            context.Output.WriteLine($"Wrote {count} rows to {outPath}" + (conditions.Length > 0 || copies is not null ? $" ({drawn} drawn{satisfied}{redrawn})." : "."));
            return;
        }
        foreach (var (flag, given) in new[] { ("--where", where.Length > 0), ("--exclude-copies-of", excludeCopiesOf is not null) })
            if (given) throw new InputException($"Option '{flag}': the model was trained on feature vectors, not a table (train on a CSV file without --label-column-name, --features or --bounds).");
        if (png && info.ImageShape is null) throw new InputException($"Option '--out {outPath}': the model was trained on tabular data; write a .csv file.");
        var labels = Labels(info, label, count, options.FirstRow);
        var rows = Workflow.Sample(bundle.Transformer.Generator, count, labels, options, context.Progress, flagOf);
        if (png) WriteGrid(outPath, rows, bundle);
        else
        {
            var header = info.IsConditional ? [.. info.Features, info.Label ?? "label"] : info.Features;
            CsvTable.Write(outPath, header, rows.Select((r, i) => r.Select(CsvTable.Format).Concat(labels is null ? [] : [info.Classes![labels[i]]])));
        }
        context.Output.WriteLine($"Wrote {count} samples to {outPath}.");
    }

    private static T Translate<T>(Func<T> parse)
    {
        try { return parse(); }
        catch (Tables.TableInputException e) { throw new InputException($"Option '--where': {e.Message}"); }
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
