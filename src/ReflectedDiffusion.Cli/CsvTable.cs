using System.Globalization;
using System.Text;

namespace ReflectedDiffusion.Cli;

/// <summary>A CSV file with a header row, read into memory (RFC 4180 quoting); errors name the file, line and column.</summary>
internal sealed class CsvTable
{
    private CsvTable(string path, string[] header, List<string[]> rows, List<int> lines) => (Path, Header, Rows, Lines) = (path, header, rows, lines);

    public string Path { get; }
    public string[] Header { get; }
    /// <summary>Data rows.</summary>
    public List<string[]> Rows { get; }
    /// <summary>The line of the file each data row stands on (blank lines are skipped).</summary>
    public IReadOnlyList<int> Lines { get; }

    public static CsvTable Read(string path)
    {
        if (!File.Exists(path)) throw new InputException($"Data file '{path}' not found.");
        using var reader = new StreamReader(path);
        string[]? header = null;
        var rows = new List<string[]>();
        var lines = new List<int>();
        int line = 0;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0) continue;
            var fields = Split(text, path, line);
            if (header is null)
            {
                header = fields.Select(f => f.Trim()).ToArray();
                var repeated = header.GroupBy(h => h).FirstOrDefault(g => g.Count() > 1);
                if (repeated is not null) throw new InputException($"{path} line 1: column '{repeated.Key}' appears twice in the header.");
                continue;
            }
            if (fields.Length != header.Length) throw new InputException($"{path} line {line}: {fields.Length} fields; the header has {header.Length}.");
            rows.Add(fields);
            lines.Add(line);
        }
        if (header is null || rows.Count == 0) throw new InputException($"{path}: needs a header row and at least one data row.");
        return new CsvTable(path, header, rows, lines);
    }

    private static string[] Split(string text, string path, int line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString().Trim()); field.Clear(); }
            else field.Append(c);
        }
        if (quoted) throw new InputException($"{path} line {line}: unterminated quoted field.");
        fields.Add(field.ToString().Trim());
        return fields.ToArray();
    }

    public int IndexOf(string column, string option)
    {
        int i = Array.IndexOf(Header, column);
        return i >= 0 ? i : throw new InputException($"{option}: column '{column}' is not in {Path} (columns: {string.Join(", ", Header)}).");
    }

    /// <summary>
    /// The named columns of every row as numbers. A cell that is not a finite number ("NaN" and "Infinity" included)
    /// is an error naming the line and column: text that is no number is the tool's to report; ranges are the model's.
    /// </summary>
    public List<float[]> ReadFeatures(IReadOnlyList<string> names)
    {
        var index = names.Select(n => IndexOf(n, "feature column")).ToArray();
        var rows = new List<float[]>(Rows.Count);
        for (int r = 0; r < Rows.Count; r++)
        {
            var row = new float[index.Length];
            for (int j = 0; j < index.Length; j++)
            {
                string text = Rows[r][index[j]];
                if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out row[j]) || !float.IsFinite(row[j]))
                    throw new InputException($"{Path} line {Lines[r]}, column '{names[j]}': '{text}' is not a finite number.");
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Quotes a field when it needs it.</summary>
    public static string Quote(string field)
        => field.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;

    /// <summary>Writes a CSV file atomically.</summary>
    public static void Write(string path, IReadOnlyList<string> header, IEnumerable<IEnumerable<string>> rows)
        => IO.AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s, new UTF8Encoding(false), leaveOpen: true);
            w.WriteLine(string.Join(',', header.Select(Quote)));
            foreach (var row in rows) w.WriteLine(string.Join(',', row.Select(Quote)));
        });

    public static string Format(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}
