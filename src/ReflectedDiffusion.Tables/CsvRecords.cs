using System.Text;

namespace ReflectedDiffusion.Tables;

/// <summary>
/// RFC 4180 records of a CSV text: fields split at commas, records at line breaks (LF or CRLF), double-quoted
/// fields that may hold commas, line breaks and doubled quotes. Unquoted fields are trimmed; blank lines are
/// skipped. A quote inside an unquoted field, text after a closing quote, or an unterminated quote is an error
/// naming the line and character column where it stands.
/// </summary>
internal static class CsvRecords
{
    /// <summary>A field's text and whether it was quoted (a quoted <c>NA</c> is the text NA, not a missing value).</summary>
    public readonly record struct Field(string Text, bool Quoted);

    /// <summary>A record: its fields and the line it starts on (1-based).</summary>
    public readonly record struct Record(Field[] Fields, int Line);

    public static IEnumerable<Record> Read(TextReader reader, string source)
    {
        var fields = new List<Field>();
        var field = new StringBuilder();
        int line = 1, column = 0, recordLine = 1, quoteLine = 0, quoteColumn = 0;
        bool quoted = false, closed = false, inQuotes = false;

        Field TakeField()
        {
            var f = new Field(quoted ? field.ToString() : field.ToString().Trim(), quoted);
            field.Clear();
            quoted = closed = false;
            return f;
        }

        int c;
        while ((c = reader.Read()) >= 0)
        {
            column++;
            char ch = (char)c;
            if (inQuotes)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); column++; field.Append('"'); }
                    else { inQuotes = false; closed = true; }
                }
                else
                {
                    field.Append(ch);
                    if (ch == '\n') { line++; column = 0; }
                }
                continue;
            }
            if (ch == ',') { fields.Add(TakeField()); continue; }
            if (ch == '\r' && reader.Peek() == '\n') continue;
            if (ch == '\n' || ch == '\r')
            {
                fields.Add(TakeField());
                if (!(fields.Count == 1 && fields[0] is { Text.Length: 0, Quoted: false })) yield return new Record(fields.ToArray(), recordLine);
                fields.Clear();
                line++;
                column = 0;
                recordLine = line;
                continue;
            }
            if (closed)
            {
                if (char.IsWhiteSpace(ch)) continue;
                throw new TableInputException($"{source} line {line}, column {column}: '{ch}' after the closing quote of field {fields.Count + 1} (a quoted field ends at its closing quote; double a quote inside it).");
            }
            if (ch == '"')
            {
                if (field.ToString().Trim().Length > 0)
                    throw new TableInputException($"{source} line {line}, column {column}: a quote inside the unquoted field {fields.Count + 1} (quote the whole field and double the quote).");
                field.Clear();
                inQuotes = quoted = true;
                (quoteLine, quoteColumn) = (line, column);
                continue;
            }
            field.Append(ch);
        }
        if (inQuotes) throw new TableInputException($"{source} line {quoteLine}, column {quoteColumn}: the quoted field {fields.Count + 1} is never closed.");
        if (fields.Count > 0 || field.Length > 0 || quoted)
        {
            fields.Add(TakeField());
            if (!(fields.Count == 1 && fields[0] is { Text.Length: 0, Quoted: false })) yield return new Record(fields.ToArray(), recordLine);
        }
    }
}
