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

    /// <summary>
    /// Numeric columns: the lowest value of the continuous part (declared or observed, widened only on request; a
    /// point mass at the observed minimum is left to its indicator, and the continuous part starts at the next value).
    /// </summary>
    public double Min { get; init; }

    /// <summary>Numeric columns: the highest value of the continuous part (as <see cref="Min"/>).</summary>
    public double Max { get; init; }

    /// <summary>Real columns: decimals generated values are rounded to (inside [Min, Max]); null for no rounding.</summary>
    public int? Decimals { get; init; }

    /// <summary>Integer columns: the grid step of generated values from Min (1 unless the data lie on a coarser grid).</summary>
    public long Step { get; init; } = 1;

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
    /// of its cell [v - Step/2, v + Step/2] of [Min - Step/2, Max + Step/2], so every grid value, the end ones
    /// included, gets an equal share of the box and rounding never leaves [Min, Max].
    /// </summary>
    public double ToUnit(double value) => Kind == ColumnKind.Integer
        ? (value - Min + Step / 2.0) / (Max - Min + Step)
        : (value - Min) / (Max - Min);

    // The unrounded value of a box coordinate.
    private double Raw(double u) => Kind == ColumnKind.Integer ? Min - Step / 2.0 + u * (Max - Min + Step) : Min + u * (Max - Min);

    /// <summary>
    /// The value of a box coordinate u in [0, 1]: inside [Min, Max], a grid value for integer columns, rounded to the
    /// decimals of real ones. The continuous part never lands on a point mass (which has its own indicator; its
    /// training rows hold other values there): a value that rounds to one moves to the neighbouring value on the side
    /// of the unrounded one.
    /// </summary>
    public double FromUnit(double u)
    {
        double raw = Raw(u), v = Round(raw);
        if (PointMasses.Length == 0 || Array.IndexOf(PointMasses, v) < 0) return v;
        double step = Kind == ColumnKind.Integer ? Step : Decimals is { } d ? Math.Pow(10, -d) : 0;
        foreach (double candidate in raw >= v ? [v + step, v - step] : new[] { v - step, v + step })
        {
            double c = Round(candidate);
            if (step > 0 && c >= Min && c <= Max && Array.IndexOf(PointMasses, c) < 0) return c;
        }
        return v;
    }

    // To the grid or the decimals, inside [Min, Max].
    private double Round(double raw)
    {
        if (Kind == ColumnKind.Integer)
            return Math.Min(Max, Math.Max(Min, Min + Step * Math.Floor((raw - Min) / Step + 0.5))); // raw = Max + Step/2 exactly would round past Max
        if (Decimals is not { } d) return Math.Clamp(raw, Min, Max);
        double r = Math.Round(raw, d);
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
        if (ValueIndex >= 0) parts.Add(Kind == ColumnKind.Integer ? $"integer in [{Fmt(Min)}, {Fmt(Max)}]" + (Step > 1 ? $" in steps of {Step}" : "") : $"value in [{Fmt(Min)}, {Fmt(Max)}]");
        if (PointMasses.Length > 0) parts.Add($"point masses at {string.Join(", ", PointMasses.Select(Fmt))}");
        if (Categories.Length > 0) parts.Add($"one-hot over {Categories.Length} categories");
        if (MissingIndex >= 0) parts.Add(Categories.Length > 0 ? "a missing slot" : "a missing indicator");
        if (Kind == ColumnKind.Constant) parts.Add(Constant is null ? "constant, always missing (kept out of the model)" : $"constant '{Constant}' (kept out of the model)");
        return $"{Name}: {Width} coordinate{(Width == 1 ? "" : "s")}, {string.Join("; ", parts)}";
    }

    private static string Fmt(double v) => TableCsv.FormatNumber(v, integer: false);
}
