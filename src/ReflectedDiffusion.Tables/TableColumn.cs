namespace ReflectedDiffusion.Tables;

/// <summary>
/// One column of a <see cref="Table"/>: numbers (<see cref="double.NaN"/> where missing) or text (null where
/// missing). Which of the two it holds is fixed at creation; the column's kind (real, integer, categorical, constant)
/// is the <see cref="TableSchema"/>'s to say.
/// </summary>
public sealed class TableColumn
{
    private TableColumn(string name, double[]? numbers, string?[]? texts)
        => (Name, Numbers, Texts) = (name, numbers, texts);

    /// <summary>The column's name (the CSV header).</summary>
    public string Name { get; }

    /// <summary>The values of a numeric column, NaN where missing; null for a text column.</summary>
    public double[]? Numbers { get; }

    /// <summary>The values of a text column, null where missing; null for a numeric column.</summary>
    public string?[]? Texts { get; }

    /// <summary>True for a numeric column.</summary>
    public bool IsNumeric => Numbers is not null;

    /// <summary>The number of rows.</summary>
    public int Length => Numbers?.Length ?? Texts!.Length;

    /// <summary>A numeric column; NaN marks a missing value, infinities are refused.</summary>
    public static TableColumn Numeric(string name, double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        for (int i = 0; i < values.Length; i++)
            if (double.IsInfinity(values[i])) throw new TableInputException($"Column '{name}', row {i}: {values[i]} is not a finite number.");
        return new TableColumn(name, values, null);
    }

    /// <summary>A text (categorical) column; null marks a missing value.</summary>
    public static TableColumn Text(string name, string?[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new TableColumn(name, null, values);
    }

    /// <summary>True where row <paramref name="row"/> has no value.</summary>
    public bool IsMissing(int row) => Numbers is { } n ? double.IsNaN(n[row]) : Texts![row] is null;

    /// <summary>The number of rows without a value.</summary>
    public int MissingCount
    {
        get
        {
            int count = 0;
            for (int i = 0; i < Length; i++) if (IsMissing(i)) count++;
            return count;
        }
    }
}
