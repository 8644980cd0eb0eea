namespace ReflectedDiffusion.Tables;

/// <summary>
/// Bad table input: a malformed CSV file, a column that cannot take the type asked for, an unknown column or
/// category. The message says what and where (file, line, column), so a tool can print it as it is.
/// </summary>
public sealed class TableInputException : Exception
{
    /// <summary>Creates the exception with a message that says what is wrong and where.</summary>
    public TableInputException(string message) : base(message) { }
}
