using Microsoft.ML;
using Microsoft.ML.Data;

namespace ReflectedDiffusion.ML;

/// <summary>In-memory <see cref="IDataView"/>s of feature rows, in the shape the estimator takes and the generators give.</summary>
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
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(rows);
        var vector = new VectorDataViewType(NumberDataViewType.Single, dimension);
        if (classIndices is null)
        {
            var schema = SchemaDefinition.Create(typeof(FeatureRow));
            schema[nameof(FeatureRow.Features)].ColumnType = vector;
            schema[nameof(FeatureRow.Features)].ColumnName = columnName;
            return mlContext.Data.LoadFromEnumerable(rows.Select(r => new FeatureRow { Features = r }).ToList(), schema);
        }
        if (classes <= 0) throw new ArgumentOutOfRangeException(nameof(classes), classes, "A label column needs at least one class.");
        var labelled = SchemaDefinition.Create(typeof(LabelledRow));
        labelled[nameof(LabelledRow.Features)].ColumnType = vector;
        labelled[nameof(LabelledRow.Features)].ColumnName = columnName;
        labelled[nameof(LabelledRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), classes);
        labelled[nameof(LabelledRow.Label)].ColumnName = labelColumnName;
        return mlContext.Data.LoadFromEnumerable(rows.Select((r, i) => new LabelledRow { Features = r, Label = (uint)classIndices[i] }).ToList(), labelled);
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
