using System.Diagnostics.CodeAnalysis;
using Tomlyn;
using Tomlyn.Syntax;

namespace ScriptFtp.Toml;

/// <summary>
/// Builds the value model (<see cref="TomlTable"/>) from a syntax tree, with the positions of keys and values, and
/// enforces TOML's rules on defining tables: a key or table defined twice, an inline table extended, a table opened
/// both by dotted keys and by a header. Tomlyn validates a parsed tree too; this check also covers trees changed by
/// <see cref="TomlDocument"/> edits, which no parser has seen.
/// </summary>
internal sealed class TomlBinder
{
    // How a table came to exist decides what may later add to it.
    private enum TableKind { Root, Implicit, Header, Dotted, Inline, ArrayElement }

    private sealed class TableBuilder(TableKind kind, TomlPosition position)
    {
        public TableKind Kind { get; set; } = kind;
        public TomlPosition Position { get; set; } = position;
        public List<string> Keys { get; } = [];
        public List<object> Values { get; } = [];
        public List<TomlPosition> Positions { get; } = [];
        public List<TomlPosition> ValuePositions { get; } = [];
        // Handed to the frozen table as its index: ten thousand users are ten thousand tables.
        public Dictionary<string, int> Index { get; } = new(StringComparer.Ordinal);

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out object value)
        {
            var found = Index.TryGetValue(key, out var i);
            value = found ? Values[i] : null;
            return found;
        }

        public void Add(string key, object value, TomlPosition position, TomlPosition valuePosition)
        {
            Index.Add(key, Keys.Count);
            Keys.Add(key);
            Values.Add(value);
            Positions.Add(position);
            ValuePositions.Add(valuePosition);
        }
    }

    private sealed class ArrayBuilder(bool isTableArray, TomlPosition position)
    {
        public bool IsTableArray { get; } = isTableArray;
        public TomlPosition Position { get; } = position;
        public List<object> Items { get; } = [];
        public List<TomlPosition> Positions { get; } = [];
    }

    private readonly string _source;

    private TomlBinder(string source) => _source = source;

    /// <summary>The model of a tree; throws <see cref="TomlException"/> where a rule on tables is broken.</summary>
    public static TomlTable Bind(DocumentSyntax tree, string sourceName)
    {
        var binder = new TomlBinder(sourceName);
        var root = new TableBuilder(TableKind.Root, new TomlPosition(1, 1));
        foreach (var keyValue in tree.KeyValues)
            binder.AddKeyValue(root, keyValue);
        foreach (var table in tree.Tables)
        {
            var parts = TomlSyntax.Parts(table.Name ?? throw new InvalidOperationException("a table header without a name"));
            var position = TomlSyntax.PositionOf(table);
            var current = table is TableArraySyntax
                ? binder.OpenTableArray(root, parts, position)
                : binder.OpenTable(root, parts, position);
            foreach (var keyValue in table.Items)
                binder.AddKeyValue(current, keyValue);
        }
        return Freeze(root);
    }

    private TomlException Error(SyntaxNode node, string reason) => new(_source, TomlSyntax.PositionOf(node), reason);

    private static string PathText(List<(string Name, SyntaxNode Node)> path, int count = int.MaxValue) =>
        TomlSyntax.FormatPath(path.Take(count).Select(p => p.Name));

    private TableBuilder OpenTable(TableBuilder root, List<(string Name, SyntaxNode Node)> path, TomlPosition position)
    {
        var parent = WalkHeaderPath(root, path);
        var (name, node) = path[^1];
        if (!parent.TryGetValue(name, out var existing))
        {
            var table = new TableBuilder(TableKind.Header, position);
            parent.Add(name, table, TomlSyntax.PositionOf(node), position);
            return table;
        }
        if (existing is TableBuilder { Kind: TableKind.Implicit } implicitTable)
        {
            implicitTable.Kind = TableKind.Header;
            implicitTable.Position = position;
            return implicitTable;
        }
        var header = PathText(path);
        throw Error(node, existing switch
        {
            TableBuilder { Kind: TableKind.Dotted } =>
                $"table [{header}] was already defined with dotted keys and cannot be opened again with a header",
            TableBuilder { Kind: TableKind.Inline } => $"table [{header}] was already defined as an inline table, which cannot be extended",
            TableBuilder => $"table [{header}] is defined twice",
            ArrayBuilder { IsTableArray: true } => $"[{header}] is already an array of tables; use [[{header}]] to add an element",
            _ => $"key \"{header}\" is already defined as {Describe(existing)}, not a table",
        });
    }

    private TableBuilder OpenTableArray(TableBuilder root, List<(string Name, SyntaxNode Node)> path, TomlPosition position)
    {
        var parent = WalkHeaderPath(root, path);
        var (name, node) = path[^1];
        var element = new TableBuilder(TableKind.ArrayElement, position);
        if (!parent.TryGetValue(name, out var existing))
        {
            var array = new ArrayBuilder(true, position);
            array.Items.Add(element);
            array.Positions.Add(position);
            parent.Add(name, array, TomlSyntax.PositionOf(node), position);
            return element;
        }
        if (existing is not ArrayBuilder { IsTableArray: true } tables)
        {
            var header = PathText(path);
            throw Error(node, existing is ArrayBuilder
                ? $"cannot append to \"{header}\" with [[{header}]]: it is a static array"
                : $"cannot define [[{header}]]: \"{header}\" is already defined as {Describe(existing)}");
        }
        tables.Items.Add(element);
        tables.Positions.Add(position);
        return element;
    }

    private TableBuilder WalkHeaderPath(TableBuilder root, List<(string Name, SyntaxNode Node)> path)
    {
        var table = root;
        for (var i = 0; i < path.Count - 1; i++)
        {
            var (name, node) = path[i];
            if (!table.TryGetValue(name, out var existing))
            {
                var created = new TableBuilder(TableKind.Implicit, TomlSyntax.PositionOf(node));
                table.Add(name, created, created.Position, created.Position);
                table = created;
                continue;
            }
            table = existing switch
            {
                TableBuilder { Kind: TableKind.Inline } =>
                    throw Error(node, $"\"{PathText(path, i + 1)}\" is an inline table, which cannot be extended"),
                TableBuilder t => t,
                ArrayBuilder { IsTableArray: true } a => (TableBuilder)a.Items[^1],
                _ => throw Error(node, $"\"{PathText(path, i + 1)}\" is already defined as {Describe(existing)}, not a table"),
            };
        }
        return table;
    }

    private void AddKeyValue(TableBuilder table, KeyValueSyntax keyValue)
    {
        var path = TomlSyntax.Parts(keyValue.Key ?? throw new InvalidOperationException("a key/value without a key"));
        var valueSyntax = keyValue.Value ?? throw new InvalidOperationException("a key/value without a value");
        var value = Value(valueSyntax);
        for (var i = 0; i < path.Count - 1; i++)
            table = DottedStep(table, path, i);
        var (last, node) = path[^1];
        if (table.Index.ContainsKey(last))
            throw Error(node, $"key \"{PathText(path)}\" is defined twice");
        table.Add(last, value, TomlSyntax.PositionOf(node), TomlSyntax.PositionOf(valueSyntax));
    }

    private TableBuilder DottedStep(TableBuilder table, List<(string Name, SyntaxNode Node)> path, int i)
    {
        var (name, node) = path[i];
        if (!table.TryGetValue(name, out var existing))
        {
            var created = new TableBuilder(TableKind.Dotted, TomlSyntax.PositionOf(node));
            table.Add(name, created, created.Position, created.Position);
            return created;
        }
        var prefix = PathText(path, i + 1);
        return existing switch
        {
            TableBuilder { Kind: TableKind.Dotted } t => t,
            TableBuilder { Kind: TableKind.Inline } =>
                throw Error(node, $"cannot add to \"{prefix}\": it is an inline table, which cannot be extended"),
            TableBuilder => throw Error(node, $"cannot add to table \"{prefix}\" with dotted keys: it is defined by a [header]"),
            _ => throw Error(node, $"cannot use \"{prefix}\" as a table: it is already defined as {Describe(existing)}"),
        };
    }

    private object Value(ValueSyntax value) => value switch
    {
        StringValueSyntax s => s.Value ?? throw new InvalidOperationException("a string without value"),
        IntegerValueSyntax i => i.Value,
        FloatValueSyntax f => f.Value,
        BooleanValueSyntax b => b.Value,
        DateTimeValueSyntax d => DateValue(d.Value),
        ArraySyntax a => Array(a),
        InlineTableSyntax t => InlineTable(t),
        _ => throw new InvalidOperationException($"unsupported value {value.Kind}"),
    };

    private static object DateValue(TomlDateTime value) => value.Kind switch
    {
        TomlDateTimeKind.OffsetDateTimeByZ or TomlDateTimeKind.OffsetDateTimeByNumber => value.DateTime,
        TomlDateTimeKind.LocalDateTime => DateTime.SpecifyKind(value.DateTime.DateTime, DateTimeKind.Unspecified),
        TomlDateTimeKind.LocalDate => DateOnly.FromDateTime(value.DateTime.DateTime),
        TomlDateTimeKind.LocalTime => TimeOnly.FromDateTime(value.DateTime.DateTime),
        _ => throw new ArgumentOutOfRangeException(nameof(value), value.Kind, "unknown kind of date-time"),
    };

    private ArrayBuilder Array(ArraySyntax array)
    {
        var builder = new ArrayBuilder(false, TomlSyntax.PositionOf(array));
        foreach (var item in array.Items)
        {
            var value = item.Value ?? throw new InvalidOperationException("an array item without value");
            builder.Positions.Add(TomlSyntax.PositionOf(value));
            builder.Items.Add(Value(value));
        }
        return builder;
    }

    private TableBuilder InlineTable(InlineTableSyntax inline)
    {
        var table = new TableBuilder(TableKind.Inline, TomlSyntax.PositionOf(inline));
        foreach (var item in inline.Items)
            AddKeyValue(table, item.KeyValue ?? throw new InvalidOperationException("an inline table item without key/value"));
        Seal(table);
        return table;
    }

    // Sub-tables made by dotted keys inside an inline table are closed along with it.
    private static void Seal(TableBuilder table)
    {
        table.Kind = TableKind.Inline;
        foreach (var value in table.Values)
        {
            if (value is TableBuilder { Kind: TableKind.Dotted } child)
                Seal(child);
        }
    }

    private static string Describe(object value) => value switch
    {
        TableBuilder => "a table",
        ArrayBuilder => "an array",
        _ => TomlValues.TypeName(value),
    };

    private static TomlTable Freeze(TableBuilder table)
    {
        var values = new object[table.Values.Count];
        for (var i = 0; i < values.Length; i++)
            values[i] = FreezeValue(table.Values[i]);
        return new TomlTable([.. table.Keys], values, [.. table.Positions], table.Position, [.. table.ValuePositions], table.Index);
    }

    private static object FreezeValue(object value) => value switch
    {
        TableBuilder t => Freeze(t),
        ArrayBuilder a => new TomlArray([.. a.Items.Select(FreezeValue)], [.. a.Positions], a.Position),
        _ => value,
    };
}
