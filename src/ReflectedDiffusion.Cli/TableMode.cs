using System.CommandLine;
using System.Globalization;
using ReflectedDiffusion.ML;
using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// The tool's table path: a CSV file as it is (numeric, integer, categorical and missing cells) is read, its schema
/// inferred (with the user's overrides), and its rows encoded into the unit box by a <see cref="TableEncoder"/>; the
/// model is trained on the encoded rows with unit bounds, and generated rows are decoded back to the table's schema.
/// </summary>
internal static class TableMode
{
    /// <summary>The table flags of 'rdiff train'.</summary>
    public sealed class TrainFlags
    {
        public Option<string> Categorical { get; } = new("--categorical") { Description = "Tables: columns read as categories even when they hold numbers, comma-separated.", HelpName = "C1,C2,..." };
        public Option<string> Integer { get; } = new("--integer") { Description = "Tables: columns that must hold integers, comma-separated (whole-number columns are integer anyway).", HelpName = "C1,C2,..." };
        public Option<string> Ignore { get; } = new("--ignore") { Description = "Tables: columns left out of the model and of generated tables, comma-separated.", HelpName = "C1,C2,..." };
        public Option<string[]> ColumnBounds { get; } = new("--column-bounds")
        {
            Description = "Tables: declared bounds of a numeric column (repeat the flag for more); the data must lie inside. Other numeric columns take their observed range (--bounds-margin widens it, 0 by default).",
            HelpName = "COL=LO:HI", AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.ZeroOrMore,
        };

        public IEnumerable<Option> All => [Categorical, Integer, Ignore, ColumnBounds];

        /// <summary>Whether any table flag was given.</summary>
        public bool AnyGiven(ParseResult p) => All.Any(o => p.GetResult(o) is { Implicit: false });

        public ColumnTypeOverrides Overrides(ParseResult p) => new()
        {
            Categorical = List(p.GetValue(Categorical)), Integer = List(p.GetValue(Integer)), Ignore = List(p.GetValue(Ignore)),
        };

        public Dictionary<string, (double, double)> Bounds(ParseResult p)
        {
            var bounds = new Dictionary<string, (double, double)>();
            foreach (var text in p.GetValue(ColumnBounds) ?? [])
            {
                int eq = text.LastIndexOf('='), colon = text.LastIndexOf(':');
                if (eq <= 0 || colon < eq || !Number(text[(eq + 1)..colon], out double lo) || !Number(text[(colon + 1)..], out double hi))
                    throw new InputException($"Option '--column-bounds {text}': write COLUMN=LOWER:UPPER with two numbers.");
                if (!bounds.TryAdd(text[..eq].Trim(), (lo, hi))) throw new InputException($"Option '--column-bounds': column '{text[..eq].Trim()}' is given twice.");
            }
            return bounds;
        }

        private static bool Number(string s, out double v) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out v) && double.IsFinite(v);

        private static string[] List(string? text) => text?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
    }

    /// <summary>
    /// Reads the table at <paramref name="path"/>, infers its schema and fits its encoding: the training rows, named
    /// by their coordinates and their lines in the file, and the encoder. Errors name the flag, column and line.
    /// </summary>
    public static (Dataset Data, TableEncoder Encoder) Prepare(string path, ColumnTypeOverrides overrides, IReadOnlyDictionary<string, (double, double)> bounds, double margin)
    {
        CsvTableData read;
        try { read = TableCsv.Read(path, overrides); }
        catch (TableInputException e) when (e.Message.StartsWith("categorical:", StringComparison.Ordinal) || e.Message.StartsWith("integer:", StringComparison.Ordinal) || e.Message.StartsWith("ignore:", StringComparison.Ordinal))
        {
            throw new InputException($"Option '--{e.Message}");
        }
        var table = read.Table;
        foreach (var name in bounds.Keys)
            if (table.IndexOf(name) < 0) throw new InputException($"Option '--column-bounds': column '{name}' is not in {path} (columns: {string.Join(", ", table.Names)}).");
        var schema = Located(() => TableSchema.Infer(table, overrides.Integer), path, read.Lines);
        var encoder = Located(() => TableEncoder.Fit(table, schema, new TableEncoderOptions { ColumnBounds = bounds, BoundsMargin = margin }), path, read.Lines);
        var rows = encoder.Encode(table);
        var data = new Dataset { FeatureNames = encoder.CoordinateNames(), Rows = rows.ToList(), SourcePath = path, SourceLines = read.Lines };
        return (data, encoder);
    }

    // Row indices in the table layer's messages become lines of the file.
    private static T Located<T>(Func<T> work, string path, IReadOnlyList<int> lines)
    {
        try { return work(); }
        catch (TableInputException e)
        {
            throw new InputException(System.Text.RegularExpressions.Regex.Replace(e.Message, @", row (\d+):",
                m => int.TryParse(m.Groups[1].Value, out int r) && r < lines.Count ? $" ({path} line {lines[r]}):" : m.Value));
        }
    }

    /// <summary>The lines printed at training: the schema, then the coordinates each column takes.</summary>
    public static IEnumerable<string> Describe(TableEncoder encoder)
        => ["Schema:", .. encoder.Schema.Describe().Select(l => "  " + l), $"Encoding ({encoder.Dimension} coordinates in [0, 1]):", .. encoder.Describe().Select(l => "  " + l)];

    /// <summary>
    /// Draws <paramref name="count"/> rows of a table model satisfying <paramref name="conditions"/> (rejection, see
    /// <see cref="ReflectedDiffusionTable.Draw"/>) through the ML.NET generator.
    /// </summary>
    public static (Table Rows, int Drawn) Sample(ModelBundle bundle, int count, IReadOnlyList<RowCondition> conditions, int maxDraws,
        GenerationOptions options, ProgressReporter progress, Func<string, string?> flagOf, RowSet? exclude = null)
    {
        try
        {
            return ReflectedDiffusionTable.Draw(bundle.Info.Table!, (n, o) => Workflow.Sample(bundle.Transformer.Generator, n, null, o, progress, flagOf),
                count, options, conditions, maxDraws, exclude);
        }
        catch (TableInputException e) when (e.Message.StartsWith("Condition", StringComparison.Ordinal)) { throw new InputException($"Option '--where': {e.Message}"); }
        catch (TableInputException e) when (e.Message.StartsWith("Copies", StringComparison.Ordinal)) { throw new InputException($"Option '--exclude-copies-of': {e.Message}"); }
    }

    /// <summary>Reads rows to score with the model's column types and encodes them; errors name the file's lines.</summary>
    public static List<float[]> Encode(string path, TableEncoder encoder)
    {
        var read = Read(path, encoder);
        return Located(() => encoder.Encode(read.Table), path, read.Lines).ToList();
    }

    /// <summary>
    /// The rows of a CSV file (the training table, say) as a set of the model's columns, in its order and types: generated
    /// rows equal to one of them are drawn again (<c>rdiff sample --exclude-copies-of</c>). Columns the model left out are skipped.
    /// </summary>
    public static RowSet RowsOf(string path, TableEncoder encoder)
    {
        var table = Read(path, encoder).Table;
        var missing = encoder.Schema.Names.FirstOrDefault(n => table.IndexOf(n) < 0);
        if (missing is not null) throw new InputException($"Option '--exclude-copies-of': column '{missing}' of the model is not in {path}.");
        return new RowSet(new Table(encoder.Schema.Names.Select(n => table[n]).ToArray()), encoder.Schema);
    }

    // A CSV file read with the model's column types: its text columns as categories whatever their values look like.
    private static CsvTableData Read(string path, TableEncoder encoder)
    {
        var text = encoder.Columns.Where(c => !c.IsNumeric && c.Kind != ColumnKind.Constant).Select(c => c.Name).ToArray();
        return TableCsv.Read(path, new ColumnTypeOverrides { Categorical = text });
    }

    /// <summary>Writes a table as CSV atomically, in the schema's types.</summary>
    public static void Write(string path, Table table, TableSchema schema)
        => IO.AtomicFile.Write(path, s => TableCsv.Write(s, table, schema));
}
