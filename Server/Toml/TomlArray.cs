using System.Collections;

namespace ScriptFtp.Toml;

/// <summary>An immutable TOML array. Elements may have different types.</summary>
public sealed class TomlArray : IReadOnlyList<object>
{
    private readonly object[] _items;
    private readonly TomlPosition[] _positions;

    /// <summary>Builds an array; CLR values are converted to their TOML form as for <see cref="TomlTable"/>.</summary>
    /// <param name="items">The elements.</param>
    /// <exception cref="ArgumentException">A value has no TOML form.</exception>
    public TomlArray(IEnumerable<object> items)
    {
        _items = [.. items.Select(TomlValues.Normalize)];
        _positions = new TomlPosition[_items.Length];
    }

    internal TomlArray(object[] items, TomlPosition[] positions, TomlPosition position)
    {
        _items = items;
        _positions = positions;
        Position = position;
    }

    /// <summary>Where the array (or the first <c>[[header]]</c> of an array of tables) started.</summary>
    public TomlPosition Position { get; }

    /// <summary>The number of elements.</summary>
    public int Count => _items.Length;

    /// <summary>The element at <paramref name="index"/>.</summary>
    public object this[int index] => _items[index];

    /// <summary>Where the element at <paramref name="index"/> was written; <c>default</c> if unknown.</summary>
    public TomlPosition PositionOf(int index) => _positions[index];

    /// <summary>Enumerates the elements.</summary>
    public IEnumerator<object> GetEnumerator() => ((IEnumerable<object>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();
}
