namespace ReflectedDiffusion.Tables;

/// <summary>
/// How one column maps to coordinates of the unit box (see <see cref="TableEncoder"/>). Index fields are -1 when the
/// column has no such coordinate. Serialises with System.Text.Json as it is.
/// </summary>
public sealed record ColumnEncoding
{
    /// <summary>The column's name.</summary>
    public required string Name { get; init; }

    /// <summary>The column's kind (from the schema).</summary>
    public required ColumnKind Kind { get; init; }

    /// <summary>True when the column's cells are numbers.</summary>
    public required bool IsNumeric { get; init; }

    /// <summary>Numeric columns: the coordinate of the scaled value (-1 when every value is a point mass).</summary>
    public int ValueIndex { get; init; } = -1;

    /// <summary>Numeric columns: the lowest value generated (declared or observed, widened only on request).</summary>
    public double Min { get; init; }

    /// <summary>Numeric columns: the highest value generated.</summary>
    public double Max { get; init; }

    /// <summary>Real columns: decimals generated values are rounded to (inside [Min, Max]); null for no rounding.</summary>
    public int? Decimals { get; init; }

    /// <summary>Numeric columns: values with a point-mass indicator each, at coordinates PointMassIndex, PointMassIndex + 1, ...</summary>
    public double[] PointMasses { get; init; } = [];

    /// <summary>The coordinate of the first point-mass indicator.</summary>
    public int PointMassIndex { get; init; } = -1;

    /// <summary>Categorical columns: the vocabulary, one coordinate each from CategoryIndex (a one-hot block).</summary>
    public string[] Categories { get; init; } = [];

    /// <summary>The coordinate of the first category.</summary>
    public int CategoryIndex { get; init; } = -1;

    /// <summary>
    /// The coordinate that says "missing": an indicator for numeric and constant columns, the block's last
    /// coordinate (after the categories) for categorical columns; -1 when the column has no missing values.
    /// </summary>
    public int MissingIndex { get; init; } = -1;

    /// <summary>Constant columns: the value, as text (null: always missing).</summary>
    public string? Constant { get; init; }

    /// <summary>The coordinates this column uses.</summary>
    public int Width => (ValueIndex >= 0 ? 1 : 0) + PointMasses.Length + Categories.Length + (MissingIndex >= 0 ? 1 : 0);

    /// <summary>
    /// The box coordinate of a numeric value: real values scale [Min, Max] to [0, 1]; an integer v takes the centre
    /// of its cell [v - 1/2, v + 1/2] of [Min - 1/2, Max + 1/2], so every integer, the end ones included, gets an
    /// equal share of the box and rounding never leaves [Min, Max].
    /// </summary>
    public double ToUnit(double value) => Kind == ColumnKind.Integer
        ? (value - Min + 0.5) / (Max - Min + 1)
        : (value - Min) / (Max - Min);

    /// <summary>The value of a box coordinate u in [0, 1]: inside [Min, Max], an integer for integer columns, rounded to the decimals of real ones.</summary>
    public double FromUnit(double u)
    {
        if (Kind == ColumnKind.Integer)
            return Math.Min(Max, Math.Floor(Min - 0.5 + u * (Max - Min + 1) + 0.5)); // u = 1 exactly would round to Max + 1
        double v = Min + u * (Max - Min);
        if (Decimals is not { } d) return Math.Clamp(v, Min, Max);
        double r = Math.Round(v, d);
        // Declared bounds may have more decimals than the data: step inward rather than past them.
        double step = Math.Pow(10, -d);
        if (r < Min) r = Math.Round(Math.Ceiling(Min / step) * step, d);
        if (r > Max) r = Math.Round(Math.Floor(Max / step) * step, d);
        return Math.Clamp(r, Min, Max);
    }

    /// <summary>A one-line description of the coordinates.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (ValueIndex >= 0) parts.Add(Kind == ColumnKind.Integer ? $"integer in [{Fmt(Min)}, {Fmt(Max)}]" : $"value in [{Fmt(Min)}, {Fmt(Max)}]");
        if (PointMasses.Length > 0) parts.Add($"point masses at {string.Join(", ", PointMasses.Select(Fmt))}");
        if (Categories.Length > 0) parts.Add($"one-hot over {Categories.Length} categories");
        if (MissingIndex >= 0) parts.Add(Categories.Length > 0 ? "a missing slot" : "a missing indicator");
        if (Kind == ColumnKind.Constant) parts.Add(Constant is null ? "constant, always missing (kept out of the model)" : $"constant '{Constant}' (kept out of the model)");
        return $"{Name}: {Width} coordinate{(Width == 1 ? "" : "s")}, {string.Join("; ", parts)}";
    }

    private static string Fmt(double v) => TableCsv.FormatNumber(v, integer: false);
}
