using Microsoft.ML;
using Microsoft.ML.Data;

namespace ReflectedDiffusion.ML;

/// <summary>Reads the feature (and label) columns of an <see cref="IDataView"/> into memory, naming bad rows.</summary>
internal static class DataReading
{
    public static (List<float[]> Rows, long[]? Labels, int Classes) Read(IDataView data, string featureColumn, string? labelColumn, int dimension)
    {
        var rows = new List<float[]>();
        var labels = labelColumn is null ? null : new List<long>();
        foreach (var (features, label) in Rows(data, featureColumn, labelColumn, dimension))
        {
            rows.Add(features);
            labels?.Add(label);
        }
        if (rows.Count == 0) throw NoRows(featureColumn);
        return (rows, labels?.ToArray(), labels is null ? 0 : Classes(data, labelColumn!, labels.Max()));
    }

    /// <summary>
    /// One pass over the rows, each feature vector in a new array, with its class index (0 without a label column); every
    /// call opens a new cursor, so the rows can be read again.
    /// </summary>
    public static IEnumerable<(float[] Features, long Label)> Rows(IDataView data, string featureColumn, string? labelColumn, int dimension)
    {
        var features = data.Schema[featureColumn];
        var columns = new List<DataViewSchema.Column> { features };
        DataViewSchema.Column? label = null;
        if (labelColumn is not null)
        {
            label = data.Schema.GetColumnOrNull(labelColumn) ?? throw new ArgumentOutOfRangeException(nameof(labelColumn), $"Label column '{labelColumn}' not found.");
            columns.Add(label.Value);
        }
        using var cursor = data.GetRowCursor(columns);
        var reader = new FeatureReader(cursor, features, dimension);
        var getLabel = label is null ? null : LabelGetter(cursor, label.Value);
        for (var dense = new float[dimension]; reader.TryRead(dense); dense = new float[dimension])
            yield return (dense, getLabel is null ? 0 : getLabel(reader.Row - 1));
    }

    /// <summary>The number of classes: a key column's count, else the largest class index seen plus one.</summary>
    public static int Classes(IDataView data, string labelColumn, long largestLabel)
        => data.Schema[labelColumn].Type is KeyDataViewType key ? (int)key.Count : (int)largestLabel + 1;

    public static InvalidOperationException NoRows(string featureColumn) => new($"Column '{featureColumn}' has no rows to train on.");

    // Class index 0..C-1 from a key (1-based, 0 = missing) or an integer-valued numeric column.
    private static Func<long, long> LabelGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        string name = column.Name;
        switch (column.Type)
        {
            case KeyDataViewType:
            {
                var get = cursor.GetGetter<uint>(column);
                uint v = 0;
                return row => { get(ref v); return v == 0 ? throw new InvalidOperationException($"Label column '{name}', row {row}: the key value is missing.") : v - 1; };
            }
            case NumberDataViewType t when t == NumberDataViewType.Int32:
            {
                var get = cursor.GetGetter<int>(column);
                int v = 0;
                return row => { get(ref v); return Checked(v, name, row); };
            }
            case NumberDataViewType t when t == NumberDataViewType.Int64:
            {
                var get = cursor.GetGetter<long>(column);
                long v = 0;
                return row => { get(ref v); return Checked(v, name, row); };
            }
            case NumberDataViewType t when t == NumberDataViewType.Single:
            {
                var get = cursor.GetGetter<float>(column);
                float v = 0;
                return row =>
                {
                    get(ref v);
                    if (v != System.MathF.Floor(v)) throw new InvalidOperationException($"Label column '{name}', row {row}: {v} is not a class index; map text labels with MapValueToKey.");
                    return Checked((long)v, name, row);
                };
            }
            default:
                throw new InvalidOperationException($"Label column '{name}' must be a key or an integer column; found {column.Type}. Map text labels with MapValueToKey first.");
        }
    }

    private static long Checked(long v, string name, long row)
        => v < 0 ? throw new InvalidOperationException($"Label column '{name}', row {row}: class {v} is negative.") : v;
}
