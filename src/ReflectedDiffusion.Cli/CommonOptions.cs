using System.CommandLine;
using System.CommandLine.Parsing;

namespace ReflectedDiffusion.Cli;

/// <summary>Options several commands take, spelled and described alike.</summary>
internal static class CommonOptions
{
    /// <summary>A required text option (a path, usually).</summary>
    public static Option<string> Required(string name, string description) => new(name) { Description = description, Required = true };

    /// <summary>The model file written by 'rdiff train'.</summary>
    public static Option<string> Model() => Required("--model", "A model file written by 'rdiff train'.");

    /// <summary>
    /// A typed option of the tool's own (not an options field), read with the same syntax and messages as the
    /// generated ones.
    /// </summary>
    public static Option<T> Tool<T>(string name, string description, bool required = false)
    {
        var option = new ValueSyntax(typeof(T)).CreateOption<T>(name, [], description);
        option.Required = required;
        return option;
    }

    /// <summary>A typed option of the tool's own with a default, which the help shows.</summary>
    public static Option<T> Tool<T>(string name, string description, T defaultValue) where T : notnull
    {
        var option = Tool<T>(name, description);
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>Adds an error to a parse result and returns no value (for custom parsers).</summary>
    public static T? Error<T>(ArgumentResult result, string message)
    {
        result.AddError(message);
        return default;
    }
}
