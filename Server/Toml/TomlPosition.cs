namespace ScriptFtp.Toml;

/// <summary>A position in TOML source text, 1-based. <c>default</c> means "unknown".</summary>
/// <param name="Line">The 1-based line number.</param>
/// <param name="Column">The 1-based column, counted in UTF-16 code units.</param>
public readonly record struct TomlPosition(int Line, int Column)
{
    /// <summary>Formats the position as <c>line,col</c>.</summary>
    public override string ToString() => $"{Line},{Column}";
}
