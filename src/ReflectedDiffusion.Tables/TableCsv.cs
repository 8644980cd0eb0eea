using System.Globalization;
using System.Text;

namespace ReflectedDiffusion.Tables;

/// <summary>A table read from CSV, with the line of the file each row starts on (for error messages).</summary>
/// <param name="Table">The typed table.</param>
/// <param name="Lines">The 1-based line each row starts on.</param>
public sealed record CsvTableData(Table Table, IReadOnlyList<int> Lines);

/// <summary>
/// Reads and writes tables as CSV (RFC 4180): a header row, then one row per record. Reading: an empty cell or an
/// unquoted <c>NA</c> is missing; a column whose present cells are all numbers is numeric unless named categorical
/// (NaN or an infinity in it is an error); everything else is text. Writing: the same header and order, <c>NA</c> where missing, integers
/// without a fraction, text quoted when it needs it (and a text <c>NA</c> quoted, so it reads back as text).
/// </summary>
public static class TableCsv
{
    /// <summary>The token written for (and read as) a missing value.</summary>
    public const string Missing = "NA";

    /// <summary>Reads the CSV file at <paramref name="path"/>; errors name the file, line and column.</summary>
    public static CsvTableData Read(string path, ColumnTypeOverrides? overrides = null)
    {
        if (!File.Exists(path)) throw new TableInputException($"Data file '{path}' not found.");
        using var reader = new StreamReader(path);
        return Read(reader, path, overrides);
    }

    /// <summary>Reads CSV text from <paramref name="reader"/>; <paramref name="source"/> names it in error messages.</summary>
    public static CsvTableData Read(TextReader reader, string source, ColumnTypeOverrides? overrides = null)
    {
        overrides ??= ColumnTypeOverrides.None;
        using var records = CsvRecords.Read(reader, source).GetEnumerator();
        if (!records.MoveNext()) throw new TableInputException($"{source}: no header row.");
        var header = records.Current.Fields.Select(f => f.Text).ToArray();
        for (int j = 0; j < header.Length; j++)
        {
            if (header[j].Length == 0) throw new TableInputException($"{source} line {records.Current.Line}: header field {j + 1} is empty; every column needs a name.");
            if (Array.IndexOf(header, header[j]) != j) throw new TableInputException($"{source} line {records.Current.Line}: column '{header[j]}' appears twice in the header.");
        }
        overrides.Validate(header);
        var cells = new List<string?[]>();
        var lines = new List<int>();
        while (records.MoveNext())
        {
            var (fields, line) = records.Current;
            if (fields.Length != header.Length)
                throw new TableInputException($"{source} line {line}: {fields.Length} fields; the header has {header.Length}" +
                    (fields.Length > header.Length ? "." : $" (column '{header[fields.Length]}' onwards is missing)."));
            cells.Add(fields.Select(f => IsMissing(f) ? null : f.Text).ToArray());
            lines.Add(line);
        }
        if (cells.Count == 0) throw new TableInputException($"{source}: the header has no data rows under it.");
        var columns = new List<TableColumn>();
        for (int j = 0; j < header.Length; j++)
        {
            if (overrides.Ignore.Contains(header[j])) continue;
            var texts = cells.Select(r => r[j]).ToArray();
            columns.Add(overrides.Categorical.Contains(header[j]) ? TableColumn.Text(header[j], texts)
                : ToNumeric(header[j], texts, lines, source, overrides.Integer.Contains(header[j])));
        }
        if (columns.Count == 0) throw new TableInputException($"{source}: every column is ignored.");
        return new CsvTableData(new Table(columns), lines);
    }

    private static bool IsMissing(CsvRecords.Field f) => f.Text.Length == 0 || (!f.Quoted && f.Text == Missing);

    // Numbers when every present cell is a finite number; text otherwise, unless the column must be integer.
    private static TableColumn ToNumeric(string name, string?[] texts, List<int> lines, string source, bool integer)
    {
        var numbers = new double[texts.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            if (texts[i] is not { } text) { numbers[i] = double.NaN; continue; }
            bool parsed = double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out numbers[i]);
            // NaN and infinities are numbers gone wrong, not categories: say so rather than make the column text.
            if (parsed && !double.IsFinite(numbers[i]))
                throw new TableInputException($"{source} line {lines[i]}, column '{name}': '{text}' is not a finite number (write NA or leave the cell empty for a missing value, or declare the column categorical).");
            bool ok = parsed;
            if (!ok && !integer) return TableColumn.Text(name, texts);
            if (!ok || (integer && numbers[i] != Math.Round(numbers[i])))
                throw new TableInputException($"{source} line {lines[i]}, column '{name}': '{text}' is not an integer, but the column is declared integer.");
        }
        return TableColumn.Numeric(name, numbers);
    }

    /// <summary>
    /// Writes <paramref name="table"/> as CSV. With a <paramref name="schema"/>, integer columns are written as
    /// whole numbers and real columns with the schema's decimals.
    /// </summary>
    public static void Write(TextWriter writer, Table table, TableSchema? schema = null)
    {
        writer.WriteLine(string.Join(',', table.Names.Select(Quote)));
        var kinds = table.Columns.Select(c => schema?.Columns.FirstOrDefault(s => s.Name == c.Name)).ToArray();
        var cells = new string[table.Columns.Count];
        for (int i = 0; i < table.RowCount; i++)
        {
            for (int j = 0; j < cells.Length; j++) cells[j] = Cell(table.Columns[j], i, kinds[j]);
            writer.WriteLine(string.Join(',', cells));
        }
    }

    /// <summary>Writes <paramref name="table"/> as UTF-8 CSV (no byte-order mark) to <paramref name="stream"/>, leaving it open.</summary>
    public static void Write(Stream stream, Table table, TableSchema? schema = null)
    {
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
        Write(writer, table, schema);
    }

    private static string Cell(TableColumn column, int row, ColumnSchema? schema)
    {
        if (column.IsMissing(row)) return Missing;
        if (column.Texts is { } texts) return Quote(texts[row]!);
        return NumberText(column.Numbers![row], schema);
    }

    /// <summary>A number as a cell shows it: at the column's decimals when its schema has them, whole numbers without a fraction.</summary>
    public static string NumberText(double value, ColumnSchema? schema)
    {
        if (schema?.Decimals is { } d) value = Math.Round(value, d);
        return FormatNumber(value, integer: schema?.Kind == ColumnKind.Integer || value == Math.Round(value) && Math.Abs(value) < 1e15);
    }

    /// <summary>A number in invariant culture: a whole number without a fraction or exponent, else the shortest round-trip form.</summary>
    public static string FormatNumber(double value, bool integer)
        => integer ? Math.Round(value).ToString("0", CultureInfo.InvariantCulture) : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Quotes a field when it holds a comma, quote or line break, is padded with spaces, or reads as missing.</summary>
    public static string Quote(string field)
        => field.Length == 0 || field == Missing || field.IndexOfAny([',', '"', '\n', '\r']) >= 0 || field.Trim().Length != field.Length
            ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;
}
