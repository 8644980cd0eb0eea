using Microsoft.ML;
using Microsoft.ML.Data;

namespace ReflectedDiffusion.ML;

/// <summary>
/// Reads a known-size <see cref="float"/> vector column from a cursor into dense rows: the one place where feature values
/// enter from an IDataView, so every path (training, scoring, image folders) checks them the same way. A row of the wrong
/// length or with a value that is not finite is an error naming the column, the row and the feature, never a silent copy
/// of the previous row's values.
/// </summary>
internal sealed class FeatureReader
{
    private readonly DataViewRowCursor _cursor;
    private readonly ValueGetter<VBuffer<float>> _getter;
    private readonly string _column;
    private VBuffer<float> _buffer;

    /// <summary>Reads <paramref name="column"/> (active in <paramref name="cursor"/>) as rows of <paramref name="dimension"/> values.</summary>
    public FeatureReader(DataViewRowCursor cursor, DataViewSchema.Column column, int dimension)
    {
        ArgumentNullException.ThrowIfNull(cursor);
        _cursor = cursor;
        _getter = cursor.GetGetter<VBuffer<float>>(column);
        _column = column.Name;
        Dimension = dimension;
    }

    /// <summary>Values per row.</summary>
    public int Dimension { get; }

    /// <summary>Rows read so far (the index of the next row).</summary>
    public long Row { get; private set; }

    /// <summary>Moves to the next row and copies it into <paramref name="destination"/>; false at the end of the data.</summary>
    public bool TryRead(Span<float> destination)
    {
        if (!_cursor.MoveNext()) return false;
        _getter(ref _buffer);
        if (_buffer.Length != Dimension)
            throw new InvalidOperationException($"Column '{_column}', row {Row}: {_buffer.Length} values; every row must have {Dimension}.");
        _buffer.CopyTo(destination);
        for (int j = 0; j < Dimension; j++)
            if (!float.IsFinite(destination[j]))
                throw new InvalidOperationException($"Column '{_column}', row {Row}, feature {j}: value {destination[j]} is not finite.");
        Row++;
        return true;
    }

    /// <summary>Reads up to <paramref name="maxRows"/> rows, row-major; an empty array at the end of the data.</summary>
    public float[] ReadBatch(int maxRows)
    {
        var batch = new float[(long)maxRows * Dimension];
        int rows = 0;
        while (rows < maxRows && TryRead(batch.AsSpan(rows * Dimension, Dimension))) rows++;
        return rows == maxRows ? batch : batch[..(rows * Dimension)];
    }
}
