using System.Globalization;

namespace ReflectedDiffusion.Cli;

/// <summary>Height, width and channels of image rows (features channel-planar: [C, H, W], as ExtractPixels lays them out).</summary>
internal readonly record struct ImageShape(int Height, int Width, int Channels)
{
    public int Size => Height * Width * Channels;

    /// <summary>Parses "HxW" or "HxWxC" (C is 1 or 3).</summary>
    public static ImageShape Parse(string text, string option)
    {
        var parts = text.Split('x');
        var v = parts.Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : -1).ToArray();
        if (parts.Length is < 2 or > 3 || v.Any(n => n < 0) || (v.Length == 3 && v[2] is not (1 or 3)))
            throw new InputException($"Option '--{option}': '{text}' is not HxW or HxWxC with C 1 or 3.");
        return new ImageShape(v[0], v[1], v.Length == 3 ? v[2] : 1);
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
    public int Dimension => FeatureNames.Length;

    /// <summary>
    /// Reads a CSV table: the label column (text or integers; classes sorted numerically when all are integers) and
    /// the feature columns (all others when <paramref name="featureNames"/> is null), every value a finite number.
    /// </summary>
    public static Dataset FromCsv(CsvTable table, string? labelName, IReadOnlyList<string>? featureNames)
    {
        if (labelName is not null) table.IndexOf(labelName, "--label");
        var features = featureNames?.ToArray() ?? table.Header.Where(h => h != labelName).ToArray();
        if (features.Length == 0) throw new InputException($"{table.Path}: no feature columns.");
        if (labelName is not null && features.Contains(labelName)) throw new InputException($"Option '--features': the label column '{labelName}' cannot also be a feature.");
        var rows = table.ReadFeatures(features);
        if (labelName is null) return new Dataset { FeatureNames = features, Rows = rows };
        var (labels, classes) = Classes(table, labelName);
        return new Dataset { FeatureNames = features, Rows = rows, LabelName = labelName, ClassNames = classes, Labels = labels };
    }

    private static (long[] Labels, string[] Classes) Classes(CsvTable table, string labelName)
    {
        int column = table.IndexOf(labelName, "--label");
        var values = table.Rows.Select((r, i) => r[column].Length > 0 ? r[column] : throw new InputException($"{table.Path} line {i + 2}: label column '{labelName}' is empty.")).ToArray();
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

    /// <summary>Throws naming the row and column of the first value outside [lower, upper].</summary>
    public void RequireWithin(double lower, double upper, string why)
    {
        for (int i = 0; i < Rows.Count; i++)
            for (int j = 0; j < Dimension; j++)
                if (!(Rows[i][j] >= lower && Rows[i][j] <= upper))
                    throw new InputException($"Row {i + 1}, column '{FeatureNames[j]}': value {Rows[i][j].ToString(CultureInfo.InvariantCulture)} lies outside [{lower}, {upper}] ({why}).");
    }
}
