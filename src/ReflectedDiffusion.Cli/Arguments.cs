using System.Globalization;

namespace ReflectedDiffusion.Cli;

/// <summary>Bad usage or bad input: the tool exits with code 2 and prints the message, which says what and where.</summary>
internal sealed class InputException(string message) : Exception(message);

/// <summary>Parsed <c>--name value</c> options of one command; every getter validates and names the option.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _values;

    private Arguments(Dictionary<string, string> values) => _values = values;

    /// <summary>Parses options; an unknown option, a missing value or a repeated option is a usage error.</summary>
    public static Arguments Parse(string command, IReadOnlyList<string> args, params string[] allowed)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || !allowed.Contains(name[2..]))
                throw new InputException($"'{command}' does not take '{name}'. Options: {string.Join(", ", allowed.Select(a => "--" + a))}.");
            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                throw new InputException($"Option '{name}' needs a value.");
            if (!values.TryAdd(name[2..], args[++i]))
                throw new InputException($"Option '{name}' is given twice.");
        }
        return new Arguments(values);
    }

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public string Require(string name) => Get(name) ?? throw new InputException($"Option '--{name}' is required.");

    public int GetInt(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
        => (int)GetLong(name, fallback, min, max);

    public long GetLong(string name, long fallback, long min = long.MinValue, long max = long.MaxValue)
    {
        if (Get(name) is not { } text) return fallback;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) || v < min || v > max)
            throw new InputException($"Option '--{name}': '{text}' is not an integer in [{min}, {max}].");
        return v;
    }

    public ulong GetSeed(string name, ulong fallback)
    {
        if (Get(name) is not { } text) return fallback;
        return ulong.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong v)
            ? v : throw new InputException($"Option '--{name}': '{text}' is not a non-negative integer.");
    }

    public double GetDouble(string name, double fallback, double min = double.MinValue, double max = double.MaxValue)
    {
        if (Get(name) is not { } text) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v >= min && v <= max))
            throw new InputException($"Option '--{name}': '{text}' is not a number in [{min}, {max}].");
        return v;
    }

    public string GetChoice(string name, string fallback, params string[] choices)
    {
        string v = Get(name) ?? fallback;
        return choices.Contains(v, StringComparer.Ordinal) ? v : throw new InputException($"Option '--{name}': '{v}' is not one of {string.Join(", ", choices)}.");
    }
}
