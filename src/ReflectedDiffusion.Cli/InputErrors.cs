using System.Text.RegularExpressions;

namespace ReflectedDiffusion.Cli;

/// <summary>Bad usage or bad input: the tool exits with code 2 and prints the message, which says what and where.</summary>
internal sealed class InputException(string message) : Exception(message);

/// <summary>
/// Turns the ML layer's complaints about the options and the data into <see cref="InputException"/>s in the
/// command line's words. The ML layer checks ranges, finiteness and bounds once (the options' <c>Validate</c>, the
/// estimator's data checks) and throws <see cref="ArgumentException"/> or <see cref="InvalidOperationException"/>
/// naming the field, row and feature; the tool adds the flag, the CSV line and the column name.
/// </summary>
internal static partial class InputErrors
{
    /// <summary>
    /// Runs <paramref name="work"/>; an <see cref="ArgumentException"/> or <see cref="InvalidOperationException"/> it
    /// throws becomes an <see cref="InputException"/>. <paramref name="flagOf"/> maps a parameter name (an options
    /// field) to its flag; <paramref name="data"/>, when given, names the rows and features of the messages.
    /// </summary>
    public static T Translate<T>(Func<T> work, Func<string, string?> flagOf, ITrainingRows? data = null)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException and not ObjectDisposedException)
        {
            throw new InputException(Describe(e, flagOf, data));
        }
    }

    /// <summary>The message of <paramref name="e"/>, with the option's flag in front and rows and features located in the data.</summary>
    public static string Describe(Exception e, Func<string, string?> flagOf, ITrainingRows? data)
    {
        string message = e is ArgumentException a ? Bare(a) : e.Message;
        if (data is not null)
        {
            message = RowIndex().Replace(message, m => data.DescribeRow(long.Parse(m.Groups[2].Value)) is { } where ? $"{m.Value} ({where})" : m.Value);
            message = FeatureIndex().Replace(message, m => int.TryParse(m.Groups[1].Value, out int j) && j < data.FeatureNames.Length ? $"{m.Value} (column '{data.FeatureNames[j]}')" : m.Value);
        }
        if (e is not ArgumentException { ParamName: { } name } || flagOf(name) is not { } flag) return message;
        string got = e is ArgumentOutOfRangeException { ActualValue: { } value } && !message.Contains("(got ", StringComparison.Ordinal)
            ? $" (got {ValueSyntax.Format(value)})" : "";
        return $"Option '{flag}': {message.TrimEnd('.')}{got}.";
    }

    // The message without the " (Parameter 'name')" and "Actual value was ..." that ArgumentException appends.
    private static string Bare(ArgumentException e)
    {
        string first = e.Message.Split('\n')[0].TrimEnd('\r');
        return e.ParamName is null ? first : first.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\b(Row|row) (\d+)\b")]
    private static partial Regex RowIndex();

    [GeneratedRegex(@"\b[Ff]eature (\d+)\b")]
    private static partial Regex FeatureIndex();
}
