using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace ReflectedDiffusion.Cli;

/// <summary>Command-line spelling of names: <c>NumberOfSteps</c> is <c>number-of-steps</c>, <c>UNet</c> is <c>unet</c>.</summary>
internal static class Kebab
{
    /// <summary>Lower case with a hyphen where a capital follows a lower-case letter or a digit.</summary>
    public static string Of(string name)
    {
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]))) text.Append('-');
            text.Append(char.ToLowerInvariant(name[i]));
        }
        return text.ToString();
    }

    /// <summary>The flag of a field or parameter name: <c>--</c> and its kebab case.</summary>
    public static string Flag(string name) => "--" + Of(name);
}

/// <summary>
/// How values of one type are written on the command line: numbers in the invariant culture, enum values in kebab
/// case or by their names (case-insensitive), lists comma-separated. One syntax serves every option, so a bad value
/// gets the same kind of message wherever it is given.
/// </summary>
internal sealed class ValueSyntax
{
    private readonly Type _type;
    private readonly Type? _element;
    private readonly IReadOnlyDictionary<string, object?> _lookup;

    /// <param name="type">The option's type (nullable and array types allowed).</param>
    /// <param name="extraNames">Further accepted names of enum values (null for a nullable enum's "no value").</param>
    public ValueSyntax(Type type, IReadOnlyDictionary<string, object?>? extraNames = null)
    {
        _type = Nullable.GetUnderlyingType(type) ?? type;
        _element = _type.IsArray ? _type.GetElementType() : null;
        var scalar = _element ?? _type;
        if (!IsSupported(scalar)) throw new NotSupportedException($"Options of type {type.Name} have no command-line syntax.");
        var lookup = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
        var choices = new List<string>();
        if (scalar.IsEnum)
            foreach (var value in Enum.GetValues(scalar))
            {
                choices.Add(Kebab.Of(value.ToString()!));
                lookup[choices[^1]] = lookup[value.ToString()!] = value;
            }
        foreach (var (name, value) in extraNames ?? new Dictionary<string, object?>())
        {
            lookup[name] = value;
            if (value is null) choices.Add(name);
        }
        (_lookup, Choices) = (lookup, choices);
        Aliases = extraNames?.Where(n => n.Value is not null).ToDictionary(n => n.Key, n => Format(n.Value)!) ?? [];
    }

    /// <summary>The enum values to show and complete (kebab names, then any extra name meaning "no value"); empty for other types.</summary>
    public IReadOnlyList<string> Choices { get; }

    /// <summary>Extra names of enum values and the value each stands for (<c>sde</c> for <c>reflected-sde</c>).</summary>
    public IReadOnlyDictionary<string, string> Aliases { get; }

    /// <summary>What the help shows in place of the value.</summary>
    public string? HelpName => Choices.Count > 0 ? string.Join('|', Choices) : _element is not null ? "V1,V2,..." : null;

    private bool IsFlag => _type == typeof(bool);

    /// <summary>Parses the tokens given for one option; false with the offending token when one is not a value.</summary>
    public bool TryParse(IReadOnlyList<string> tokens, out object? value, out string bad)
    {
        bad = "";
        value = null;
        if (IsFlag && tokens.Count == 0) { value = true; return true; } // a bare switch means true
        if (_element is null)
            return tokens.Count == 1 ? TryParseScalar(_type, tokens[0], out value) || Fail(tokens[0], out bad) : Fail(string.Join(' ', tokens), out bad);
        var parts = tokens.SelectMany(t => t.Split(',', StringSplitOptions.TrimEntries)).ToArray();
        var list = Array.CreateInstance(_element, parts.Length);
        for (int i = 0; i < parts.Length; i++)
        {
            if (!TryParseScalar(_element, parts[i], out var item)) return Fail(parts[i], out bad);
            list.SetValue(item, i);
        }
        value = list;
        return true;
    }

    /// <summary>What a value must be, for messages: "an integer", "one of sigma2, likelihood".</summary>
    public string Expected
    {
        get
        {
            var scalar = _element ?? _type;
            string one = scalar.IsEnum ? "one of " + string.Join(", ", Choices.Concat(Aliases.Keys)) : Describe(scalar);
            return _element is null ? one : $"a comma-separated list of {Plural(scalar)}";
        }
    }

    /// <summary>A value as the command line writes it (invariant numbers, kebab-case enums, comma-joined lists); null for null.</summary>
    public static string? Format(object? value) => value switch
    {
        null => null,
        bool b => b ? "true" : "false",
        Enum e => Kebab.Of(e.ToString()),
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        Array a => string.Join(',', a.Cast<object>().Select(Format)),
        _ => value.ToString(),
    };

    /// <summary>
    /// A typed option whose values are read with this syntax; parse errors name the option as the user spelled it.
    /// Typed so that <see cref="ParseResult.GetValue{T}(Option{T})"/> reads it.
    /// </summary>
    public Option<T> CreateOption<T>(string name, string[] aliases, string description)
    {
        var option = new Option<T>(name, aliases) { Description = description, HelpName = HelpName };
        option.CustomParser = result =>
        {
            if (TryParse(result.Tokens.Select(t => t.Value).ToList(), out var value, out var bad)) return (T?)value;
            result.AddError($"Option '{Spelling(result, name)}': '{bad}' is not {Expected}.");
            return default;
        };
        if (Choices.Count > 0)
        {
            option.CompletionSources.Clear(); // the enum's own names would come twice, in another case
            option.CompletionSources.Add([.. Choices, .. Aliases.Keys]);
        }
        return option;
    }

    private static string Spelling(ArgumentResult result, string name)
        => (result.Parent as OptionResult)?.IdentifierToken?.Value ?? name;

    private bool TryParseScalar(Type type, string text, out object? value)
    {
        var invariant = CultureInfo.InvariantCulture;
        bool ok;
        (ok, value) = type switch
        {
            _ when type == typeof(string) => (true, text),
            _ when type == typeof(int) => (int.TryParse(text, NumberStyles.Integer, invariant, out int i), i),
            _ when type == typeof(ulong) => (ulong.TryParse(text, NumberStyles.Integer, invariant, out ulong u), u),
            _ when type == typeof(double) => (double.TryParse(text, NumberStyles.Float, invariant, out double d), d),
            _ when type == typeof(bool) => (bool.TryParse(text, out bool b), b),
            _ => (_lookup.TryGetValue(text, out var e), e),
        };
        return ok;
    }

    private static bool Fail(string token, out string bad)
    {
        bad = token;
        return false;
    }

    private static bool IsSupported(Type t) => t.IsEnum || t == typeof(string) || t == typeof(int) || t == typeof(ulong) || t == typeof(double) || t == typeof(bool);

    private static string Describe(Type t) => t == typeof(int) ? "an integer" : t == typeof(ulong) ? "a non-negative integer"
        : t == typeof(double) ? "a number" : t == typeof(bool) ? "true or false" : "text";

    private static string Plural(Type t) => t == typeof(double) ? "numbers" : t == typeof(string) ? "names" : "integers";
}
