using System.Globalization;
using System.Text;

namespace ReflectedDiffusion.Cli;

/// <summary>A CSV file with a header row (RFC 4180 quoting), read into memory or streamed by row; errors name the file, line and column.</summary>
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
        var header = ReadHeader(path);
        var rows = new List<string[]>();
        var lines = new List<int>();
        foreach (var (fields, line) in Records(path, header.Length))
        {
            rows.Add(fields);
            lines.Add(line);
        }
        if (rows.Count == 0) throw new InputException($"{path}: needs a header row and at least one data row.");
        return new CsvTable(path, header, rows, lines);
    }

    /// <summary>The header row's column names (trimmed, each once); the file must exist and have one.</summary>
    public static string[] ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new InputException($"Data file '{path}' not found.");
        using var reader = new StreamReader(path);
        int line = 0;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0) continue;
            var header = Split(text, path, line).Select(f => f.Trim()).ToArray();
            var repeated = header.GroupBy(h => h).FirstOrDefault(g => g.Count() > 1);
            if (repeated is not null) throw new InputException($"{path} line {line}: column '{repeated.Key}' appears twice in the header.");
            return header;
        }
        throw new InputException($"{path}: needs a header row and at least one data row.");
    }

    /// <summary>
    /// The data rows after the header, read from the file as they are enumerated (nothing is held), with the line each
    /// stands on (blank lines are skipped); a row with other than <paramref name="columns"/> fields is an error naming its line.
    /// </summary>
    public static IEnumerable<(string[] Fields, int Line)> Records(string path, int columns)
    {
        using var reader = new StreamReader(path);
        bool header = true;
        int line = 0;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (text.Length == 0) continue;
            var fields = Split(text, path, line);
            if (header) { header = false; continue; }
            if (fields.Length != columns) throw new InputException($"{path} line {line}: {fields.Length} fields; the header has {columns}.");
            yield return (fields, line);
        }
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

    public int IndexOf(string column, string option) => IndexOf(Header, column, option, Path);

    /// <summary>The position of <paramref name="column"/> in <paramref name="header"/>; an error naming the option and the file's columns when absent.</summary>
    public static int IndexOf(string[] header, string column, string option, string path)
    {
        int i = Array.IndexOf(header, column);
        return i >= 0 ? i : throw new InputException($"{option}: column '{column}' is not in {path} (columns: {string.Join(", ", header)}).");
    }

    /// <summary>The named columns of every row as numbers (see <see cref="ParseFeatures"/>).</summary>
    public List<float[]> ReadFeatures(IReadOnlyList<string> names)
    {
        var index = names.Select(n => IndexOf(n, "feature column")).ToArray();
        return Rows.Select((r, i) => ParseFeatures(r, index, names, Path, Lines[i])).ToList();
    }

    /// <summary>
    /// The fields at <paramref name="index"/> as numbers. A cell that is not a finite number ("NaN" and "Infinity"
    /// included) is an error naming the line and column: text that is no number is the tool's to report; ranges are the model's.
    /// </summary>
    public static float[] ParseFeatures(string[] fields, int[] index, IReadOnlyList<string> names, string path, int line)
    {
        var row = new float[index.Length];
        for (int j = 0; j < index.Length; j++)
        {
            string text = fields[index[j]];
            if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out row[j]) || !float.IsFinite(row[j]))
                throw new InputException($"{path} line {line}, column '{names[j]}': '{text}' is not a finite number.");
        }
        return row;
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
