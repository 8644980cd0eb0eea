using System.Globalization;
using Microsoft.ML;
using ReflectedDiffusion.ML;

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

/// <summary>
/// Training rows as the tool names them in messages: the feature and class names, where a row stands in its source,
/// and the view the estimator reads (a known-size <c>Features</c> vector column, and a key label column when labelled).
/// </summary>
internal interface ITrainingRows
{
    string[] FeatureNames { get; }
    /// <summary>Class names in class-index order (null for unlabelled data).</summary>
    string[]? ClassNames { get; }
    long Count { get; }
    /// <summary>Where row <paramref name="row"/> (counting from 0) stands in its source ("data.csv line 12"), or null.</summary>
    string? DescribeRow(long row);
    IDataView View(MLContext ml, string? labelColumn);
}

/// <summary>Training rows held in memory (image folders, IDX files, encoded tables): features, optional class labels, optional image shape.</summary>
internal sealed record Dataset : ITrainingRows
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
    public long Count => Rows.Count;

    public string? DescribeRow(long row) => SourceLines is { } lines && row >= 0 && row < lines.Count ? $"{SourcePath} line {lines[(int)row]}" : null;

    public IDataView View(MLContext ml, string? labelColumn) => Workflow.FeatureView(ml, Rows, Dimension, Labels, ClassNames?.Length ?? 0, labelColumn);

    /// <summary>Pixel features named pixel_0, pixel_1, ... (channel-planar).</summary>
    public static string[] PixelNames(ImageShape shape) => Enumerable.Range(0, shape.Size).Select(i => $"pixel_{i}").ToArray();
}

/// <summary>
/// A CSV file of numeric feature columns and an optional label column (text or integers; classes sorted numerically
/// when all are integers), streamed: one pass checks every cell and collects the classes, then each enumeration reads
/// the file again, so training memory does not grow with the file's length.
/// </summary>
internal sealed class CsvFeatureFile : ITrainingRows
{
    private const string LabelFlag = "--label-column-name";
    private readonly int _columns, _label;
    private readonly int[] _features;
    private readonly Dictionary<string, long>? _classIndex;

    private CsvFeatureFile(string path, string[] featureNames, int columns, int[] features, int label, string[]? classes, long count)
    {
        (Path, FeatureNames, _columns, _features, _label, ClassNames, Count) = (path, featureNames, columns, features, label, classes, count);
        _classIndex = classes?.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i, StringComparer.Ordinal);
    }

    public string Path { get; }
    public string[] FeatureNames { get; }
    public string[]? ClassNames { get; }
    public long Count { get; }
    public int Dimension => FeatureNames.Length;

    /// <summary>
    /// Opens <paramref name="path"/> with the label column <paramref name="labelName"/> (or none) and the feature columns
    /// <paramref name="featureNames"/> (all others when null); every cell is checked here, errors naming line and column.
    /// </summary>
    public static CsvFeatureFile Open(string path, string? labelName, IReadOnlyList<string>? featureNames)
    {
        var header = CsvTable.ReadHeader(path);
        int label = labelName is null ? -1 : CsvTable.IndexOf(header, labelName, LabelFlag, path);
        var names = featureNames?.ToArray() ?? header.Where(h => h != labelName).ToArray();
        if (names.Length == 0) throw new InputException($"{path}: no feature columns.");
        if (labelName is not null && names.Contains(labelName)) throw new InputException($"Option '--features': the label column '{labelName}' cannot also be a feature.");
        var features = names.Select(n => CsvTable.IndexOf(header, n, "feature column", path)).ToArray();
        var distinct = new HashSet<string>(StringComparer.Ordinal);
        long count = 0;
        foreach (var (fields, line) in CsvTable.Records(path, header.Length))
        {
            CsvTable.ParseFeatures(fields, features, names, path, line);
            if (label >= 0)
                distinct.Add(fields[label].Length > 0 ? fields[label] : throw new InputException($"{path} line {line}: label column '{labelName}' is empty."));
            count++;
        }
        if (count == 0) throw new InputException($"{path}: needs a header row and at least one data row.");
        return new CsvFeatureFile(path, names, header.Length, features, label, label >= 0 ? ClassOrder(distinct) : null, count);
    }

    // Integer class names in numeric order, others in ordinal order.
    private static string[] ClassOrder(IEnumerable<string> distinct)
    {
        bool integers = distinct.All(v => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        return integers ? [.. distinct.OrderBy(v => long.Parse(v, CultureInfo.InvariantCulture))] : [.. distinct.Order(StringComparer.Ordinal)];
    }

    /// <summary>The rows and their class indices (0 when unlabelled), read from the file as they are enumerated.</summary>
    public IEnumerable<(float[] Features, long ClassIndex)> Rows()
    {
        foreach (var (fields, line) in CsvTable.Records(Path, _columns))
            yield return (CsvTable.ParseFeatures(fields, _features, FeatureNames, Path, line), _label >= 0 ? _classIndex![fields[_label]] : 0);
    }

    public IDataView View(MLContext ml, string? labelColumn) => ClassNames is null
        ? VectorDataView.Stream(ml, Rows().Select(r => r.Features), Dimension, ModelBundle.FeatureColumn)
        : VectorDataView.Stream(ml, Rows(), Dimension, ClassNames.Length, ModelBundle.FeatureColumn, labelColumn ?? "Label");

    // Lines are not held: a row named in an error is found by reading the file up to it.
    public string? DescribeRow(long row)
    {
        if (row < 0 || row >= Count) return null;
        long i = 0;
        foreach (var (_, line) in CsvTable.Records(Path, _columns))
            if (i++ == row) return $"{Path} line {line}";
        return null;
    }
}
