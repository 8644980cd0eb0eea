namespace ReflectedDiffusion.Tables;

/// <summary>
/// The rows of a table as a set, for telling whether a row of another table with the same columns equals one of them
/// in every column. Rows compare as a CSV file shows them: text as it is, numbers as <see cref="TableCsv"/> writes them
/// (with the schema's decimals where given), missing as missing. Only a 64-bit hash of each row is held, so memory is
/// 8 bytes a row; a hash collision (about one in 10^13 per row against 10^6 rows) only counts a row as a copy.
/// </summary>
public sealed class RowSet
{
    private readonly HashSet<ulong> _hashes = [];
    private readonly string[] _names;
    private readonly TableSchema? _schema;

    /// <summary>The rows of <paramref name="rows"/>; <paramref name="schema"/> (when given) sets the decimals numbers are compared at.</summary>
    public RowSet(Table rows, TableSchema? schema = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        (_names, _schema) = ([.. rows.Names], schema);
        if (schema is not null && !schema.Names.SequenceEqual(_names))
            throw new ArgumentException($"The schema's columns ({string.Join(", ", schema.Names)}) are not the table's ({string.Join(", ", _names)}).", nameof(schema));
        for (int i = 0; i < rows.RowCount; i++) _hashes.Add(Hash(rows, i));
    }

    /// <summary>Distinct rows held.</summary>
    public int Count => _hashes.Count;

    /// <summary>Whether row <paramref name="row"/> of <paramref name="table"/> (the set's columns, in its order) equals a row of the set.</summary>
    public bool Contains(Table table, int row)
    {
        CheckColumns(table);
        return _hashes.Contains(Hash(table, row));
    }

    /// <summary>How many rows of <paramref name="table"/> equal a row of the set.</summary>
    public int CountIn(Table table)
    {
        CheckColumns(table);
        return Enumerable.Range(0, table.RowCount).Count(i => _hashes.Contains(Hash(table, i)));
    }

    private void CheckColumns(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (!table.Names.SequenceEqual(_names))
            throw new ArgumentException($"The table's columns ({string.Join(", ", table.Names)}) are not the set's ({string.Join(", ", _names)}).", nameof(table));
    }

    // FNV-1a over each cell's text, with a separator no cell text holds and a marker for missing cells.
    private ulong Hash(Table table, int row)
    {
        ulong h = 14695981039346656037UL;
        void Add(char c) => h = (h ^ c) * 1099511628211UL;
        for (int j = 0; j < table.Columns.Count; j++)
        {
            var column = table.Columns[j];
            var text = column.IsMissing(row) ? "\u001eNA" : column.Texts is { } t ? t[row]! : TableCsv.NumberText(column.Numbers![row], _schema?.Columns[j]);
            foreach (char c in text) Add(c);
            Add('\u001f');
        }
        return h;
    }
}
