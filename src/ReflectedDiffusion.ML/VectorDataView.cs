using Microsoft.ML;
using Microsoft.ML.Data;

namespace ReflectedDiffusion.ML;

/// <summary><see cref="IDataView"/>s of feature rows (held in memory or streamed), in the shape the estimator takes and the generators give.</summary>
public static class VectorDataView
{
    /// <summary>
    /// A view with a known-size <see cref="float"/> vector column <paramref name="columnName"/> of
    /// <paramref name="dimension"/> features; with <paramref name="classIndices"/> (0..<paramref name="classes"/>-1 per
    /// row) also a key column <paramref name="labelColumnName"/> of <paramref name="classes"/> values, class index k
    /// being key k + 1 as MapValueToKey numbers them.
    /// </summary>
    public static IDataView Create(MLContext mlContext, IEnumerable<float[]> rows, int dimension, string columnName = "Features",
        IReadOnlyList<long>? classIndices = null, int classes = 0, string labelColumnName = "Label")
    {
        ArgumentNullException.ThrowIfNull(rows);
        return classIndices is null
            ? Stream(mlContext, rows.ToList(), dimension, columnName)
            : Stream(mlContext, rows.Select((r, i) => (r, classIndices[i])).ToList(), dimension, classes, columnName, labelColumnName);
    }

    /// <summary>
    /// A view like <see cref="Create"/> that holds no rows: every cursor enumerates <paramref name="rows"/> afresh (a
    /// file read again, say), so they must give the same rows each time. The estimator trains on such a view in
    /// bounded memory (see <c>MaxRowsInMemory</c>).
    /// </summary>
    public static IDataView Stream(MLContext mlContext, IEnumerable<float[]> rows, int dimension, string columnName = "Features")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(rows);
        var schema = SchemaDefinition.Create(typeof(FeatureRow));
        schema[nameof(FeatureRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
        schema[nameof(FeatureRow.Features)].ColumnName = columnName;
        return mlContext.Data.LoadFromEnumerable(rows.Select(r => new FeatureRow { Features = r }), schema);
    }

    /// <summary>
    /// <see cref="Stream(MLContext, IEnumerable{float[]}, int, string)"/> with a class index (0..<paramref name="classes"/>-1)
    /// per row, given as the key column <paramref name="labelColumnName"/> (class index k is key k + 1).
    /// </summary>
    public static IDataView Stream(MLContext mlContext, IEnumerable<(float[] Features, long ClassIndex)> rows, int dimension, int classes,
        string columnName = "Features", string labelColumnName = "Label")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(rows);
        if (classes <= 0) throw new ArgumentOutOfRangeException(nameof(classes), classes, "A label column needs at least one class.");
        var labelled = SchemaDefinition.Create(typeof(LabelledRow));
        labelled[nameof(LabelledRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
        labelled[nameof(LabelledRow.Features)].ColumnName = columnName;
        labelled[nameof(LabelledRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), classes);
        labelled[nameof(LabelledRow.Label)].ColumnName = labelColumnName;
        return mlContext.Data.LoadFromEnumerable(rows.Select(r => new LabelledRow { Features = r.Features, Label = (uint)r.ClassIndex }), labelled);
    }

    private sealed class FeatureRow
    {
        public float[] Features = [];
    }

    private sealed class LabelledRow
    {
        public float[] Features = [];
        public uint Label; // the class index: LoadFromEnumerable stores key values one up
    }
}
