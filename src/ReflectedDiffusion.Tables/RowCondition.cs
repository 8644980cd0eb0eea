using System.Globalization;

namespace ReflectedDiffusion.Tables;

/// <summary>The comparison of a <see cref="RowCondition"/>.</summary>
public enum ConditionOperator
{
    /// <summary>The cell equals the value (a category, a number, or NA for missing).</summary>
    Equal,
    /// <summary>The cell is a number below the value.</summary>
    Less,
    /// <summary>The cell is a number at most the value.</summary>
    LessOrEqual,
    /// <summary>The cell is a number above the value.</summary>
    Greater,
    /// <summary>The cell is a number at least the value.</summary>
    GreaterOrEqual,
}

/// <summary>
/// A condition on one column of generated rows: <c>column=value</c> (a category, a number, or <c>NA</c> for a
/// missing cell) or a numeric range <c>column&gt;=x</c>, <c>column&gt;x</c>, <c>column&lt;=x</c>, <c>column&lt;x</c>.
/// A range never holds for a missing cell.
/// </summary>
public sealed record RowCondition(string Column, ConditionOperator Operator, string Value)
{
    private static readonly (string Token, ConditionOperator Op)[] Operators =
        [(">=", ConditionOperator.GreaterOrEqual), ("<=", ConditionOperator.LessOrEqual), (">", ConditionOperator.Greater), ("<", ConditionOperator.Less), ("=", ConditionOperator.Equal)];

    /// <summary>The number of a numeric condition (NaN for <c>=NA</c> and for categories).</summary>
    public double Number => double.TryParse(Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;

    /// <summary>Parses <c>column OP value</c> with OP one of = &gt;= &lt;= &gt; &lt; (spaces around it allowed).</summary>
    public static RowCondition Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // The first operator character splits the column from the value (column names cannot hold =, < or >).
        int at = text.IndexOfAny(['=', '<', '>']);
        if (at <= 0) throw new TableInputException($"Condition '{text}': write column=value, column>=number, column>number, column<=number or column<number.");
        var (token, op) = Operators.First(o => string.CompareOrdinal(text, at, o.Token, 0, o.Token.Length) == 0);
        string column = text[..at].Trim(), value = text[(at + token.Length)..].Trim();
        if (value.Length == 0) throw new TableInputException($"Condition '{text}': no value after '{token}'.");
        return new RowCondition(column, op, value);
    }

    /// <summary>
    /// Checks the condition against the model's <paramref name="schema"/>: the column exists; an equality names a
    /// category of its vocabulary, a number of its range (an integer for integer columns), or NA where cells are
    /// missing; a range is on a numeric column and leaves some of the column's range. The error says why not.
    /// </summary>
    public void Validate(TableSchema schema)
    {
        var c = schema.Columns.FirstOrDefault(s => s.Name == Column)
            ?? throw new TableInputException($"Condition '{this}': column '{Column}' is not in the model's table (columns: {string.Join(", ", schema.Names)}).");
        if (Operator == ConditionOperator.Equal && Value == TableCsv.Missing)
        {
            if (!c.HasMissing) throw new TableInputException($"Condition '{this}': column '{Column}' has no missing values in the training data.");
            return;
        }
        if (!c.IsNumeric)
        {
            if (Operator != ConditionOperator.Equal) throw new TableInputException($"Condition '{this}': column '{Column}' is categorical; a range needs a numeric column.");
            var vocabulary = c.Vocabulary ?? [];
            if (!vocabulary.Contains(Value, StringComparer.Ordinal))
                throw new TableInputException($"Condition '{this}': '{Value}' is not a category of column '{Column}' (categories: {string.Join(", ", vocabulary)}).");
            return;
        }
        double v = Number;
        if (double.IsNaN(v) || double.IsInfinity(v)) throw new TableInputException($"Condition '{this}': '{Value}' is not a number (column '{Column}' is numeric).");
        if (c.Min is not { } lo || c.Max is not { } hi) throw new TableInputException($"Condition '{this}': column '{Column}' has no values.");
        bool possible = Operator switch
        {
            ConditionOperator.Equal => v >= lo && v <= hi && (c.Kind != ColumnKind.Integer || v == Math.Round(v)),
            ConditionOperator.Less => lo < v,
            ConditionOperator.LessOrEqual => lo <= v,
            ConditionOperator.Greater => hi > v,
            _ => hi >= v,
        };
        if (!possible) throw new TableInputException($"Condition '{this}': no value of column '{Column}' can satisfy it (the column's values lie in [{TableCsv.FormatNumber(lo, false)}, {TableCsv.FormatNumber(hi, false)}]{(c.Kind == ColumnKind.Integer ? ", integers" : "")}).");
    }

    /// <summary>Whether row <paramref name="row"/> of <paramref name="table"/> satisfies the condition.</summary>
    public bool IsSatisfiedBy(Table table, int row)
    {
        var column = table[Column];
        if (column.IsMissing(row)) return Operator == ConditionOperator.Equal && Value == TableCsv.Missing;
        if (Operator == ConditionOperator.Equal && Value == TableCsv.Missing) return false;
        if (!column.IsNumeric) return Operator == ConditionOperator.Equal && column.Texts![row] == Value;
        double x = column.Numbers![row], v = Number;
        return Operator switch
        {
            ConditionOperator.Equal => x == v,
            ConditionOperator.Less => x < v,
            ConditionOperator.LessOrEqual => x <= v,
            ConditionOperator.Greater => x > v,
            _ => x >= v,
        };
    }

    /// <summary>The condition as it is written: <c>column=value</c>, <c>column&gt;=x</c>, ...</summary>
    public override string ToString() => Column + Operators.First(o => o.Op == Operator).Token + Value;
}
