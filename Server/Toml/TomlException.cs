namespace ScriptFtp.Toml;

/// <summary>
/// A TOML syntax or configuration error. The message has the form
/// <c>NAME(line,col): what is wrong</c>.
/// </summary>
public sealed class TomlException : Exception
{
    /// <summary>Creates an error positioned in a named source.</summary>
    /// <param name="sourceName">The file name (or other label) of the TOML source.</param>
    /// <param name="position">Where the problem was found.</param>
    /// <param name="reason">What is wrong, in plain words.</param>
    public TomlException(string sourceName, TomlPosition position, string reason)
        : base($"{sourceName}({position.Line},{position.Column}): {reason}")
    {
        SourceName = sourceName;
        Position = position;
        Reason = reason;
    }

    /// <summary>The file name (or other label) of the TOML source.</summary>
    public string SourceName { get; }

    /// <summary>Where the problem was found.</summary>
    public TomlPosition Position { get; }

    /// <summary>What is wrong: the message without the <c>NAME(line,col): </c> prefix.</summary>
    public string Reason { get; }
}
