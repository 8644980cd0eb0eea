namespace ReflectedDiffusion.Tables;

/// <summary>
/// Rows that satisfy every condition, by rejection: rounds of rows are drawn from the model (round r with its own
/// seed) and the rows that satisfy all conditions are kept, in draw order, until there are enough. The kept rows
/// follow the model's own conditional distribution exactly (rejection changes nothing else), and every one
/// satisfies every condition by construction. Each round's size follows the acceptance rate seen so far. Rows equal
/// to a row of an excluded set (the training rows: no exact copies) are rejected the same way.
/// </summary>
public static class ConditionalSampler
{
    /// <summary>
    /// Draws <paramref name="count"/> rows satisfying <paramref name="conditions"/> (validated against
    /// <paramref name="schema"/>) through <paramref name="draw"/>(round, rows), spending at most
    /// <paramref name="maxDraws"/> drawn rows; more would be an error that states the acceptance rate seen.
    /// Rows that <paramref name="exclude"/> contains are rejected too. Without conditions or exclusions this is one
    /// round of <paramref name="count"/> rows; with exclusions only, round 0 is that round less its excluded rows.
    /// </summary>
    public static (Table Rows, int Drawn) Draw(Func<int, int, Table> draw, TableSchema schema, IReadOnlyList<RowCondition> conditions, int count, int maxDraws,
        RowSet? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(draw);
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), count, "The number of rows must be positive.");
        foreach (var c in conditions) c.Validate(schema);
        if (conditions.Count == 0 && exclude is null) return (draw(0, count), count);
        if (maxDraws < count) throw new ArgumentOutOfRangeException(nameof(maxDraws), maxDraws, "MaxDraws must be at least the number of rows asked for.");
        var kept = new List<Table>();
        int accepted = 0, drawn = 0;
        for (int round = 0; accepted < count; round++)
        {
            if (drawn >= maxDraws)
                throw new TableInputException(conditions.Count > 0
                    ? $"Conditions {string.Join(" and ", conditions)}: {accepted} of {drawn} drawn rows satisfy them" + (exclude is null ? "" : " and copy no training row") +
                      $" ({100.0 * accepted / drawn:F3}%), short of {count}; loosen the conditions or allow more draws."
                    : $"Copies: {drawn - accepted} of {drawn} drawn rows equal a training row, leaving {accepted}, short of {count}; allow more draws or allow copies.");
            int need = count - accepted;
            // The expected draws for the rows still needed, from the acceptance so far (a first guess of 1/2 with
            // conditions, all without), with slack.
            double rate = drawn == 0 ? (conditions.Count > 0 ? 0.5 : 1.0) : Math.Max(accepted, 1) / (double)drawn;
            // Round 0 without conditions draws exactly the rows asked for, so an unconditional run keeps its rows.
            int n = (int)Math.Min(maxDraws - drawn, drawn == 0 && conditions.Count == 0 ? count : Math.Ceiling(need / rate * 1.2) + 16);
            var rows = draw(round, n);
            drawn += n;
            var good = Enumerable.Range(0, rows.RowCount)
                .Where(i => conditions.All(c => c.IsSatisfiedBy(rows, i)) && !(exclude?.Contains(rows, i) ?? false)).Take(need).ToArray();
            accepted += good.Length;
            if (good.Length > 0) kept.Add(rows.Select(good));
        }
        return (Table.Concat(kept), drawn);
    }
}
