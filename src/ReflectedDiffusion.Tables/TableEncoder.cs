namespace ReflectedDiffusion.Tables;

/// <summary>
/// Maps the rows of a table to points of the unit box [0, 1]^D and back, so that every decoded row keeps the
/// table's hard constraints: numeric values inside their column's bounds (declared, else observed; never widened
/// unless asked), integers as integers, categories from the vocabulary, missing values as missing.
/// <list type="bullet">
/// <item>Real column: one coordinate, [Min, Max] scaled to [0, 1]; decoded values are rounded to the data's decimals inside the bounds.</item>
/// <item>Integer column: one coordinate, each integer of [Min, Max] owning an equal cell; decoded by rounding.</item>
/// <item>Point masses (a value holding at least <see cref="TableEncoderOptions.PointMassShare"/> of the rows: zeros,
/// floors, caps, or the few values of a year column): an indicator coordinate each (1 at the value); a decoded
/// indicator above 1/2 (the largest, if several) gives the value, so it comes back at its learned rate.</item>
/// <item>Categorical column: a one-hot block, one coordinate per category (training rows sit at the vertices);
/// decoded by argmax, so any point of the box, faces and corners included, decodes to one category.</item>
/// <item>Missing values: numeric columns get a missing indicator (decoded missing above 1/2), categorical columns a
/// missing slot in their block, so the rate and the co-occurrence with other columns are learned. The value
/// coordinate of a missing (or point-mass) cell holds a value drawn from the column's other rows, so it adds no spike.</item>
/// <item>Constant columns (at most one value): no coordinate (a missing indicator if some cells are missing); restored on decoding.</item>
/// </list>
/// The encoder serialises with System.Text.Json as it is (the schema inside it).
/// </summary>
public sealed record TableEncoder
{
    /// <summary>The schema of the table the encoder was fitted on.</summary>
    public required TableSchema Schema { get; init; }

    /// <summary>The encoding of each column, in the schema's order.</summary>
    public required IReadOnlyList<ColumnEncoding> Columns { get; init; }

    /// <summary>The number of box coordinates D.</summary>
    public int Dimension => Columns.Sum(c => c.Width);

    /// <summary>The encoding of column <paramref name="name"/>; an error listing the columns when there is none.</summary>
    public ColumnEncoding this[string name]
        => Columns.FirstOrDefault(c => c.Name == name) ?? throw new TableInputException($"Column '{name}' is not in the model's table (columns: {string.Join(", ", Columns.Select(c => c.Name))}).");

    /// <summary>
    /// Fits the encoding of <paramref name="table"/> (its schema inferred, integer columns as given). Declared bounds
    /// must contain the data; a table whose every column is constant is refused (nothing to model).
    /// </summary>
    public static TableEncoder Fit(Table table, TableSchema schema, TableEncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(schema);
        options ??= new TableEncoderOptions();
        options.Validate();
        foreach (var name in options.ColumnBounds.Keys)
        {
            var s = schema[name];
            if (!s.IsNumeric || s.Kind == ColumnKind.Categorical) throw new TableInputException($"Bounds of column '{name}': the column is {s.Kind.ToString().ToLowerInvariant()}, not numeric.");
        }
        var columns = new List<ColumnEncoding>();
        int next = 0;
        foreach (var s in schema.Columns)
        {
            var column = table[s.Name];
            var encoding = s.Kind switch
            {
                ColumnKind.Categorical => Categorical(s, ref next),
                ColumnKind.Constant => Constant(s, ref next),
                _ => Numeric(s, column.Numbers!, options, ref next),
            };
            columns.Add(encoding);
        }
        if (next == 0) throw new TableInputException($"Every column is constant ({string.Join(", ", schema.Names)}): there is nothing to model.");
        return new TableEncoder { Schema = schema, Columns = columns };
    }

    private static ColumnEncoding Categorical(ColumnSchema s, ref int next)
    {
        var e = new ColumnEncoding
        {
            Name = s.Name, Kind = s.Kind, IsNumeric = false, Categories = s.Vocabulary!, CategoryIndex = next,
            MissingIndex = s.HasMissing ? next + s.Vocabulary!.Length : -1,
        };
        next += e.Width;
        return e;
    }

    private static ColumnEncoding Constant(ColumnSchema s, ref int next)
    {
        var e = new ColumnEncoding
        {
            Name = s.Name, Kind = s.Kind, IsNumeric = s.IsNumeric, Constant = s.ConstantText,
            Min = s.Min ?? 0, Max = s.Max ?? 0,
            // Missing cells of a column that has a value: an indicator, so their rate and co-occurrence are learned.
            MissingIndex = s.HasMissing && s.ConstantText is not null ? next : -1,
        };
        next += e.Width;
        return e;
    }

    private static ColumnEncoding Numeric(ColumnSchema s, double[] values, TableEncoderOptions options, ref int next)
    {
        double lo = s.Min!.Value, hi = s.Max!.Value;
        if (options.ColumnBounds.TryGetValue(s.Name, out var declared))
        {
            if (lo < declared.Lower || hi > declared.Upper)
            {
                int row = Array.FindIndex(values, v => v < declared.Lower || v > declared.Upper);
                throw new TableInputException($"Column '{s.Name}', row {row}: {values[row]} lies outside the declared bounds [{declared.Lower}, {declared.Upper}].");
            }
            (lo, hi) = declared;
        }
        else if (options.BoundsMargin > 0)
        {
            double pad = options.BoundsMargin * (hi - lo);
            (lo, hi) = s.Kind == ColumnKind.Integer ? (Math.Floor(lo - pad), Math.Ceiling(hi + pad)) : (lo - pad, hi + pad);
        }
        int present = values.Count(v => !double.IsNaN(v));
        var masses = values.Where(v => !double.IsNaN(v)).GroupBy(v => v)
            .Where(g => g.Count() >= Math.Max(options.PointMassShare * values.Length, TableEncoderOptions.MinPointMassRows)).Select(g => g.Key).Order().ToArray();
        // Without values outside the point masses the value coordinate would carry nothing.
        bool hasValue = masses.Length == 0 || values.Any(v => !double.IsNaN(v) && Array.IndexOf(masses, v) < 0);
        int index = next;
        var e = new ColumnEncoding
        {
            Name = s.Name, Kind = s.Kind, IsNumeric = true, Min = lo, Max = hi, Decimals = s.Decimals,
            ValueIndex = hasValue ? index++ : -1,
            PointMasses = masses, PointMassIndex = masses.Length > 0 ? index : -1,
            MissingIndex = s.HasMissing ? index + masses.Length : -1,
        };
        next += e.Width;
        return e;
    }

    /// <summary>
    /// Encodes the rows of <paramref name="table"/> (its columns found by name; other columns ignored) as points of
    /// [0, 1]^D. A value outside the encoder's bounds, an unknown category or a column of the wrong type is an
    /// error naming the column and row.
    /// </summary>
    public float[][] Encode(Table table)
    {
        ArgumentNullException.ThrowIfNull(table);
        int n = table.RowCount, d = Dimension;
        var rows = new float[n][];
        for (int i = 0; i < n; i++) rows[i] = new float[d];
        var random = new Random(1); // the imputation draws: the same table always encodes the same way
        foreach (var e in Columns)
        {
            if (e.Width == 0) continue;
            var column = table[e.Name];
            if (column.IsNumeric != e.IsNumeric) throw new TableInputException($"Column '{e.Name}' holds {(column.IsNumeric ? "numbers" : "text")}; the model's column holds {(e.IsNumeric ? "numbers" : "text")}.");
            if (e.Kind == ColumnKind.Categorical) EncodeCategorical(e, column.Texts!, rows);
            else if (e.Kind == ColumnKind.Constant) EncodeConstant(e, column, rows);
            else EncodeNumeric(e, column.Numbers!, rows, random);
        }
        return rows;
    }

    private static void EncodeCategorical(ColumnEncoding e, string?[] texts, float[][] rows)
    {
        var index = e.Categories.Select((c, k) => (c, k)).ToDictionary(p => p.c, p => p.k, StringComparer.Ordinal);
        for (int i = 0; i < texts.Length; i++)
        {
            if (texts[i] is not { } text)
            {
                if (e.MissingIndex < 0) throw new TableInputException($"Column '{e.Name}', row {i}: missing, but the model's column has no missing values.");
                rows[i][e.MissingIndex] = 1;
            }
            else if (index.TryGetValue(text, out int k)) rows[i][e.CategoryIndex + k] = 1;
            else throw new TableInputException($"Column '{e.Name}', row {i}: '{text}' is not a category of the column (categories: {string.Join(", ", e.Categories)}).");
        }
    }

    private static void EncodeConstant(ColumnEncoding e, TableColumn column, float[][] rows)
    {
        for (int i = 0; i < column.Length; i++)
            if (column.IsMissing(i)) rows[i][e.MissingIndex] = 1;
    }

    private static void EncodeNumeric(ColumnEncoding e, double[] values, float[][] rows, Random random)
    {
        for (int i = 0; i < values.Length; i++)
            if (!double.IsNaN(values[i]) && (values[i] < e.Min || values[i] > e.Max))
                throw new TableInputException($"Column '{e.Name}', row {i}: {values[i]} lies outside the column's bounds [{e.Min}, {e.Max}].");
        // The donors of the value coordinate where a row has none of its own (missing or a point mass).
        var donors = values.Where(v => !double.IsNaN(v) && Array.IndexOf(e.PointMasses, v) < 0).ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            int mass = double.IsNaN(v) ? -1 : Array.IndexOf(e.PointMasses, v);
            if (double.IsNaN(v))
            {
                if (e.MissingIndex < 0) throw new TableInputException($"Column '{e.Name}', row {i}: missing, but the model's column has no missing values.");
                rows[i][e.MissingIndex] = 1;
            }
            else if (mass >= 0) rows[i][e.PointMassIndex + mass] = 1;
            else if (e.ValueIndex < 0) throw new TableInputException($"Column '{e.Name}', row {i}: {v} is not one of the column's values ({string.Join(", ", e.PointMasses)}).");
            if (e.ValueIndex < 0) continue;
            double value = double.IsNaN(v) || mass >= 0 ? (donors.Length > 0 ? donors[random.Next(donors.Length)] : (e.Min + e.Max) / 2) : v;
            rows[i][e.ValueIndex] = (float)Math.Clamp(e.ToUnit(value), 0, 1);
        }
    }

    /// <summary>Decodes points of [0, 1]^D (as <see cref="Encode"/> lays them out) into a table with the schema's columns.</summary>
    public Table Decode(IReadOnlyList<float[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int d = Dimension;
        for (int i = 0; i < rows.Count; i++)
            if (rows[i].Length != d) throw new ArgumentException($"Row {i} has {rows[i].Length} coordinates; the encoding has {d}.", nameof(rows));
        return new Table(Columns.Select(e => DecodeColumn(e, rows)).ToArray());
    }

    private static TableColumn DecodeColumn(ColumnEncoding e, IReadOnlyList<float[]> rows)
    {
        int n = rows.Count;
        if (!e.IsNumeric)
        {
            var texts = new string?[n];
            for (int i = 0; i < n; i++)
                texts[i] = e.Kind == ColumnKind.Constant
                    ? (e.MissingIndex >= 0 && rows[i][e.MissingIndex] > 0.5f ? null : e.Constant)
                    : ArgMax(rows[i], e.CategoryIndex, e.Categories.Length + (e.MissingIndex >= 0 ? 1 : 0)) is var k && k < e.Categories.Length ? e.Categories[k] : null;
            return TableColumn.Text(e.Name, texts);
        }
        var numbers = new double[n];
        for (int i = 0; i < n; i++)
        {
            var x = rows[i];
            if (e.MissingIndex >= 0 && x[e.MissingIndex] > 0.5f) { numbers[i] = double.NaN; continue; }
            if (e.Kind == ColumnKind.Constant) { numbers[i] = e.Constant is null ? double.NaN : e.Min; continue; }
            if (e.PointMasses.Length > 0)
            {
                int k = ArgMax(x, e.PointMassIndex, e.PointMasses.Length);
                if (e.ValueIndex < 0 || x[e.PointMassIndex + k] > 0.5f) { numbers[i] = e.PointMasses[k]; continue; }
            }
            numbers[i] = e.FromUnit(Math.Clamp(x[e.ValueIndex], 0, 1));
        }
        return TableColumn.Numeric(e.Name, numbers);
    }

    // The first index of the largest of x[start .. start + count).
    private static int ArgMax(float[] x, int start, int count)
    {
        int best = 0;
        for (int k = 1; k < count; k++) if (x[start + k] > x[start + best]) best = k;
        return best;
    }

    /// <summary>
    /// A name per coordinate, in order: the column for a value, <c>column=value</c> for a point mass or category,
    /// <c>column=NA</c> for a missing indicator or slot.
    /// </summary>
    public string[] CoordinateNames()
    {
        var names = new string[Dimension];
        foreach (var e in Columns)
        {
            if (e.ValueIndex >= 0) names[e.ValueIndex] = e.Name;
            for (int k = 0; k < e.PointMasses.Length; k++) names[e.PointMassIndex + k] = $"{e.Name}={TableCsv.FormatNumber(e.PointMasses[k], false)}";
            for (int k = 0; k < e.Categories.Length; k++) names[e.CategoryIndex + k] = $"{e.Name}={e.Categories[k]}";
            if (e.MissingIndex >= 0) names[e.MissingIndex] = $"{e.Name}={TableCsv.Missing}";
        }
        return names;
    }

    /// <summary>One line per column: its coordinates and what they hold, for printing at training.</summary>
    public IEnumerable<string> Describe() => Columns.Select(c => c.ToString());
}
