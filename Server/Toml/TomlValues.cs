using System.Collections;

namespace ScriptFtp.Toml;

/// <summary>Conversion of CLR values to the TOML value model and type names for messages.</summary>
internal static class TomlValues
{
    public static object Normalize(object? value) => value switch
    {
        null => throw new ArgumentNullException(nameof(value), "TOML has no null value"),
        string or long or double or bool or DateTimeOffset or DateOnly or TimeOnly or TomlTable or TomlArray => value,
        DateTime { Kind: DateTimeKind.Unspecified } dt => dt,
        DateTime dt => new DateTimeOffset(dt),
        int i => (long)i,
        uint u => (long)u,
        short s => (long)s,
        ushort s => (long)s,
        byte b => (long)b,
        sbyte b => (long)b,
        ulong u => u <= long.MaxValue ? (long)u : throw new ArgumentException($"{u} is too large for a TOML integer"),
        float f => (double)f,
        decimal d => (double)d,
        char c => c.ToString(),
        Enum e => e.ToString(),
        TimeSpan => throw new ArgumentException("TOML has no duration type; store seconds as a number"),
        IEnumerable<KeyValuePair<string, object>> pairs => new TomlTable(pairs),
        IDictionary dictionary => new TomlTable(dictionary.Cast<DictionaryEntry>()
            .Select(e => new KeyValuePair<string, object>((string)e.Key, e.Value!))),
        IEnumerable items => new TomlArray(items.Cast<object>()),
        _ => throw new ArgumentException($"values of type {value.GetType()} cannot be stored in TOML"),
    };

    /// <summary>"an integer", "a string"...: the TOML type of a value with its article.</summary>
    public static string TypeName(object value) => value switch
    {
        string => "a string",
        long => "an integer",
        double => "a float",
        bool => "a boolean",
        DateTimeOffset => "an offset date-time",
        DateTime => "a local date-time",
        DateOnly => "a local date",
        TimeOnly => "a local time",
        TomlArray => "an array",
        TomlTable => "a table",
        _ => throw new ArgumentException($"{value.GetType()} is not a TOML value type"),
    };
}
