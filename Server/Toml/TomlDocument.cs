using Tomlyn.Syntax;

namespace ScriptFtp.Toml;

/// <summary>
/// An immutable TOML document that can be edited while keeping comments, blank lines, ordering and line endings:
/// an edit changes only the statements it concerns (through Tomlyn's syntax tree) and returns a new document, and an
/// untouched document writes back byte for byte. In-place edits work on tables declared with a <c>[header]</c> (and
/// the top level); other shapes throw <see cref="InvalidOperationException"/>.
/// </summary>
/// <remarks>
/// An edit reuses the syntax tree of the document it starts from and hands it to the result, so a chain of edits
/// parses nothing; editing a document that has handed its tree on parses its text again, once.
/// </remarks>
public sealed class TomlDocument
{
    private readonly string _text;
    private readonly string _source;
    private readonly string _newline;
    private DocumentSyntax? _tree;

    private TomlDocument(string text, string source, TomlTable model, DocumentSyntax tree)
    {
        _text = text;
        _source = source;
        Model = model;
        _tree = tree;
        var lf = text.IndexOf('\n');
        _newline = lf > 0 && text[lf - 1] == '\r' ? "\r\n" : "\n";
    }

    /// <summary>Parses a document.</summary>
    /// <param name="text">The TOML text.</param>
    /// <param name="sourceName">The name used in error messages.</param>
    /// <exception cref="TomlException">The text is not valid TOML 1.1.</exception>
    public static TomlDocument Parse(string text, string sourceName)
    {
        var (tree, model) = TomlSyntax.Read(text, sourceName);
        TomlGaps.Normalize(tree);
        return new TomlDocument(text, sourceName, model, tree);
    }

    private static DocumentSyntax ParseTree(string text, string sourceName)
    {
        var tree = TomlSyntax.ParseAgain(text, sourceName);
        TomlGaps.Normalize(tree);
        return tree;
    }

    /// <summary>The parsed values of the current text.</summary>
    public TomlTable Model { get; }

    /// <summary>The name used in error messages, usually the file's path or name.</summary>
    public string SourceName => _source;

    /// <summary>Whether an edit of this document can start from its syntax tree, without parsing its text again.</summary>
    internal bool HoldsSyntaxTree => Volatile.Read(ref _tree) is not null;

    /// <summary>
    /// Lets the syntax tree go: it takes about ten times the memory of the model (100 MB for 10,000 users), so a holder
    /// that edits rarely keeps the text and model only, and its next edit parses the text again, once.
    /// </summary>
    internal void ReleaseSyntaxTree() => Volatile.Write(ref _tree, null);

    /// <summary>The full text of the document.</summary>
    public override string ToString() => _text;

    /// <summary>
    /// Sets <paramref name="key"/> inside table <paramref name="tablePath"/> (empty for the top level). An existing
    /// value is replaced in place, keeping the line's comment; a new key goes after the table's last key; a missing
    /// table is appended at the end.
    /// </summary>
    /// <exception cref="ArgumentException">The value is not a string, integer, float or boolean.</exception>
    /// <exception cref="InvalidOperationException">The table or key is defined in a way that cannot be edited in place.</exception>
    public TomlDocument Set(IReadOnlyList<string> tablePath, string key, object value)
    {
        var action = $"set \"{key}\"{InTable(tablePath)}";
        _ = Value(value); // a value that cannot be written fails before anything is touched
        return Edit(action, tree =>
        {
            var table = FindTable(tree, tablePath);
            if (table is null && tablePath.Count > 0)
                return () => AppendTable(tree, tablePath, [new(key, value)]);
            var existing = FindKey(tree, table, key);
            if (existing is not null)
                return () => Replace(existing, Value(value));
            return () => AddKey(tree, table, KeyValue(key, value));
        });
    }

    /// <summary>
    /// Removes <paramref name="key"/> (and its line) from table <paramref name="tablePath"/>; does nothing if it is absent.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The key exists but is not written as <c>key = value</c> under the table's header.
    /// </exception>
    public TomlDocument Remove(IReadOnlyList<string> tablePath, string key)
    {
        var action = $"remove \"{key}\"{InTable(tablePath)}";
        return Edit(action, tree =>
        {
            var table = FindTable(tree, tablePath);
            var existing = table is null && tablePath.Count > 0 ? null : FindKey(tree, table, key);
            if (existing is not null)
                return () => RemoveKey(tree, existing);
            if (Lookup(tablePath) is { } found && found.ContainsKey(key))
                throw CannotEdit(action, "it is not written as a plain key = value line under the table's [header]");
            return null;
        });
    }

    /// <summary>Appends <c>[a.b]</c> with <paramref name="values"/> at the end of the document, preceded by a blank line.</summary>
    /// <exception cref="ArgumentException">The path is empty or a value cannot be written.</exception>
    /// <exception cref="InvalidOperationException">The table already exists.</exception>
    public TomlDocument AddTable(IReadOnlyList<string> tablePath, IEnumerable<KeyValuePair<string, object>> values)
    {
        if (tablePath.Count == 0) throw new ArgumentException("the top-level table cannot be added", nameof(tablePath));
        var header = TomlSyntax.FormatPath(tablePath);
        if (Lookup(tablePath) is not null)
            throw new InvalidOperationException($"table [{header}] already exists in {_source}");
        var entries = values.ToList();
        foreach (var (_, value) in entries)
            _ = Value(value);
        return Edit($"add table [{header}]", tree => () => AppendTable(tree, tablePath, entries));
    }

    /// <summary>
    /// Removes the table's header, its key lines, its sub-tables' sections and the comment lines directly above each
    /// removed header; does nothing if the table is absent.
    /// </summary>
    /// <exception cref="InvalidOperationException">The table exists but is not declared with headers.</exception>
    public TomlDocument RemoveTable(IReadOnlyList<string> tablePath)
    {
        if (tablePath.Count == 0) throw new ArgumentException("the top-level table cannot be removed", nameof(tablePath));
        var action = $"remove table [{TomlSyntax.FormatPath(tablePath)}]";
        return Edit(action, tree =>
        {
            if (tree.Tables.Any(t => StartsWith(t, tablePath)))
                return () => RemoveSections(tree, tablePath);
            if (Lookup(tablePath) is null)
                return null;
            throw CannotEdit(action, "it is not declared with a [header]");
        });
    }

    // ---------------------------------------------------------------- editing the tree

    /// <summary>
    /// Runs an edit: <paramref name="plan"/> only looks at the tree and returns the change to make (null: none).
    /// The result's model is bound from the changed tree, which also checks that it is still valid TOML.
    /// </summary>
    private TomlDocument Edit(string action, Func<DocumentSyntax, Action?> plan)
    {
        var tree = Interlocked.Exchange(ref _tree, null) ?? ParseTree(_text, _source);
        Action? change;
        try
        {
            change = plan(tree);
        }
        catch
        {
            Volatile.Write(ref _tree, tree); // planning only looks: the tree is as it was
            throw;
        }
        if (change is null)
        {
            Volatile.Write(ref _tree, tree);
            return this;
        }
        try
        {
            change();
            var text = (_text.Length > 0 && _text[0] == TomlSyntax.ByteOrderMark ? "\uFEFF" : "") + tree.ToString();
            return new TomlDocument(text, _source, TomlBinder.Bind(tree, _source), tree);
        }
        catch (TomlException e)
        {
            // The changed tree is dropped; this document parses its own text again if it is edited later.
            throw CannotEdit(action, $"the result would not be valid TOML ({e.Reason})", e);
        }
    }

    private void Replace(KeyValueSyntax keyValue, ValueSyntax value)
    {
        var old = keyValue.Value!;
        (value.LeadingTrivia, value.TrailingTrivia) = (old.LeadingTrivia, old.TrailingTrivia);
        // The comment after a value hangs on the value's last token.
        LastToken(value).TrailingTrivia = LastToken(old).TrailingTrivia;
        keyValue.Value = value;
    }

    private static SyntaxNode LastToken(SyntaxNode node)
    {
        for (var i = node.ChildrenCount - 1; i >= 0; i--)
        {
            if (node.GetChild(i) is { } child)
                return LastToken(child);
        }
        return node;
    }

    /// <summary>Adds a key after the table's last key (indented like it), or first when the table has none.</summary>
    private void AddKey(DocumentSyntax tree, TableSyntaxBase? table, KeyValueSyntax keyValue)
    {
        var items = table is null ? tree.KeyValues : table.Items;
        if (items.ChildrenCount > 0)
        {
            var last = items.GetChild(items.ChildrenCount - 1)!;
            var indent = TomlGaps.PartialLine(TomlGaps.After(tree, TomlGaps.Previous(tree, last)));
            InsertAfter(tree, last, keyValue, indent);
        }
        else if (table is not null)
        {
            InsertAfter(tree, table, keyValue, []);
        }
        else
        {
            AddFirstTopLevelKey(tree, keyValue);
        }
        items.Add(keyValue);
    }

    private void InsertAfter(DocumentSyntax tree, SyntaxNode statement, KeyValueSyntax keyValue, List<SyntaxTrivia> indent)
    {
        TomlGaps.EndLine(tree, statement, _newline);
        keyValue.EndOfLineToken!.TrailingTrivia = TomlGaps.Take(tree, statement);
        TomlGaps.Set(tree, statement, indent);
    }

    // The first top-level key goes above the comments that belong to the first header, or at the end of a file without headers.
    private void AddFirstTopLevelKey(DocumentSyntax tree, KeyValueSyntax keyValue)
    {
        var head = TomlGaps.Take(tree, null);
        if (tree.Tables.ChildrenCount > 0)
        {
            var (detached, attached) = TomlGaps.SplitAttached(head);
            TomlGaps.Set(tree, null, detached);
            keyValue.EndOfLineToken!.TrailingTrivia = attached;
            return;
        }
        if (head.Count > 0 && head[^1].Kind != TokenKind.NewLine)
            head.Add(NewLineTrivia());
        TomlGaps.Set(tree, null, head);
    }

    private static void RemoveKey(DocumentSyntax tree, KeyValueSyntax keyValue)
    {
        var previous = TomlGaps.Previous(tree, keyValue);
        var before = TomlGaps.FullLines(TomlGaps.After(tree, previous));
        var after = TomlGaps.Take(tree, keyValue);
        ((SyntaxList<KeyValueSyntax>)keyValue.Parent!).RemoveChild(keyValue);
        TomlGaps.Set(tree, previous, [.. before, .. after]);
    }

    private void AppendTable(DocumentSyntax tree, IReadOnlyList<string> tablePath, IEnumerable<KeyValuePair<string, object>> values)
    {
        var last = TomlGaps.Statements(tree).LastOrDefault();
        if (last is not null)
            TomlGaps.EndLine(tree, last, _newline);
        var tail = TomlGaps.After(tree, last);
        if (last is not null || tail.Count > 0)
        {
            if (tail.Count > 0 && tail[^1].Kind != TokenKind.NewLine)
                tail.Add(NewLineTrivia());
            if (!TomlGaps.EndsWithBlankLine(tail))
                tail.Add(NewLineTrivia());
        }
        var table = new TableSyntax(TomlSyntax.Key(tablePath)) { EndOfLineToken = NewLine() };
        foreach (var (key, value) in values)
            table.Items.Add(KeyValue(key, value));
        tree.Tables.Add(table);
    }

    /// <summary>Removes every section whose header starts with the path, one at a time, with the comments attached to it.</summary>
    private static void RemoveSections(DocumentSyntax tree, IReadOnlyList<string> tablePath)
    {
        while (tree.Tables.FirstOrDefault(t => StartsWith(t, tablePath)) is { } table)
        {
            var previous = TomlGaps.Previous(tree, table);
            var lastOfSection = table.Items.ChildrenCount > 0 ? table.Items.GetChild(table.Items.ChildrenCount - 1)! : (SyntaxNode)table;
            var isLast = tree.Tables.GetChild(tree.Tables.ChildrenCount - 1) == table;
            var (kept, _) = TomlGaps.SplitAttached(TomlGaps.After(tree, previous));
            // What follows the section: comments attached to the next header stay with it, the rest goes.
            List<SyntaxTrivia> next = isLast ? [] : TomlGaps.SplitAttached(TomlGaps.After(tree, lastOfSection)).Attached;
            if (isLast)
                tree.TrailingTrivia = null; // the end of a last line without a newline goes with it
            tree.Tables.RemoveChild(table);
            TomlGaps.Set(tree, previous, [.. kept, .. next]);
        }
    }

    // ---------------------------------------------------------------- finding things

    private static TableSyntax? FindTable(DocumentSyntax tree, IReadOnlyList<string> tablePath) =>
        tablePath.Count == 0
            ? null
            : tree.Tables.OfType<TableSyntax>().FirstOrDefault(t => Path(t).SequenceEqual(tablePath));

    private static KeyValueSyntax? FindKey(DocumentSyntax tree, TableSyntaxBase? table, string key) =>
        (table is null ? tree.KeyValues : table.Items)
            .FirstOrDefault(kv => kv.Key is { DotKeys.ChildrenCount: 0 } k && TomlSyntax.Name(k.Key) == key);

    private static IEnumerable<string> Path(TableSyntaxBase table) => TomlSyntax.Parts(table.Name!).Select(p => p.Name);

    private static bool StartsWith(TableSyntaxBase table, IReadOnlyList<string> tablePath)
    {
        var path = Path(table).ToList();
        return path.Count >= tablePath.Count && path.Take(tablePath.Count).SequenceEqual(tablePath);
    }

    private TomlTable? Lookup(IReadOnlyList<string> tablePath)
    {
        object? current = Model;
        foreach (var name in tablePath)
        {
            current = current is TomlTable t && t.TryGetValue(name, out var v) ? v : null;
            if (current is TomlArray { Count: > 0 } array && array[^1] is TomlTable last) current = last;
            if (current is null) return null;
        }
        return current as TomlTable ?? TomlTable.Empty;
    }

    // ---------------------------------------------------------------- new nodes

    private KeyValueSyntax KeyValue(string key, object value) =>
        new(new KeySyntax(key), Value(value)) { EndOfLineToken = NewLine() };

    private static ValueSyntax Value(object value) => TomlValues.Normalize(value) switch
    {
        string s => new StringValueSyntax(s),
        long l => new IntegerValueSyntax(l),
        double d => new FloatValueSyntax(d),
        bool b => new BooleanValueSyntax(b),
        var other => throw new ArgumentException(
            $"the document editor writes strings, numbers and booleans, not {TomlValues.TypeName(other)}"),
    };

    // New lines end like the document's first line, so that a CRLF file stays CRLF.
    private SyntaxToken NewLine() => new(TokenKind.NewLine, _newline);

    private SyntaxTrivia NewLineTrivia() => new(TokenKind.NewLine, _newline);

    private InvalidOperationException CannotEdit(string action, string why, Exception? inner = null) =>
        new($"cannot {action} in {_source}: {why}", inner);

    private static string InTable(IReadOnlyList<string> tablePath) =>
        tablePath.Count == 0 ? "" : $" in [{TomlSyntax.FormatPath(tablePath)}]";
}
