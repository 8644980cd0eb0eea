using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.Quality;

/// <summary>
/// Rows of a table as fixed-length float vectors for the ML.NET models, fitted on the real table: a numeric column is
/// its value (0 where missing) and a missing flag; a categorical column is one-hot over the real vocabulary, plus one
/// slot for a category the real table lacks and one for missing. Trees need no scaling.
/// </summary>
internal sealed class FeatureEncoder
{
    private readonly (string Name, Dictionary<string, int>? Vocabulary)[] _columns;

    public FeatureEncoder(Table real, IEnumerable<string> exclude)
    {
        var skip = exclude.ToHashSet(StringComparer.Ordinal);
        _columns = real.Columns.Where(c => !skip.Contains(c.Name))
            .Select(c => (c.Name, c.IsNumeric ? null : c.Texts!.OfType<string>().Distinct().Order(StringComparer.Ordinal)
                .Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i, StringComparer.Ordinal)))
            .ToArray();
        Width = _columns.Sum(c => c.Vocabulary is null ? 2 : c.Vocabulary.Count + 2);
    }

    /// <summary>The length of every encoded row.</summary>
    public int Width { get; }

    public float[][] Encode(Table table)
    {
        var rows = new float[table.RowCount][];
        var columns = _columns.Select(c => table[c.Name]).ToArray();
        for (int i = 0; i < rows.Length; i++)
        {
            var row = new float[Width];
            int at = 0;
            for (int j = 0; j < columns.Length; j++)
            {
                if (_columns[j].Vocabulary is not { } vocabulary)
                {
                    double v = columns[j].Numbers![i];
                    if (double.IsNaN(v)) row[at + 1] = 1; else row[at] = (float)v;
                    at += 2;
                    continue;
                }
                string? text = columns[j].Texts![i];
                int slot = text is null ? vocabulary.Count + 1 : vocabulary.GetValueOrDefault(text, vocabulary.Count);
                row[at + slot] = 1;
                at += vocabulary.Count + 2;
            }
            rows[i] = row;
        }
        return rows;
    }
}
