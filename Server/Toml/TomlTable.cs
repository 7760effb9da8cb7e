using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace ScriptFtp.Toml;

/// <summary>
/// An immutable TOML table whose keys keep the order in which they were written.
/// Values are <see cref="string"/>, <see cref="long"/>, <see cref="double"/>, <see cref="bool"/>,
/// <see cref="DateTimeOffset"/> (offset date-time), <see cref="DateTime"/> (local date-time, kind Unspecified),
/// <see cref="DateOnly"/>, <see cref="TimeOnly"/>, <see cref="TomlArray"/> and <see cref="TomlTable"/>.
/// </summary>
public sealed class TomlTable : IReadOnlyDictionary<string, object>
{
    private readonly string[] _keys;
    private readonly object[] _values;
    private readonly TomlPosition[] _positions;
    private readonly TomlPosition[]? _valuePositions;
    private readonly Dictionary<string, int> _index;

    /// <summary>A table without keys.</summary>
    public static TomlTable Empty { get; } = new([], [], [], default);

    /// <summary>
    /// Builds a table from key/value pairs. CLR values are converted to their TOML form
    /// (<c>int</c> to <see cref="long"/>, dictionaries to tables, sequences to arrays).
    /// </summary>
    /// <param name="entries">The entries, in the order they should be written.</param>
    /// <exception cref="ArgumentException">A key repeats or a value has no TOML form.</exception>
    public TomlTable(IEnumerable<KeyValuePair<string, object>> entries)
    {
        var keys = new List<string>();
        var values = new List<object>();
        foreach (var (key, value) in entries)
        {
            ArgumentNullException.ThrowIfNull(key);
            keys.Add(key);
            values.Add(TomlValues.Normalize(value));
        }
        _keys = [.. keys];
        _values = [.. values];
        _positions = new TomlPosition[_keys.Length];
        _index = BuildIndex(_keys);
    }

    internal TomlTable(string[] keys, object[] values, TomlPosition[] positions, TomlPosition position,
        TomlPosition[]? valuePositions = null, Dictionary<string, int>? index = null)
    {
        _keys = keys;
        _values = values;
        _positions = positions;
        _valuePositions = valuePositions;
        _index = index ?? BuildIndex(keys);
        Position = position;
    }

    private static Dictionary<string, int> BuildIndex(string[] keys)
    {
        var index = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
        for (var i = 0; i < keys.Length; i++)
        {
            if (!index.TryAdd(keys[i], i))
                throw new ArgumentException($"duplicate key \"{keys[i]}\"");
        }
        return index;
    }

    /// <summary>Where the table header or inline table started; <c>default</c> if unknown.</summary>
    public TomlPosition Position { get; }

    /// <summary>The keys, in insertion order.</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>The values, in the same order as <see cref="Keys"/>.</summary>
    public IEnumerable<object> Values => _values;

    IEnumerable<string> IReadOnlyDictionary<string, object>.Keys => _keys;

    /// <summary>The number of keys.</summary>
    public int Count => _keys.Length;

    /// <summary>The value of a key.</summary>
    /// <exception cref="KeyNotFoundException">The key is absent.</exception>
    public object this[string key] =>
        _index.TryGetValue(key, out var i) ? _values[i] : throw new KeyNotFoundException($"key \"{key}\" is not in the table");

    /// <summary>Whether the key is present.</summary>
    public bool ContainsKey(string key) => _index.ContainsKey(key);

    /// <summary>Gets the value of a key if present.</summary>
    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object value)
    {
        if (_index.TryGetValue(key, out var i))
        {
            value = _values[i];
            return true;
        }
        value = null;
        return false;
    }

    /// <summary>Where the key was written, for error messages; <c>default</c> if unknown.</summary>
    public TomlPosition PositionOf(string key) => _index.TryGetValue(key, out var i) ? _positions[i] : default;

    /// <summary>Where the key's value starts (wrong-type errors point there); falls back to the key's position.</summary>
    internal TomlPosition ValuePositionOf(string key) =>
        _index.TryGetValue(key, out var i) && _valuePositions is not null ? _valuePositions[i] : PositionOf(key);

    /// <summary>Enumerates the entries in insertion order.</summary>
    public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
    {
        for (var i = 0; i < _keys.Length; i++)
            yield return new KeyValuePair<string, object>(_keys[i], _values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
