namespace ReflectedDiffusion.Tables;

/// <summary>A table in memory: named columns of equal length, in order.</summary>
public sealed class Table
{
    /// <summary>Creates a table; every column must have the same length and a distinct, non-empty name.</summary>
    public Table(IReadOnlyList<TableColumn> columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0) throw new TableInputException("A table needs at least one column.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in columns)
        {
            if (string.IsNullOrWhiteSpace(c.Name)) throw new TableInputException("A column has an empty name.");
            if (!seen.Add(c.Name)) throw new TableInputException($"Column '{c.Name}' appears twice.");
            if (c.Length != columns[0].Length)
                throw new TableInputException($"Column '{c.Name}' has {c.Length} rows; column '{columns[0].Name}' has {columns[0].Length}.");
        }
        Columns = columns.ToArray();
    }

    /// <summary>The columns, in order.</summary>
    public IReadOnlyList<TableColumn> Columns { get; }

    /// <summary>The number of rows.</summary>
    public int RowCount => Columns[0].Length;

    /// <summary>The column names, in order.</summary>
    public IReadOnlyList<string> Names => Columns.Select(c => c.Name).ToArray();

    /// <summary>The index of column <paramref name="name"/>, or -1.</summary>
    public int IndexOf(string name)
    {
        for (int i = 0; i < Columns.Count; i++) if (Columns[i].Name == name) return i;
        return -1;
    }

    /// <summary>The rows at <paramref name="rows"/> (in that order), as a new table.</summary>
    public Table Select(IReadOnlyList<int> rows)
        => new(Columns.Select(c => c.IsNumeric
            ? TableColumn.Numeric(c.Name, rows.Select(i => c.Numbers![i]).ToArray())
            : TableColumn.Text(c.Name, rows.Select(i => c.Texts![i]).ToArray())).ToArray());

    /// <summary>The rows of <paramref name="tables"/> one after the other; every table has this one's columns, in order.</summary>
    public static Table Concat(IReadOnlyList<Table> tables)
    {
        if (tables.Count == 0) throw new ArgumentException("Nothing to join.", nameof(tables));
        var first = tables[0];
        return new Table(first.Columns.Select((c, j) => c.IsNumeric
            ? TableColumn.Numeric(c.Name, tables.SelectMany(t => t.Columns[j].Numbers!).ToArray())
            : TableColumn.Text(c.Name, tables.SelectMany(t => t.Columns[j].Texts!).ToArray())).ToArray());
    }

    /// <summary>The column named <paramref name="name"/>; an error listing the columns when there is none.</summary>
    public TableColumn this[string name]
        => IndexOf(name) is var i and >= 0 ? Columns[i] : throw new TableInputException($"Column '{name}' is not in the table (columns: {string.Join(", ", Names)}).");
}
