namespace ReflectedDiffusion.Tables;

/// <summary>
/// What the user says about column types, over what inference would choose: columns to read as categories even when
/// they hold numbers, columns that must hold integers, and columns to leave out.
/// </summary>
public sealed record ColumnTypeOverrides
{
    /// <summary>No overrides: every column's type is inferred.</summary>
    public static readonly ColumnTypeOverrides None = new();

    /// <summary>Columns read as categories (their cells as text), even when every cell is a number.</summary>
    public IReadOnlyCollection<string> Categorical { get; init; } = [];

    /// <summary>Columns that must hold integers (a cell with a fraction is an error naming it).</summary>
    public IReadOnlyCollection<string> Integer { get; init; } = [];

    /// <summary>Columns left out of the table (not modelled, not generated).</summary>
    public IReadOnlyCollection<string> Ignore { get; init; } = [];

    /// <summary>
    /// Checks every named column exists in <paramref name="names"/> and that no column is named twice in
    /// conflicting lists; the error says which list (<c>categorical</c>, <c>integer</c>, <c>ignore</c>) and column.
    /// </summary>
    public void Validate(IReadOnlyCollection<string> names)
    {
        foreach (var (list, columns) in Lists())
            foreach (var c in columns)
                if (!names.Contains(c)) throw new TableInputException($"{list}: column '{c}' is not in the table (columns: {string.Join(", ", names)}).");
        foreach (var c in Categorical.Intersect(Integer)) throw new TableInputException($"Column '{c}' is named both categorical and integer.");
        foreach (var c in Ignore.Intersect(Categorical.Concat(Integer))) throw new TableInputException($"Column '{c}' is ignored and also given a type.");
    }

    private IEnumerable<(string List, IReadOnlyCollection<string> Columns)> Lists()
        => [("categorical", Categorical), ("integer", Integer), ("ignore", Ignore)];
}
