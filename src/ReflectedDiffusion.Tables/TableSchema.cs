using System.Globalization;

namespace ReflectedDiffusion.Tables;

/// <summary>
/// The schema of a table: its columns in order, each with a kind and the statistics of the table it was inferred
/// from. A model keeps it, so generated tables come back with the same header, types and vocabularies.
/// </summary>
public sealed record TableSchema
{
    /// <summary>The columns, in the table's order.</summary>
    public required IReadOnlyList<ColumnSchema> Columns { get; init; }

    /// <summary>The number of rows the statistics were taken on.</summary>
    public int RowCount => Columns.Count == 0 ? 0 : Columns[0].RowCount;

    /// <summary>The column names, in order.</summary>
    public IReadOnlyList<string> Names => Columns.Select(c => c.Name).ToArray();

    /// <summary>The column named <paramref name="name"/>; an error listing the columns when there is none.</summary>
    public ColumnSchema this[string name]
        => Columns.FirstOrDefault(c => c.Name == name) ?? throw new TableInputException($"Column '{name}' is not in the table (columns: {string.Join(", ", Names)}).");

    /// <summary>
    /// Infers the schema of <paramref name="table"/>: a text column is categorical, a numeric column is integer
    /// when every value is a whole number (or when it is named in <paramref name="integer"/>, which then requires
    /// it) and real otherwise; a column with at most one distinct value is constant. A table without rows is an error.
    /// </summary>
    public static TableSchema Infer(Table table, IReadOnlyCollection<string>? integer = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.RowCount == 0) throw new TableInputException("The table has no rows.");
        integer ??= [];
        return new TableSchema { Columns = table.Columns.Select(c => c.IsNumeric ? Numeric(c, integer.Contains(c.Name)) : Text(c)).ToArray() };
    }

    private static ColumnSchema Numeric(TableColumn column, bool mustBeInteger)
    {
        var values = column.Numbers!;
        var present = values.Where(v => !double.IsNaN(v)).ToArray();
        bool whole = present.All(v => v == Math.Round(v));
        if (mustBeInteger && !whole)
        {
            int row = Array.FindIndex(values, v => !double.IsNaN(v) && v != Math.Round(v));
            throw new TableInputException($"Column '{column.Name}', row {row}: {values[row].ToString("R", CultureInfo.InvariantCulture)} is not an integer, but the column is declared integer.");
        }
        bool constant = present.Distinct().Count() <= 1;
        var kind = constant ? ColumnKind.Constant : whole ? ColumnKind.Integer : ColumnKind.Real;
        return new ColumnSchema
        {
            Name = column.Name, Kind = kind, IsNumeric = true, RowCount = values.Length, MissingCount = values.Length - present.Length,
            Min = present.Length > 0 ? present.Min() : null, Max = present.Length > 0 ? present.Max() : null,
            Decimals = kind == ColumnKind.Real ? DecimalsOf(present) : null,
            Step = kind == ColumnKind.Integer ? StepOf(present) : null,
        };
    }

    // The greatest common divisor of the values' distances from the smallest (whole numbers below 2^53).
    private static long StepOf(double[] values)
    {
        double min = values.Min();
        long step = 0;
        foreach (var v in values)
        {
            long a = (long)(v - min), b = step;
            while (b != 0) (a, b) = (b, a % b);
            step = a;
        }
        return Math.Max(1, step);
    }

    private static ColumnSchema Text(TableColumn column)
    {
        var values = column.Texts!;
        var counts = values.Where(v => v is not null).GroupBy(v => v!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var vocabulary = SortCategories(counts.Keys);
        return new ColumnSchema
        {
            Name = column.Name, Kind = vocabulary.Length <= 1 ? ColumnKind.Constant : ColumnKind.Categorical, IsNumeric = false,
            RowCount = values.Length, MissingCount = values.Count(v => v is null),
            Vocabulary = vocabulary, CategoryCounts = vocabulary.Select(v => counts[v]).ToArray(),
        };
    }

    /// <summary>Categories sorted numerically when every one is a number, else ordinally.</summary>
    public static string[] SortCategories(IEnumerable<string> categories)
    {
        var all = categories.ToArray();
        bool numbers = all.All(c => double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        return numbers
            ? all.OrderBy(c => double.Parse(c, CultureInfo.InvariantCulture)).ThenBy(c => c, StringComparer.Ordinal).ToArray()
            : all.Order(StringComparer.Ordinal).ToArray();
    }

    // The fewest decimals (0..6) that reproduce every value to within float precision; null when none do.
    private static int? DecimalsOf(double[] values)
    {
        for (int d = 0; d <= 6; d++)
            if (values.All(v => Math.Abs(v - Math.Round(v, d)) <= 1e-7 * Math.Max(1, Math.Abs(v)))) return d;
        return null;
    }

    /// <summary>One line per column (<see cref="ColumnSchema.ToString"/>), for printing at training.</summary>
    public IEnumerable<string> Describe() => Columns.Select(c => c.ToString());
}
