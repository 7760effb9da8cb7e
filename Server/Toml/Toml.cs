namespace ScriptFtp.Toml;

/// <summary>Reads and writes TOML 1.0.</summary>
public static class Toml
{
    /// <summary>Parses a TOML document.</summary>
    /// <param name="text">The document text.</param>
    /// <param name="sourceName">The name used in error messages, usually the file name.</param>
    /// <returns>The root table.</returns>
    /// <exception cref="TomlException">The text is not valid TOML 1.0.</exception>
    public static TomlTable Parse(string text, string sourceName) => TomlParser.Parse(text, sourceName);

    /// <summary>Reads and parses a UTF-8 TOML file; error messages name the file by <see cref="Path.GetFileName(string)"/>.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The root table.</returns>
    /// <exception cref="TomlException">The file is not valid UTF-8 or not valid TOML 1.0.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static TomlTable ParseFile(string path) => ParseUtf8(File.ReadAllBytes(path), Path.GetFileName(path));

    /// <summary>Parses UTF-8 bytes, rejecting invalid UTF-8 with a <see cref="TomlException"/>.</summary>
    /// <param name="utf8">The document bytes.</param>
    /// <param name="sourceName">The name used in error messages.</param>
    /// <returns>The root table.</returns>
    /// <exception cref="TomlException">The bytes are not valid UTF-8 or not valid TOML 1.0.</exception>
    public static TomlTable ParseUtf8(byte[] utf8, string sourceName) =>
        Parse(TomlParser.DecodeUtf8(utf8, sourceName), sourceName);

    /// <summary>Writes a table as TOML that parses back to an equal tree.</summary>
    /// <param name="table">The root table.</param>
    /// <returns>The TOML text, with LF line endings.</returns>
    public static string Write(TomlTable table) => TomlWriter.Write(table);
}
