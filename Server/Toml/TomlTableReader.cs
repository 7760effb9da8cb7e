using System.Globalization;

namespace ScriptFtp.Toml;

/// <summary>
/// Reads a configuration table key by key with defaults, reporting wrong types and out-of-range values as
/// <see cref="TomlException"/>s positioned at the key, and (through <see cref="RejectUnknown"/>) keys nobody read.
/// </summary>
public sealed class TomlTableReader
{
    private readonly TomlTable _table;
    private readonly string _source;
    private readonly string? _path;
    // Every key asked for, present or not: absent ones are the best "did you mean" candidates.
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);
    private readonly List<string> _knownInOrder = [];

    /// <summary>Creates a reader over <paramref name="table"/>.</summary>
    /// <param name="table">The table to read.</param>
    /// <param name="sourceName">The file name used in error messages.</param>
    /// <param name="tablePath">
    /// The table's path as written in a header, e.g. <c>server</c> or <c>users.alice</c>; <c>null</c> for the top level.
    /// </param>
    public TomlTableReader(TomlTable table, string sourceName, string? tablePath = null)
    {
        _table = table;
        _source = sourceName;
        _path = tablePath;
    }

    /// <summary>The table being read.</summary>
    public TomlTable Raw => _table;

    /// <summary>Reads a string, or returns <paramref name="default"/> when the key is absent.</summary>
    public string String(string key, string @default) => OptionalString(key) ?? @default;

    /// <summary>Reads a string, or returns <c>null</c> when the key is absent.</summary>
    public string? OptionalString(string key) => Get(key) switch
    {
        null => null,
        string s => s,
        var other => throw WrongType(key, "a string", other),
    };

    /// <summary>Reads an integer within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public long Integer(string key, long @default, long min = long.MinValue, long max = long.MaxValue)
    {
        switch (Get(key))
        {
            case null:
                return @default;
            case long value:
                if (value < min || value > max) throw ValueError(key, $"key {Describe(key)} must be {RangeText(min, max)}, not {value}");
                return value;
            case var other:
                throw WrongType(key, "an integer", other);
        }
    }

    /// <summary>
    /// Reads an integer that must fit in an <see cref="int"/> and lie within [<paramref name="min"/>, <paramref name="max"/>].
    /// </summary>
    public int Int32(string key, int @default, int min = int.MinValue, int max = int.MaxValue) =>
        (int)Integer(key, @default, min, max);

    /// <summary>Reads a boolean.</summary>
    public bool Boolean(string key, bool @default) => Get(key) switch
    {
        null => @default,
        bool b => b,
        var other => throw WrongType(key, "a boolean (true or false)", other),
    };

    /// <summary>Reads a float; an integer is accepted too.</summary>
    public double Float(string key, double @default) => Get(key) switch
    {
        null => @default,
        double d => d,
        long l => l,
        var other => throw WrongType(key, "a number", other),
    };

    /// <summary>Reads a duration written as a non-negative integer or float number of seconds.</summary>
    public TimeSpan Seconds(string key, TimeSpan @default)
    {
        double seconds;
        switch (Get(key))
        {
            case null:
                return @default;
            case long l:
                seconds = l;
                break;
            case double d:
                seconds = d;
                break;
            case var other:
                throw WrongType(key, "a number of seconds", other);
        }
        if (double.IsNaN(seconds) || seconds < 0 || seconds > TimeSpan.MaxValue.TotalSeconds)
        {
            var text = seconds.ToString(CultureInfo.InvariantCulture);
            throw ValueError(key, $"key {Describe(key)} must be a number of seconds from 0 up, not {text}");
        }
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Reads an enum value written as a case-insensitive string naming a member.</summary>
    public T Enum<T>(string key, T @default) where T : struct, Enum
    {
        switch (Get(key))
        {
            case null:
                return @default;
            case string s:
                foreach (var name in System.Enum.GetNames<T>())
                {
                    if (string.Equals(name, s, StringComparison.OrdinalIgnoreCase))
                        return System.Enum.Parse<T>(name);
                }
                var allowed = string.Join(", ", System.Enum.GetNames<T>().Select(n => $"\"{n.ToLowerInvariant()}\""));
                throw ValueError(key, $"key {Describe(key)} must be one of {allowed}, not \"{s}\"");
            case var other:
                throw WrongType(key, "a string", other);
        }
    }

    /// <summary>Reads an array whose elements are all strings.</summary>
    public IReadOnlyList<string> StringArray(string key, IReadOnlyList<string> @default)
    {
        switch (Get(key))
        {
            case null:
                return @default;
            case TomlArray array:
                var result = new string[array.Count];
                for (var i = 0; i < array.Count; i++)
                {
                    result[i] = array[i] as string ?? throw new TomlException(_source, Known(array.PositionOf(i), key),
                        $"key {Describe(key)} must be an array of strings, but item {i + 1} is {TomlValues.TypeName(array[i])}");
                }
                return result;
            case var other:
                throw WrongType(key, "an array of strings", other);
        }
    }

    /// <summary>A reader for the sub-table at <paramref name="key"/>, or <c>null</c> when the key is absent.</summary>
    public TomlTableReader? Table(string key) => RawTable(key) is { } table ? new TomlTableReader(table, _source, SubPath(key)) : null;

    /// <summary>
    /// The sub-table at <paramref name="key"/> without validation (e.g. a plugin's own section), or <c>null</c> when absent.
    /// </summary>
    public TomlTable? RawTable(string key) => Get(key) switch
    {
        null => null,
        TomlTable t => t,
        var other => throw WrongType(key, "a table", other),
    };

    /// <summary>A reader for every sub-table (e.g. one per user), in file order; marks them as read.</summary>
    public IEnumerable<(string Key, TomlTableReader Reader)> Tables()
    {
        var result = new List<(string, TomlTableReader)>();
        foreach (var (key, value) in _table)
        {
            if (value is not TomlTable table) continue;
            MarkKnown(key);
            result.Add((key, new TomlTableReader(table, _source, SubPath(key))));
        }
        return result;
    }

    /// <summary>Marks a key as known without reading it.</summary>
    public void Ignore(string key) => MarkKnown(key);

    /// <summary>Builds an exception positioned at <paramref name="key"/> (or at the table when the key is absent).</summary>
    public TomlException Error(string key, string reason) =>
        new(_source, Known(_table.PositionOf(key), key), reason);

    /// <summary>Throws a <see cref="TomlException"/> for the first key that was never read, with a spelling hint when one fits.</summary>
    public void RejectUnknown()
    {
        foreach (var key in _table.Keys)
        {
            if (_known.Contains(key)) continue;
            var reason = $"unknown key \"{key}\"{InTable}";
            var hint = _knownInOrder
                .Where(k => k != key)
                .Select(k => (Key: k, Distance: EditDistance(key, k)))
                .Where(c => c.Distance <= 2)
                .OrderBy(c => c.Distance)
                .Select(c => c.Key)
                .FirstOrDefault();
            if (hint is not null) reason += $"; did you mean \"{hint}\"?";
            throw Error(key, reason);
        }
    }

    private string InTable => _path is null ? "" : $" in [{_path}]";

    private string Describe(string key) => $"\"{key}\"{InTable}";

    private string SubPath(string key) =>
        _path is null ? TomlSyntax.FormatKey(key) : _path + "." + TomlSyntax.FormatKey(key);

    private TomlPosition Known(TomlPosition position, string key) =>
        position != default ? position : _table.PositionOf(key) != default ? _table.PositionOf(key) : _table.Position;

    private void MarkKnown(string key)
    {
        if (_known.Add(key)) _knownInOrder.Add(key);
    }

    private object? Get(string key)
    {
        MarkKnown(key);
        return _table.TryGetValue(key, out var value) ? value : null;
    }

    // Type and range problems are in the value, so the position points at the value rather than the key.
    private TomlException ValueError(string key, string reason) =>
        new(_source, Known(_table.ValuePositionOf(key), key), reason);

    private TomlException WrongType(string key, string expected, object actual) =>
        ValueError(key, $"key {Describe(key)} must be {expected}, not {TomlValues.TypeName(actual)}");

    private static string RangeText(long min, long max) => (min, max) switch
    {
        (long.MinValue or int.MinValue, long.MaxValue or int.MaxValue) => $"between {min} and {max}",
        (long.MinValue or int.MinValue, _) => $"at most {max}",
        (_, long.MaxValue or int.MaxValue) => $"at least {min}",
        _ => $"between {min} and {max}",
    };

    // Optimal string alignment distance: like Levenshtein, but a swap of neighbours ("prot"/"port") costs 1.
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
