using System.CommandLine;
using System.Globalization;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// Rows First..End-1 of a job (<c>--rows A:B</c>, 0-based, B excluded): a shard. Shards of one job, run anywhere and in
/// any order, concatenate to exactly the rows of the unsplit run, because every row depends only on its own index.
/// </summary>
internal readonly record struct RowRange(long First, long End)
{
    /// <summary>Rows in the range.</summary>
    public long Count => End - First;

    /// <summary>The <c>--rows</c> option, described for <paramref name="what"/>.</summary>
    public static Option<string> Option(string what) => new("--rows") { Description = $"A:B: only rows A to B-1 (0-based, B excluded) of {what}, for shards of one job; shards concatenate to the unsplit run's rows." };

    /// <summary>The range <paramref name="text"/> names, or null when it is null; bad syntax is an input error naming the flag.</summary>
    public static RowRange? Parse(string? text)
    {
        if (text is null) return null;
        var parts = text.Split(':');
        if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long a)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long b) && a < b)
            return new RowRange(a, b);
        throw new InputException($"Option '--rows': '{text}' is not A:B with whole numbers 0 <= A < B.");
    }

    /// <summary>The range's items of <paramref name="rows"/> (which must reach <see cref="End"/>).</summary>
    public List<T> Of<T>(IReadOnlyList<T> rows, string what)
    {
        if (End > rows.Count) throw new InputException($"Option '--rows {First}:{End}': {what} holds {rows.Count} rows.");
        return rows.Skip((int)First).Take((int)Count).ToList();
    }
}
