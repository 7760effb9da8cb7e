using System.Text;

namespace ScriptFtp.Toml;

/// <summary>
/// An immutable TOML document that can be edited while keeping comments, blank lines, ordering and line endings:
/// every edit rewrites only the lines it concerns and returns a new document.
/// In-place edits work on tables declared with a <c>[header]</c> (and the top level); other shapes throw
/// <see cref="InvalidOperationException"/>.
/// </summary>
public sealed class TomlDocument
{
    private readonly string _text;
    private readonly string _source;
    private readonly List<TomlStatement> _statements;
    private readonly string _newline;

    private TomlDocument(string text, string source, TomlTable model, List<TomlStatement> statements)
    {
        _text = text;
        _source = source;
        Model = model;
        _statements = statements;
        var lf = text.IndexOf('\n');
        _newline = lf > 0 && text[lf - 1] == '\r' ? "\r\n" : "\n";
    }

    /// <summary>Parses a document.</summary>
    /// <param name="text">The TOML text.</param>
    /// <param name="sourceName">The name used in error messages.</param>
    /// <exception cref="TomlException">The text is not valid TOML 1.0.</exception>
    public static TomlDocument Parse(string text, string sourceName)
    {
        var (model, statements) = TomlParser.ParseWithStatements(text, sourceName);
        return new TomlDocument(text, sourceName, model, statements);
    }

    /// <summary>The parsed values of the current text.</summary>
    public TomlTable Model { get; }

    /// <summary>The full text of the document.</summary>
    public override string ToString() => _text;

    /// <summary>
    /// Sets <paramref name="key"/> inside table <paramref name="tablePath"/> (empty for the top level). An existing
    /// value is replaced in place, keeping the line's comment; a new key goes after the table's last key; a missing
    /// table is appended at the end.
    /// </summary>
    /// <exception cref="InvalidOperationException">The table or key is defined in a way that cannot be edited in place.</exception>
    public TomlDocument Set(IReadOnlyList<string> tablePath, string key, object value)
    {
        var formatted = TomlWriter.FormatValue(value);
        var section = FindSection(tablePath);
        if (section is null)
        {
            if (tablePath.Count == 0) throw new InvalidOperationException("the top level always exists");
            return AppendTable(tablePath, [new(key, value)], $"set \"{key}\" in [{TomlWriter.FormatPath(tablePath)}]");
        }
        var (first, last) = section.Value;
        var existing = FindKey(first, last, key);
        if (existing is not null)
        {
            return Edit(_text[..existing.ValueStart] + formatted + _text[existing.ValueEnd..],
                $"set \"{key}\"{InTable(tablePath)}");
        }

        // A new key goes after the section's last key/value line, indented like it.
        var lastKey = _statements.Take(last).Skip(first).LastOrDefault(s => s.Kind == TomlStatementKind.KeyValue);
        int insertAt;
        var indent = "";
        if (lastKey is not null)
        {
            insertAt = lastKey.End;
            indent = _text[lastKey.LineStart..lastKey.KeyStart];
        }
        else if (first > 0)
        {
            insertAt = _statements[first - 1].End;
        }
        else
        {
            insertAt = last < _statements.Count ? AttachedCommentStart(last) : _text.Length;
        }
        var line = indent + TomlWriter.FormatKey(key) + " = " + formatted + _newline;
        var prefix = _text[..insertAt];
        if (prefix.Length > 0 && !prefix.EndsWith('\n')) prefix += _newline;
        return Edit(prefix + line + _text[insertAt..], $"set \"{key}\"{InTable(tablePath)}");
    }

    /// <summary>Removes <paramref name="key"/> (and its line) from table <paramref name="tablePath"/>; does nothing if it is absent.</summary>
    /// <exception cref="InvalidOperationException">The key exists but is not written as <c>key = value</c> under the table's header.</exception>
    public TomlDocument Remove(IReadOnlyList<string> tablePath, string key)
    {
        var section = FindSection(tablePath);
        var statement = section is { } s ? FindKey(s.First, s.Last, key) : null;
        if (statement is null)
        {
            if (Lookup(tablePath) is TomlTable table && table.ContainsKey(key))
                throw CannotEdit($"remove \"{key}\"{InTable(tablePath)}", "it is not written as a plain key = value line under the table's [header]");
            return this;
        }
        return Edit(_text[..statement.LineStart] + _text[statement.End..], $"remove \"{key}\"{InTable(tablePath)}");
    }

    /// <summary>Appends <c>[a.b]</c> with <paramref name="values"/> at the end of the document, preceded by a blank line.</summary>
    /// <exception cref="InvalidOperationException">The table already exists.</exception>
    public TomlDocument AddTable(IReadOnlyList<string> tablePath, IEnumerable<KeyValuePair<string, object>> values)
    {
        if (tablePath.Count == 0) throw new ArgumentException("the top-level table cannot be added", nameof(tablePath));
        if (Lookup(tablePath) is not null)
            throw new InvalidOperationException($"table [{TomlWriter.FormatPath(tablePath)}] already exists in {_source}");
        return AppendTable(tablePath, values, $"add table [{TomlWriter.FormatPath(tablePath)}]");
    }

    /// <summary>
    /// Removes the table's header, its key lines, its sub-tables' sections and the comment lines directly above each
    /// removed header; does nothing if the table is absent.
    /// </summary>
    /// <exception cref="InvalidOperationException">The table exists but is not declared with headers.</exception>
    public TomlDocument RemoveTable(IReadOnlyList<string> tablePath)
    {
        if (tablePath.Count == 0) throw new ArgumentException("the top-level table cannot be removed", nameof(tablePath));
        var action = $"remove table [{TomlWriter.FormatPath(tablePath)}]";
        var headers = new List<int>();
        for (var i = 0; i < _statements.Count; i++)
        {
            var s = _statements[i];
            if (s.Kind != TomlStatementKind.KeyValue && s.Path.Length >= tablePath.Count && s.Path.Take(tablePath.Count).SequenceEqual(tablePath))
                headers.Add(i);
        }
        if (headers.Count == 0)
        {
            if (Lookup(tablePath) is null) return this;
            throw CannotEdit(action, "it is not declared with a [header]");
        }

        var sb = new StringBuilder(_text.Length);
        var copied = 0;
        foreach (var h in headers)
        {
            var start = AttachedCommentStart(h);
            var next = NextHeader(h);
            var end = next < _statements.Count ? AttachedCommentStart(next) : _text.Length;
            if (start < copied) start = copied;
            sb.Append(_text, copied, start - copied);
            copied = Math.Max(copied, end);
        }
        sb.Append(_text, copied, _text.Length - copied);
        return Edit(sb.ToString(), action);
    }

    // ---------------------------------------------------------------- helpers

    private TomlDocument AppendTable(IReadOnlyList<string> tablePath, IEnumerable<KeyValuePair<string, object>> values, string action)
    {
        var sb = new StringBuilder(_text);
        if (sb.Length > 0)
        {
            if (!_text.EndsWith('\n')) sb.Append(_newline);
            if (!EndsWithBlankLine(sb.ToString())) sb.Append(_newline);
        }
        sb.Append('[').Append(TomlWriter.FormatPath(tablePath)).Append(']').Append(_newline);
        foreach (var (key, value) in values)
            sb.Append(TomlWriter.FormatKey(key)).Append(" = ").Append(TomlWriter.FormatValue(value)).Append(_newline);
        return Edit(sb.ToString(), action);
    }

    private static bool EndsWithBlankLine(string text)
    {
        var trimmed = text.TrimEnd('\n', '\r');
        if (trimmed.Length == text.Length) return false;
        var newlines = text.Skip(trimmed.Length).Count(c => c == '\n');
        return newlines >= 2 || trimmed.Length == 0;
    }

    /// <summary>Re-parses edited text so that <see cref="Model"/> is always exactly what the text says.</summary>
    private TomlDocument Edit(string text, string action)
    {
        try
        {
            return Parse(text, _source);
        }
        catch (TomlException e)
        {
            throw CannotEdit(action, $"the result would not be valid TOML ({e.Reason})", e);
        }
    }

    private InvalidOperationException CannotEdit(string action, string why, Exception? inner = null) =>
        new($"cannot {action} in {_source}: {why}", inner);

    private static string InTable(IReadOnlyList<string> tablePath) =>
        tablePath.Count == 0 ? "" : $" in [{TomlWriter.FormatPath(tablePath)}]";

    /// <summary>The statements [First, Last) belonging to the table, excluding its header; null if there is no such header.</summary>
    private (int First, int Last)? FindSection(IReadOnlyList<string> tablePath)
    {
        var header = -1; // the top level has no header: its section starts at statement 0
        if (tablePath.Count > 0)
        {
            header = _statements.FindIndex(s => s.Kind == TomlStatementKind.Table && s.Path.SequenceEqual(tablePath));
            if (header < 0) return null;
        }
        return (header + 1, NextHeader(header));
    }

    private TomlStatement? FindKey(int first, int last, string key)
    {
        for (var i = first; i < last; i++)
        {
            var s = _statements[i];
            if (s.Path.Length == 1 && s.Path[0] == key) return s;
        }
        return null;
    }

    /// <summary>The index of the first header after statement <paramref name="index"/>, or the statement count.</summary>
    private int NextHeader(int index)
    {
        var i = index + 1;
        while (i < _statements.Count && _statements[i].Kind == TomlStatementKind.KeyValue) i++;
        return i;
    }

    /// <summary>Start of the comment lines directly above a statement (no blank line between), else the statement's line start.</summary>
    private int AttachedCommentStart(int index)
    {
        var floor = index > 0 ? _statements[index - 1].End : _text.StartsWith('\uFEFF') ? 1 : 0;
        var start = _statements[index].LineStart;
        while (start > floor)
        {
            // The previous line is [lineStart, start - 1), start - 1 being its '\n'.
            var lineEnd = start - 1;
            // floor is always a line start, except just after a byte order mark.
            var lineStart = Math.Max(lineEnd > 0 ? _text.LastIndexOf('\n', lineEnd - 1) + 1 : 0, floor);
            var content = _text.AsSpan(lineStart, lineEnd - lineStart).Trim(" \t\r");
            if (content.Length == 0 || content[0] != '#') break;
            start = lineStart;
        }
        return start;
    }

    private TomlTable? Lookup(IReadOnlyList<string> tablePath)
    {
        object current = Model;
        foreach (var name in tablePath)
        {
            current = current switch
            {
                TomlTable t when t.TryGetValue(name, out var v) => v,
                _ => null!,
            };
            if (current is TomlArray { Count: > 0 } array && array[^1] is TomlTable last) current = last;
            if (current is null) return null;
        }
        return current as TomlTable ?? TomlTable.Empty;
    }
}
