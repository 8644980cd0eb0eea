using System.Globalization;

namespace ReflectedDiffusion.Cli;

/// <summary>Height, width and channels of image rows (features channel-planar: [C, H, W], as ExtractPixels lays them out).</summary>
internal readonly record struct ImageShape(int Height, int Width, int Channels)
{
    public int Size => Height * Width * Channels;

    /// <summary>Parses "HxW" or "HxWxC" (C is 1 or 3).</summary>
    public static bool TryParse(string text, out ImageShape shape)
    {
        var parts = text.Split('x');
        var v = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : -1).ToArray();
        bool ok = parts.Length is 2 or 3 && v.All(n => n > 0) && (v.Length == 2 || v[2] is 1 or 3);
        shape = ok ? new ImageShape(v[0], v[1], v.Length == 3 ? v[2] : 1) : default;
        return ok;
    }

    public override string ToString() => $"{Height}x{Width}x{Channels}";
}

/// <summary>Training rows read from a file: named numeric features, optional class labels, optional image shape.</summary>
internal sealed record Dataset
{
    public required string[] FeatureNames { get; init; }
    public required List<float[]> Rows { get; init; }
    /// <summary>Name of the label column (null for unlabelled data).</summary>
    public string? LabelName { get; init; }
    /// <summary>Class names in class-index order.</summary>
    public string[]? ClassNames { get; init; }
    /// <summary>Class index per row.</summary>
    public long[]? Labels { get; init; }
    public ImageShape? Image { get; init; }
    /// <summary>CSV data: the file, and the line of each row (rows skip blank lines), to say where a bad row is.</summary>
    public string? SourcePath { get; init; }
    public IReadOnlyList<int>? SourceLines { get; init; }
    public int Dimension => FeatureNames.Length;

    /// <summary>Where row <paramref name="row"/> (counting from 0) stands in its file ("data.csv line 12"), or null.</summary>
    public string? DescribeRow(long row) => SourceLines is { } lines && row >= 0 && row < lines.Count ? $"{SourcePath} line {lines[(int)row]}" : null;

    /// <summary>
    /// Reads a CSV table: the label column (text or integers; classes sorted numerically when all are integers) and
    /// the feature columns (all others when <paramref name="featureNames"/> is null), every value a finite number.
    /// </summary>
    public static Dataset FromCsv(CsvTable table, string? labelName, IReadOnlyList<string>? featureNames)
    {
        if (labelName is not null) table.IndexOf(labelName, LabelFlag);
        var features = featureNames?.ToArray() ?? table.Header.Where(h => h != labelName).ToArray();
        if (features.Length == 0) throw new InputException($"{table.Path}: no feature columns.");
        if (labelName is not null && features.Contains(labelName)) throw new InputException($"Option '--features': the label column '{labelName}' cannot also be a feature.");
        var data = new Dataset { FeatureNames = features, Rows = table.ReadFeatures(features), SourcePath = table.Path, SourceLines = table.Lines };
        if (labelName is null) return data;
        var (labels, classes) = Classes(table, labelName);
        return data with { LabelName = labelName, ClassNames = classes, Labels = labels };
    }

    private const string LabelFlag = "--label-column-name";

    private static (long[] Labels, string[] Classes) Classes(CsvTable table, string labelName)
    {
        int column = table.IndexOf(labelName, LabelFlag);
        var values = table.Rows.Select((r, i) => r[column].Length > 0 ? r[column] : throw new InputException($"{table.Path} line {table.Lines[i]}: label column '{labelName}' is empty.")).ToArray();
        var distinct = values.Distinct(StringComparer.Ordinal).ToArray();
        bool integers = distinct.All(v => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        var classes = integers
            ? distinct.OrderBy(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray()
            : distinct.Order(StringComparer.Ordinal).ToArray();
        var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i, StringComparer.Ordinal);
        return (values.Select(v => index[v]).ToArray(), classes);
    }

    /// <summary>Pixel features named pixel_0, pixel_1, ... (channel-planar).</summary>
    public static string[] PixelNames(ImageShape shape) => Enumerable.Range(0, shape.Size).Select(i => $"pixel_{i}").ToArray();

}
