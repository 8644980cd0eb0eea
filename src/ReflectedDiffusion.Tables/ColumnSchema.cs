namespace ReflectedDiffusion.Tables;

/// <summary>What a column holds, as far as a model of the table cares.</summary>
public enum ColumnKind
{
    /// <summary>Real numbers between the observed (or declared) bounds.</summary>
    Real,
    /// <summary>Integers between the observed (or declared) bounds.</summary>
    Integer,
    /// <summary>One value of a finite vocabulary (text, booleans, keys, or numbers read as categories).</summary>
    Categorical,
    /// <summary>At most one distinct value (possibly with missing cells): kept out of the model and restored.</summary>
    Constant,
}

/// <summary>
/// One column of a <see cref="TableSchema"/>: its name, kind and the statistics observed in the training table
/// (bounds, category vocabulary and counts, missing count). Serialises with System.Text.Json as it is.
/// </summary>
public sealed record ColumnSchema
{
    /// <summary>The column's name.</summary>
    public required string Name { get; init; }

    /// <summary>The column's kind.</summary>
    public required ColumnKind Kind { get; init; }

    /// <summary>True when the column's cells are numbers (real, integer, or a numeric constant).</summary>
    public required bool IsNumeric { get; init; }

    /// <summary>The number of rows the statistics were taken on.</summary>
    public required int RowCount { get; init; }

    /// <summary>The number of missing cells.</summary>
    public required int MissingCount { get; init; }

    /// <summary>The smallest observed value of a numeric column (null when all cells are missing or the column is text).</summary>
    public double? Min { get; init; }

    /// <summary>The largest observed value of a numeric column.</summary>
    public double? Max { get; init; }

    /// <summary>
    /// Real columns: the fewest decimal places that write every observed value exactly (at most 6), so generated
    /// values are written as the data was; null when the data needs more.
    /// </summary>
    public int? Decimals { get; init; }

    /// <summary>
    /// Integer columns: the largest step that every value lies on from <see cref="Min"/> (25 for masses recorded to
    /// the nearest 25 g; 1 for most), so generated values keep the data's grid.
    /// </summary>
    public long? Step { get; init; }

    /// <summary>Categorical and text constant columns: the distinct values, sorted (numerically when all are numbers).</summary>
    public string[]? Vocabulary { get; init; }

    /// <summary>How many rows hold each <see cref="Vocabulary"/> entry.</summary>
    public int[]? CategoryCounts { get; init; }

    /// <summary>The share of missing cells.</summary>
    public double MissingRate => RowCount == 0 ? 0 : (double)MissingCount / RowCount;

    /// <summary>True when some cell is missing.</summary>
    public bool HasMissing => MissingCount > 0;

    /// <summary>The value a constant column holds, as text (null when every cell is missing or the column is not constant).</summary>
    public string? ConstantText => Kind != ColumnKind.Constant ? null
        : IsNumeric ? (Min is { } v ? TableCsv.FormatNumber(v, integer: v == Math.Round(v)) : null)
        : Vocabulary is [var only] ? only : null;

    /// <summary>A one-line description: kind, range or vocabulary, missing rate.</summary>
    public override string ToString()
    {
        string detail = Kind switch
        {
            ColumnKind.Real or ColumnKind.Integer => $"[{Format(Min)}, {Format(Max)}]" + (Decimals is { } d ? $", {d} decimals" : "") + (Step is > 1 ? $", steps of {Step}" : ""),
            ColumnKind.Categorical => $"{Vocabulary!.Length} categories: " + string.Join(", ", Vocabulary.Zip(CategoryCounts!, (v, n) => $"{v} ({n})").Take(8)) + (Vocabulary.Length > 8 ? ", ..." : ""),
            _ => ConstantText is { } c ? $"always '{c}'" : "always missing",
        };
        return $"{Name}: {Kind.ToString().ToLowerInvariant()} {detail}, missing {MissingRate:P1}";
    }

    private static string Format(double? v) => v is { } x ? TableCsv.FormatNumber(x, integer: false) : "-";
}
