using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using ReflectedDiffusion.Tables;

namespace ReflectedDiffusion.ML;

/// <summary>
/// Tables to and from <see cref="IDataView"/>s: text and boolean columns become categorical columns, numeric scalar
/// columns numeric ones (NaN of a float column is missing, an empty text is missing). Generated tables come back in
/// the column types they were read from.
/// </summary>
public static class TableDataView
{
    /// <summary>
    /// Reads the scalar columns of <paramref name="data"/> (hidden columns and <paramref name="ignore"/> left out)
    /// into a <see cref="Table"/>, with the ML.NET type of each column. A vector or key column is an error naming it
    /// (convert keys back to their values with MapKeyToValue first).
    /// </summary>
    public static (Table Table, IReadOnlyDictionary<string, DataViewType> Types) Read(IDataView data, IReadOnlyCollection<string>? ignore = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var columns = data.Schema.Where(c => !c.IsHidden && !(ignore?.Contains(c.Name) ?? false)).ToArray();
        foreach (var c in columns)
            if (!(c.Type is TextDataViewType or BooleanDataViewType || IsNumber(c.Type)))
                throw new ArgumentException($"Column '{c.Name}' is {c.Type}; a table takes text, boolean and numeric scalar columns (map keys to values, leave vectors out with ignore).", nameof(data));
        var values = columns.Select(_ => new List<object?>()).ToArray();
        using (var cursor = data.GetRowCursor(columns))
        {
            var getters = columns.Select(c => Getter(cursor, c)).ToArray();
            while (cursor.MoveNext())
                for (int j = 0; j < columns.Length; j++) values[j].Add(getters[j]());
        }
        var table = new Table(columns.Select((c, j) => IsNumber(c.Type)
            ? TableColumn.Numeric(c.Name, values[j].Select(v => (double)v!).ToArray())
            : TableColumn.Text(c.Name, values[j].Select(v => (string?)v).ToArray())).ToArray());
        return (table, columns.ToDictionary(c => c.Name, c => c.Type));
    }

    private static bool IsNumber(DataViewType t) => t is NumberDataViewType;

    // One boxed value per call: a double for numbers (NaN where missing), a string or null for text and booleans.
    private static Func<object?> Getter(DataViewRowCursor cursor, DataViewSchema.Column c)
    {
        switch (c.Type.RawType)
        {
            case var t when t == typeof(ReadOnlyMemory<char>):
            {
                var g = cursor.GetGetter<ReadOnlyMemory<char>>(c);
                ReadOnlyMemory<char> v = default;
                return () => { g(ref v); return v.Length == 0 ? null : v.ToString(); };
            }
            case var t when t == typeof(bool): return Boxed<bool>(cursor, c, b => b ? "true" : "false");
            case var t when t == typeof(float): return Boxed<float>(cursor, c, f => (double)f);
            case var t when t == typeof(double): return Boxed<double>(cursor, c, d => d);
            case var t when t == typeof(sbyte): return Boxed<sbyte>(cursor, c, v => (double)v);
            case var t when t == typeof(byte): return Boxed<byte>(cursor, c, v => (double)v);
            case var t when t == typeof(short): return Boxed<short>(cursor, c, v => (double)v);
            case var t when t == typeof(ushort): return Boxed<ushort>(cursor, c, v => (double)v);
            case var t when t == typeof(int): return Boxed<int>(cursor, c, v => (double)v);
            case var t when t == typeof(uint): return Boxed<uint>(cursor, c, v => (double)v);
            case var t when t == typeof(long): return Boxed<long>(cursor, c, v => (double)v);
            case var t when t == typeof(ulong): return Boxed<ulong>(cursor, c, v => (double)v);
            default: throw new ArgumentException($"Column '{c.Name}' of type {c.Type} is not a table column.");
        }
    }

    private static Func<object?> Boxed<T>(DataViewRowCursor cursor, DataViewSchema.Column c, Func<T, object?> convert)
    {
        var g = cursor.GetGetter<T>(c);
        T v = default!;
        return () => { g(ref v); return convert(v); };
    }

    /// <summary>
    /// A view of <paramref name="table"/> with each column in its type from <paramref name="types"/> (text where none
    /// is given for a text column, double for a numeric one). A missing value is NaN in a float column and empty text
    /// in a text column; in a boolean or integer column (which has no missing value) it is an error naming the column.
    /// </summary>
    public static IDataView Create(Table table, IReadOnlyDictionary<string, DataViewType>? types = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        var builder = new DataViewSchema.Builder();
        var columnTypes = table.Columns.Select(c => types?.GetValueOrDefault(c.Name) ?? (c.IsNumeric ? NumberDataViewType.Double : TextDataViewType.Instance)).ToArray();
        for (int j = 0; j < columnTypes.Length; j++) builder.AddColumn(table.Columns[j].Name, columnTypes[j]);
        var getters = table.Columns.Select((c, j) => Values(c, columnTypes[j])).ToArray();
        return new InMemoryView(builder.ToSchema(), table.RowCount, getters);
    }

    // The column's values in the raw type of the view column, as an array.
    private static Array Values(TableColumn c, DataViewType type)
    {
        if (type is TextDataViewType)
            return Enumerable.Range(0, c.Length).Select(i => (c.IsMissing(i) ? "" : c.Texts?[i] ?? c.Numbers![i].ToString("R", CultureInfo.InvariantCulture)).AsMemory()).ToArray();
        if (type is BooleanDataViewType)
            return c.Texts!.Select(t => t switch
            {
                "true" => true, "false" => false,
                _ => throw new InvalidOperationException($"Column '{c.Name}' is boolean; a generated row holds '{t ?? "NA"}'."),
            }).ToArray();
        var numbers = c.Numbers ?? throw new InvalidOperationException($"Column '{c.Name}' is {type}; the table holds text.");
        if (type.RawType == typeof(float)) return numbers.Select(v => (float)v).ToArray();
        if (type.RawType == typeof(double)) return numbers.ToArray();
        if (numbers.Any(double.IsNaN)) throw new InvalidOperationException($"Column '{c.Name}' is {type}, which has no missing value; the table has missing values there.");
        return type.RawType switch
        {
            var t when t == typeof(int) => numbers.Select(v => (int)v).ToArray(),
            var t when t == typeof(long) => numbers.Select(v => (long)v).ToArray(),
            var t when t == typeof(uint) => numbers.Select(v => (uint)v).ToArray(),
            var t when t == typeof(ulong) => numbers.Select(v => (ulong)v).ToArray(),
            var t when t == typeof(short) => numbers.Select(v => (short)v).ToArray(),
            var t when t == typeof(ushort) => numbers.Select(v => (ushort)v).ToArray(),
            var t when t == typeof(byte) => numbers.Select(v => (byte)v).ToArray(),
            var t when t == typeof(sbyte) => numbers.Select(v => (sbyte)v).ToArray(),
            _ => throw new InvalidOperationException($"Column '{c.Name}': type {type} is not supported."),
        };
    }

    // A read-only view over one array per column.
    private sealed class InMemoryView(DataViewSchema schema, long rows, Array[] columns) : IDataView
    {
        private readonly Array[] _columns = columns;
        private readonly long _rows = rows;
        public bool CanShuffle => false;
        public DataViewSchema Schema { get; } = schema;
        public long? GetRowCount() => _rows;
        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);
        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [new Cursor(this)];

        private sealed class Cursor(InMemoryView view) : DataViewRowCursor
        {
            private long _position = -1;
            public override long Position => _position;
            public override long Batch => 0;
            public override DataViewSchema Schema => view.Schema;
            public override bool MoveNext() => ++_position < view._rows;
            public override bool IsColumnActive(DataViewSchema.Column column) => true;
            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);
            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                var values = (TValue[])view._columns[column.Index];
                return (ref TValue value) => value = values[_position];
            }
        }
    }
}
