using System.CommandLine;
using System.Reflection;

namespace ReflectedDiffusion.Cli;

/// <summary>
/// Command-line options generated from the public fields of an ML.NET-style options class: one flag per field,
/// <c>--</c> and the field's name in kebab case, described by the field's XML doc summary and showing the default of a
/// fresh instance. The options class stays the one place where settings and their defaults live; a field added there
/// becomes a flag here without an edit (a field of a type with no command-line syntax fails loudly, in every test).
/// </summary>
internal sealed class FieldOptions<TOptions> where TOptions : class, new()
{
    private readonly List<Entry> _entries = [];

    private sealed record Entry(FieldInfo Field, Option Option, Func<ParseResult, object?> Read);

    /// <param name="excluded">Fields that are not command-line settings (callbacks, tokens, contexts, the tool's own columns).</param>
    /// <param name="aliases">Further spellings of some fields' flags (<c>--steps</c> for <c>NumberOfSteps</c>).</param>
    /// <param name="extraValues">Further names of some enum fields' values (<c>auto</c> for a null <c>Network</c>).</param>
    public FieldOptions(IReadOnlyCollection<string> excluded, IReadOnlyDictionary<string, string[]>? aliases = null,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>>? extraValues = null)
    {
        var fields = typeof(TOptions).GetFields(BindingFlags.Public | BindingFlags.Instance);
        var unknown = excluded.Concat(aliases?.Keys ?? []).Concat(extraValues?.Keys ?? []).Where(n => fields.All(f => f.Name != n)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"{typeof(TOptions).Name} has no field {string.Join(", ", unknown)}.");
        var defaults = new TOptions();
        foreach (var field in fields.Where(f => !excluded.Contains(f.Name)))
        {
            var syntax = new ValueSyntax(field.FieldType, extraValues?.GetValueOrDefault(field.Name));
            var create = typeof(FieldOptions<TOptions>).GetMethod(nameof(CreateEntry), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(field.FieldType);
            var description = Describe(field, syntax, field.GetValue(defaults), extraValues?.GetValueOrDefault(field.Name), excluded);
            _entries.Add((Entry)create.Invoke(null, [field, syntax, aliases?.GetValueOrDefault(field.Name) ?? [], description])!);
        }
    }

    /// <summary>The generated options, in the fields' order.</summary>
    public IEnumerable<Option> Options => _entries.Select(e => e.Option);

    /// <summary>The flag of <paramref name="fieldName"/>, or null when the field has none (excluded or not a field).</summary>
    public string? FlagOf(string fieldName) => _entries.Any(e => e.Field.Name == fieldName) ? Kebab.Flag(fieldName) : null;

    /// <summary>
    /// A fresh <typeparamref name="TOptions"/> with the fields the user gave set from the command line; every other
    /// field keeps the class's own default.
    /// </summary>
    public TOptions Bind(ParseResult result)
    {
        var options = new TOptions();
        foreach (var entry in _entries.Where(e => IsGiven(result, e)))
            entry.Field.SetValue(options, entry.Read(result));
        return options;
    }

    /// <summary>Whether the user gave the flag of <paramref name="fieldName"/>.</summary>
    public bool WasGiven(ParseResult result, string fieldName) => _entries.Any(e => e.Field.Name == fieldName && IsGiven(result, e));

    private static bool IsGiven(ParseResult result, Entry entry) => result.GetResult(entry.Option) is { Implicit: false };

    private static Entry CreateEntry<T>(FieldInfo field, ValueSyntax syntax, string[] aliases, string description)
    {
        var option = syntax.CreateOption<T>(Kebab.Flag(field.Name), aliases, description);
        // Read the given tokens with the same syntax: System.CommandLine takes the custom parser's null (a nullable
        // field's "auto") as no result and converts the token itself, which throws InvalidCastException.
        return new Entry(field, option, r => r.GetResult(option) is { } given && syntax.TryParse(given.Tokens.Select(t => t.Value).ToList(), out var value, out _)
            ? value : r.GetValue(option));
    }

    // The field's doc summary, the extra value names, and the class default.
    private static string Describe(FieldInfo field, ValueSyntax syntax, object? defaultValue, IReadOnlyDictionary<string, object?>? extraValues,
        IReadOnlyCollection<string> excluded)
    {
        // Other fields named in the summary read as their flags; enum values (other types' fields) as the command line writes them.
        string prefix = $"F:{typeof(TOptions).FullName}.";
        string? Reference(string cref)
        {
            string name = XmlDocs.MemberName(cref);
            if (cref.StartsWith(prefix, StringComparison.Ordinal)) return excluded.Contains(name) ? name : Kebab.Flag(name);
            return cref.StartsWith("F:", StringComparison.Ordinal) ? Kebab.Of(name) : null;
        }
        string text = XmlDocs.Summary(field, Reference) ?? field.Name + ".";
        if (syntax.Aliases.Count > 0) text += " Also: " + string.Join(", ", syntax.Aliases.Select(a => $"{a.Key} ({a.Value})")) + ".";
        string? nullName = extraValues?.FirstOrDefault(v => v.Value is null).Key;
        if (nullName is not null) text += $" {nullName} is null.";
        string? shown = ValueSyntax.Format(defaultValue) ?? nullName;
        return shown is null or "" ? text : $"{text} [default: {shown}]";
    }
}
