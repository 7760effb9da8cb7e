namespace ScriptFtp.Toml;

/// <summary>Reads TOML 1.1 (through Tomlyn) into the value model, with positions for error messages.</summary>
public static class Toml
{
    /// <summary>Parses a TOML document.</summary>
    /// <param name="text">The document text.</param>
    /// <param name="sourceName">The name used in error messages, usually the file name.</param>
    /// <returns>The root table.</returns>
    /// <exception cref="TomlException">The text is not valid TOML 1.1 (a key or table defined twice included).</exception>
    public static TomlTable Parse(string text, string sourceName) => TomlSyntax.Read(text, sourceName).Model;

    /// <summary>Reads and parses a UTF-8 TOML file; error messages name the file by <see cref="Path.GetFileName(string)"/>.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The root table.</returns>
    /// <exception cref="TomlException">The file is not valid UTF-8 or not valid TOML 1.1.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static TomlTable ParseFile(string path) => ParseUtf8(File.ReadAllBytes(path), Path.GetFileName(path));

    /// <summary>Parses UTF-8 bytes, rejecting invalid UTF-8 with a <see cref="TomlException"/>.</summary>
    /// <param name="utf8">The document bytes.</param>
    /// <param name="sourceName">The name used in error messages.</param>
    /// <returns>The root table.</returns>
    /// <exception cref="TomlException">The bytes are not valid UTF-8 or not valid TOML 1.1.</exception>
    public static TomlTable ParseUtf8(byte[] utf8, string sourceName) =>
        Parse(TomlSyntax.DecodeUtf8(utf8, sourceName), sourceName);
}
