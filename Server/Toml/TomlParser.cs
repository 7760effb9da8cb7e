using System.Globalization;
using System.Text;

namespace ScriptFtp.Toml;

/// <summary>What a top-level line of a document is; used by <see cref="TomlDocument"/> to edit text in place.</summary>
internal enum TomlStatementKind { Table, ArrayOfTables, KeyValue }

/// <summary>
/// One top-level statement and where its text lies. Offsets are into the source string:
/// <paramref name="LineStart"/> is the start of the line holding the statement, <paramref name="KeyStart"/> the
/// first character of the header or key, <paramref name="ValueStart"/>/<paramref name="ValueEnd"/> bracket the
/// value text (key/value only), <paramref name="End"/> is just past the terminating newline (or the end of text).
/// </summary>
internal sealed record TomlStatement(
    TomlStatementKind Kind, string[] Path, int LineStart, int KeyStart, int ValueStart, int ValueEnd, int End);

/// <summary>A recursive-descent TOML 1.0 parser over a UTF-16 string.</summary>
internal sealed class TomlParser
{
    // How a table came to exist decides what may later add to it (TOML 1.0 redefinition rules).
    private enum TableKind { Root, Implicit, Header, Dotted, Inline, ArrayElement }

    private sealed class TableBuilder(TableKind kind, TomlPosition position)
    {
        public TableKind Kind = kind;
        public TomlPosition Position = position;
        public readonly List<string> Keys = [];
        public readonly Dictionary<string, (object Value, TomlPosition Position, TomlPosition ValuePosition)> Entries = new(StringComparer.Ordinal);

        public void Add(string key, object value, TomlPosition position, TomlPosition valuePosition = default)
        {
            Keys.Add(key);
            Entries.Add(key, (value, position, valuePosition == default ? position : valuePosition));
        }
    }

    private sealed class ArrayBuilder(bool isTableArray, TomlPosition position)
    {
        public readonly bool IsTableArray = isTableArray;
        public readonly TomlPosition Position = position;
        public readonly List<object> Items = [];
        public readonly List<TomlPosition> Positions = [];
    }

    private readonly string _text;
    private readonly string _source;
    private readonly List<int> _lineStarts = [0];
    private readonly List<TomlStatement>? _statements;
    private readonly StringBuilder _sb = new();
    private int _pos;

    private TomlParser(string text, string source, bool collectStatements)
    {
        _text = text;
        _source = source;
        if (collectStatements) _statements = [];
    }

    public static TomlTable Parse(string text, string sourceName) =>
        new TomlParser(text, sourceName, false).ParseDocument();

    public static (TomlTable Model, List<TomlStatement> Statements) ParseWithStatements(string text, string sourceName)
    {
        var parser = new TomlParser(text, sourceName, true);
        var model = parser.ParseDocument();
        return (model, parser._statements!);
    }

    /// <summary>Strict UTF-8 decoding that reports the position of the first bad byte.</summary>
    public static string DecodeUtf8(byte[] bytes, string sourceName)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            var bad = Math.Clamp(e.Index, 0, bytes.Length);
            var line = 1;
            var lineStart = 0;
            for (var i = 0; i < bad; i++)
            {
                if (bytes[i] == (byte)'\n')
                {
                    line++;
                    lineStart = i + 1;
                }
            }
            var column = Encoding.UTF8.GetCharCount(bytes, lineStart, bad - lineStart) + 1;
            throw new TomlException(sourceName, new TomlPosition(line, column), "the file is not valid UTF-8");
        }
    }

    // ---------------------------------------------------------------- positions and errors

    private TomlPosition PositionAt(int offset)
    {
        var i = _lineStarts.BinarySearch(offset);
        if (i < 0) i = ~i - 1;
        return new TomlPosition(i + 1, offset - _lineStarts[i] + 1);
    }

    private TomlException Error(int offset, string reason) => new(_source, PositionAt(offset), reason);

    private TomlException Error(string reason) => Error(_pos, reason);

    private static string Describe(char c) => c switch
    {
        '\n' => "end of line",
        '\r' => "end of line",
        '\t' => "a tab",
        ' ' => "a space",
        _ when char.IsControl(c) => $"control character U+{(int)c:X4}",
        _ => $"'{c}'",
    };

    private string DescribeHere() => _pos >= _text.Length ? "end of file" : Describe(_text[_pos]);

    private static string KeyText(IReadOnlyList<string> keys) => string.Join('.', keys.Select(TomlWriter.FormatKey));

    // Characters that are wrong anywhere in a TOML document are rejected up front, which keeps the
    // grammar code free of checks; this pass also records line starts for positions.
    private void Prescan()
    {
        var text = _text;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c >= ' ' && c < '\u007f') continue;
            if (c == '\n')
            {
                _lineStarts.Add(i + 1);
                continue;
            }
            if (c == '\t') continue;
            if (c == '\r')
            {
                if (i + 1 < text.Length && text[i + 1] == '\n') continue;
                throw Error(i, "a carriage return must be followed by a line feed");
            }
            if (c < ' ' || c == '\u007f')
                throw Error(i, $"control character U+{(int)c:X4} is not allowed; use an escape sequence in strings");
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
                throw Error(i, $"unpaired surrogate U+{(int)c:X4} is not valid Unicode");
        }
    }

    // ---------------------------------------------------------------- document structure

    private TomlTable ParseDocument()
    {
        Prescan();
        var bomLength = _text.Length > 0 && _text[0] == '\uFEFF' ? 1 : 0;
        _pos = bomLength;

        var root = new TableBuilder(TableKind.Root, new TomlPosition(1, 1));
        var current = root;
        while (true)
        {
            SkipWhitespace();
            if (_pos >= _text.Length) break;
            var c = _text[_pos];
            if (c == '#')
            {
                SkipComment();
                ExpectEndOfLine(static () => "a comment");
                continue;
            }
            if (c == '\n' || c == '\r')
            {
                SkipNewline();
                continue;
            }

            // A byte order mark belongs to no statement, so edits never remove it.
            var lineStart = Math.Max(_lineStarts[PositionAt(_pos).Line - 1], bomLength);
            var keyStart = _pos;
            if (c == '[')
            {
                var isArray = _pos + 1 < _text.Length && _text[_pos + 1] == '[';
                var path = ParseHeader(isArray, out var headerPosition);
                current = isArray ? OpenTableArray(root, path, headerPosition) : OpenTable(root, path, headerPosition);
                SkipWhitespace();
                ExpectEndOfLine(() => isArray ? $"[[{HeaderText(path)}]]" : $"[{HeaderText(path)}]");
                _statements?.Add(new TomlStatement(
                    isArray ? TomlStatementKind.ArrayOfTables : TomlStatementKind.Table,
                    [.. path.Select(k => k.Name)], lineStart, keyStart, -1, -1, _pos));
            }
            else
            {
                var keys = ParseKeyValue(current, out var valueStart, out var valueEnd);
                SkipWhitespace();
                ExpectEndOfLine(() => $"the value of \"{KeyText(keys)}\"");
                _statements?.Add(new TomlStatement(
                    TomlStatementKind.KeyValue, [.. keys], lineStart, keyStart, valueStart, valueEnd, _pos));
            }
        }
        return Freeze(root);
    }

    /// <summary>After a statement only a comment and the end of the line may follow.</summary>
    private void ExpectEndOfLine(Func<string> after)
    {
        if (_pos < _text.Length && _text[_pos] == '#') SkipComment();
        if (_pos >= _text.Length) return;
        var c = _text[_pos];
        if (c == '\n' || c == '\r')
        {
            SkipNewline();
            return;
        }
        throw Error($"expected the end of the line after {after()}, found {Describe(c)}");
    }

    private void SkipWhitespace()
    {
        while (_pos < _text.Length && (_text[_pos] == ' ' || _text[_pos] == '\t')) _pos++;
    }

    private void SkipComment()
    {
        // The prescan already rejected control characters, so a comment simply runs to the line end.
        var end = _text.IndexOf('\n', _pos);
        _pos = end < 0 ? _text.Length : end;
        if (_pos > 0 && _text[_pos - 1] == '\r' && end >= 0) _pos--;
    }

    private void SkipNewline()
    {
        if (_text[_pos] == '\r') _pos++;
        _pos++;
    }

    /// <summary>Whitespace, newlines and comments, as allowed between array elements.</summary>
    private void SkipTrivia()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == ' ' || c == '\t') _pos++;
            else if (c == '\n' || c == '\r') SkipNewline();
            else if (c == '#') SkipComment();
            else break;
        }
    }

    private List<(string Name, int Offset)> ParseHeader(bool isArray, out TomlPosition position)
    {
        position = PositionAt(_pos);
        _pos += isArray ? 2 : 1;
        var path = ParseKey();
        var close = isArray ? "]]" : "]";
        if (string.CompareOrdinal(_text, _pos, close, 0, close.Length) != 0)
        {
            throw Error(isArray
                ? $"expected ']]' to close the array-of-tables header [[{HeaderText(path)}]], found {DescribeHere()}"
                : $"expected ']' to close the table header [{HeaderText(path)}], found {DescribeHere()}");
        }
        _pos += close.Length;
        return path;
    }

    private TableBuilder OpenTable(TableBuilder root, List<(string Name, int Offset)> path, TomlPosition position)
    {
        var parent = WalkHeaderPath(root, path);
        var (name, offset) = path[^1];
        if (parent.Entries.TryGetValue(name, out var existing))
        {
            if (existing.Value is TableBuilder { Kind: TableKind.Implicit } implicitTable)
            {
                implicitTable.Kind = TableKind.Header;
                implicitTable.Position = position;
                return implicitTable;
            }
            throw Error(offset, existing.Value switch
            {
                TableBuilder { Kind: TableKind.Dotted } => $"table [{HeaderText(path)}] was already defined with dotted keys and cannot be opened again with a header",
                TableBuilder { Kind: TableKind.Inline } => $"table [{HeaderText(path)}] was already defined as an inline table, which cannot be extended",
                TableBuilder => $"table [{HeaderText(path)}] is defined twice",
                ArrayBuilder { IsTableArray: true } => $"[{HeaderText(path)}] is already an array of tables; use [[{HeaderText(path)}]] to add an element",
                _ => $"key \"{HeaderText(path)}\" is already defined as {DescribeValue(existing.Value)}, not a table",
            });
        }
        var table = new TableBuilder(TableKind.Header, position);
        parent.Add(name, table, PositionAt(offset), position);
        return table;
    }

    private TableBuilder OpenTableArray(TableBuilder root, List<(string Name, int Offset)> path, TomlPosition position)
    {
        var parent = WalkHeaderPath(root, path);
        var (name, offset) = path[^1];
        var element = new TableBuilder(TableKind.ArrayElement, position);
        if (parent.Entries.TryGetValue(name, out var existing))
        {
            if (existing.Value is not ArrayBuilder { IsTableArray: true } array)
            {
                throw Error(offset, existing.Value is ArrayBuilder
                    ? $"cannot append to \"{HeaderText(path)}\" with [[{HeaderText(path)}]]: it is a static array"
                    : $"cannot define [[{HeaderText(path)}]]: \"{HeaderText(path)}\" is already defined as {DescribeValue(existing.Value)}");
            }
            array.Items.Add(element);
            array.Positions.Add(position);
            return element;
        }
        var newArray = new ArrayBuilder(true, position);
        newArray.Items.Add(element);
        newArray.Positions.Add(position);
        parent.Add(name, newArray, PositionAt(offset), position);
        return element;
    }

    private TableBuilder WalkHeaderPath(TableBuilder root, List<(string Name, int Offset)> path)
    {
        var table = root;
        for (var i = 0; i < path.Count - 1; i++)
        {
            var (name, offset) = path[i];
            if (!table.Entries.TryGetValue(name, out var existing))
            {
                var created = new TableBuilder(TableKind.Implicit, PositionAt(offset));
                table.Add(name, created, PositionAt(offset));
                table = created;
                continue;
            }
            table = existing.Value switch
            {
                TableBuilder { Kind: TableKind.Inline } => throw Error(offset, $"\"{HeaderText(path, i + 1)}\" is an inline table, which cannot be extended"),
                TableBuilder t => t,
                ArrayBuilder { IsTableArray: true } a => (TableBuilder)a.Items[^1],
                _ => throw Error(offset, $"\"{HeaderText(path, i + 1)}\" is already defined as {DescribeValue(existing.Value)}, not a table"),
            };
        }
        return table;
    }

    private static string HeaderText(List<(string Name, int Offset)> path, int count = int.MaxValue) =>
        KeyText(path.Take(count).Select(k => k.Name).ToList());

    private static string DescribeValue(object value) => value switch
    {
        TableBuilder => "a table",
        ArrayBuilder => "an array",
        _ => TomlValues.TypeName(value),
    };

    // ---------------------------------------------------------------- keys and key/value pairs

    private List<(string Name, int Offset)> ParseKey()
    {
        var keys = new List<(string, int)>(1);
        while (true)
        {
            SkipWhitespace();
            var start = _pos;
            if (_pos >= _text.Length) throw Error("expected a key, found end of file");
            var c = _text[_pos];
            string name;
            if (c is '"' or '\'')
            {
                if (AtTripleQuote(c)) throw Error("a multi-line string cannot be used as a key");
                name = c == '"' ? ParseBasicString() : ParseLiteralString();
            }
            else
            {
                while (_pos < _text.Length && IsBareKeyChar(_text[_pos])) _pos++;
                if (_pos == start)
                {
                    throw Error(keys.Count == 0
                        ? $"expected a key, found {DescribeHere()}"
                        : $"expected a key after '.', found {DescribeHere()}");
                }
                name = _text.Substring(start, _pos - start);
            }
            keys.Add((name, start));
            SkipWhitespace();
            if (_pos < _text.Length && _text[_pos] == '.')
            {
                _pos++;
                continue;
            }
            return keys;
        }
    }

    internal static bool IsBareKeyChar(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' or '-';

    private List<string> ParseKeyValue(TableBuilder table, out int valueStart, out int valueEnd)
    {
        var path = ParseKey();
        var names = path.Select(k => k.Name).ToList();
        if (_pos >= _text.Length || _text[_pos] != '=')
            throw Error($"expected '=' after key \"{KeyText(names)}\", found {DescribeHere()}");
        _pos++;
        SkipWhitespace();
        valueStart = _pos;
        var value = ParseValue();
        valueEnd = _pos;

        for (var i = 0; i < path.Count - 1; i++)
        {
            var (name, offset) = path[i];
            if (!table.Entries.TryGetValue(name, out var existing))
            {
                var created = new TableBuilder(TableKind.Dotted, PositionAt(offset));
                table.Add(name, created, PositionAt(offset));
                table = created;
                continue;
            }
            table = existing.Value switch
            {
                TableBuilder { Kind: TableKind.Dotted } t => t,
                TableBuilder { Kind: TableKind.Inline } => throw Error(offset, $"cannot add to \"{HeaderText(path, i + 1)}\": it is an inline table, which cannot be extended"),
                TableBuilder => throw Error(offset, $"cannot add to table \"{HeaderText(path, i + 1)}\" with dotted keys: it is defined by a [header]"),
                _ => throw Error(offset, $"cannot use \"{HeaderText(path, i + 1)}\" as a table: it is already defined as {DescribeValue(existing.Value)}"),
            };
        }
        var (last, lastOffset) = path[^1];
        if (table.Entries.ContainsKey(last))
            throw Error(lastOffset, $"key \"{KeyText(names)}\" is defined twice");
        table.Add(last, value, PositionAt(lastOffset), PositionAt(valueStart));
        return names;
    }

    // ---------------------------------------------------------------- values

    private object ParseValue()
    {
        if (_pos >= _text.Length) throw Error("expected a value, found end of file");
        var c = _text[_pos];
        switch (c)
        {
            case '"' or '\'':
                if (AtTripleQuote(c)) return ParseMultilineString(c);
                return c == '"' ? ParseBasicString() : ParseLiteralString();
            case '[':
                return ParseArray();
            case '{':
                return ParseInlineTable();
            case 't':
            case 'f':
                return ParseBoolean();
            default:
                if (c is >= '0' and <= '9' or '+' or '-' or 'i' or 'n') return ParseNumberOrDate();
                throw Error($"expected a value, found {DescribeHere()}");
        }
    }

    private bool ParseBoolean()
    {
        var start = _pos;
        while (_pos < _text.Length && IsBareKeyChar(_text[_pos])) _pos++;
        var word = _text.AsSpan(start, _pos - start);
        if (word.SequenceEqual("true")) return true;
        if (word.SequenceEqual("false")) return false;
        throw Error(start, $"expected a value, found \"{word}\" (booleans are lower-case true and false; strings need quotes)");
    }

    private string ParseBasicString()
    {
        var start = _pos;
        _pos++;
        // Fast path: most strings have no escapes and can be sliced directly.
        var i = _pos;
        while (i < _text.Length)
        {
            var c = _text[i];
            if (c == '"')
            {
                var s = _text.Substring(_pos, i - _pos);
                _pos = i + 1;
                return s;
            }
            if (c == '\\' || c == '\n' || c == '\r') break;
            i++;
        }
        var sb = _sb.Clear();
        sb.Append(_text, _pos, i - _pos);
        _pos = i;
        while (true)
        {
            if (_pos >= _text.Length) throw Error(start, "this string is never closed");
            var c = _text[_pos];
            if (c == '"')
            {
                _pos++;
                return sb.ToString();
            }
            if (c == '\n' || c == '\r')
                throw Error(start, "this string is never closed on its line (use \"\"\" for multi-line strings)");
            if (c == '\\') ParseEscape(sb);
            else
            {
                sb.Append(c);
                _pos++;
            }
        }
    }

    private bool AtTripleQuote(char quote) =>
        _pos + 2 < _text.Length && _text[_pos] == quote && _text[_pos + 1] == quote && _text[_pos + 2] == quote;

    /// <summary>A multi-line basic (<c>"""</c>) or literal (<c>'''</c>) string; only basic strings have escapes.</summary>
    private string ParseMultilineString(char quote)
    {
        var start = _pos;
        _pos += 3;
        SkipOneNewline();
        var sb = _sb.Clear();
        while (true)
        {
            if (_pos >= _text.Length)
                throw Error(start, quote == '"' ? "this multi-line string is never closed" : "this multi-line literal string is never closed");
            var c = _text[_pos];
            if (c == quote)
            {
                if (ClosesMultiline(quote, sb)) return sb.ToString();
                continue;
            }
            if (c == '\\' && quote == '"')
            {
                var j = _pos + 1;
                while (j < _text.Length && (_text[j] == ' ' || _text[j] == '\t')) j++;
                if (j < _text.Length && (_text[j] == '\n' || _text[j] == '\r'))
                {
                    // Line-ending backslash: drop the newline and all whitespace that follows.
                    _pos = j;
                    while (_pos < _text.Length && _text[_pos] is ' ' or '\t' or '\n' or '\r') _pos++;
                    continue;
                }
                ParseEscape(sb);
                continue;
            }
            sb.Append(c);
            _pos++;
        }
    }

    /// <summary>At a run of quotes inside a multi-line string: appends content quotes and reports whether the string ended.</summary>
    private bool ClosesMultiline(char quote, StringBuilder sb)
    {
        var run = 0;
        while (_pos + run < _text.Length && _text[_pos + run] == quote) run++;
        if (run < 3)
        {
            sb.Append(quote, run);
            _pos += run;
            return false;
        }
        if (run > 5) throw Error(_pos + 5, $"too many {quote} characters in a row in a multi-line string");
        sb.Append(quote, run - 3);
        _pos += run;
        return true;
    }

    private void SkipOneNewline()
    {
        if (_pos < _text.Length && _text[_pos] == '\n') _pos++;
        else if (_pos + 1 < _text.Length && _text[_pos] == '\r' && _text[_pos + 1] == '\n') _pos += 2;
    }

    private void ParseEscape(StringBuilder sb)
    {
        var start = _pos;
        _pos++;
        if (_pos >= _text.Length) throw Error(start, "this string is never closed");
        var c = _text[_pos++];
        switch (c)
        {
            case 'b': sb.Append('\b'); break;
            case 't': sb.Append('\t'); break;
            case 'n': sb.Append('\n'); break;
            case 'f': sb.Append('\f'); break;
            case 'r': sb.Append('\r'); break;
            case '"': sb.Append('"'); break;
            case '\\': sb.Append('\\'); break;
            case 'u':
            case 'U':
                var digits = c == 'u' ? 4 : 8;
                var code = 0;
                for (var k = 0; k < digits; k++)
                {
                    var h = _pos < _text.Length ? HexValue(_text[_pos]) : -1;
                    if (h < 0) throw Error(start, $"\\{c} must be followed by {digits} hexadecimal digits");
                    code = code * 16 + h;
                    _pos++;
                    if (code > 0x10FFFF) throw Error(start, $"\\{c} escape is beyond U+10FFFF");
                }
                if (code is >= 0xD800 and <= 0xDFFF)
                    throw Error(start, $"\\{c}{code:X} is a surrogate, which is not a Unicode scalar value");
                sb.Append(char.ConvertFromUtf32(code));
                break;
            default:
                throw Error(start, char.IsControl(c) || c == ' '
                    ? $"invalid escape sequence: a backslash followed by {Describe(c)}"
                    : $"invalid escape sequence \\{c}");
        }
    }

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private string ParseLiteralString()
    {
        var start = _pos;
        _pos++;
        var i = _pos;
        while (i < _text.Length && _text[i] != '\'' && _text[i] != '\n' && _text[i] != '\r') i++;
        if (i >= _text.Length || _text[i] != '\'')
            throw Error(start, "this literal string is never closed on its line (use ''' for multi-line strings)");
        var s = _text.Substring(_pos, i - _pos);
        _pos = i + 1;
        return s;
    }

    private ArrayBuilder ParseArray()
    {
        var array = new ArrayBuilder(false, PositionAt(_pos));
        _pos++;
        while (true)
        {
            SkipTrivia();
            if (_pos >= _text.Length) throw Error("expected a value or ']' in array, found end of file");
            if (_text[_pos] == ']')
            {
                _pos++;
                return array;
            }
            array.Positions.Add(PositionAt(_pos));
            array.Items.Add(ParseValue());
            SkipTrivia();
            if (_pos >= _text.Length) throw Error("expected ',' or ']' in array, found end of file");
            var c = _text[_pos];
            if (c == ',')
            {
                _pos++;
                continue;
            }
            if (c == ']')
            {
                _pos++;
                return array;
            }
            throw Error($"expected ',' or ']' in array, found {Describe(c)}");
        }
    }

    private TableBuilder ParseInlineTable()
    {
        var table = new TableBuilder(TableKind.Inline, PositionAt(_pos));
        _pos++;
        SkipWhitespace();
        if (_pos < _text.Length && _text[_pos] == '}')
        {
            _pos++;
            return table;
        }
        while (true)
        {
            SkipWhitespace();
            if (_pos < _text.Length && _text[_pos] is '\n' or '\r')
                throw Error("an inline table must be written on a single line");
            if (_pos < _text.Length && _text[_pos] == '}')
                throw Error("a trailing comma is not allowed in an inline table");
            ParseKeyValue(table, out _, out _);
            SkipWhitespace();
            if (_pos >= _text.Length) throw Error("expected ',' or '}' in inline table, found end of file");
            var c = _text[_pos];
            if (c == ',')
            {
                _pos++;
                continue;
            }
            if (c == '}')
            {
                _pos++;
                SealInline(table);
                return table;
            }
            if (c is '\n' or '\r') throw Error("an inline table must be written on a single line");
            throw Error($"expected ',' or '}}' in inline table, found {Describe(c)}");
        }
    }

    // Sub-tables made by dotted keys inside an inline table are closed along with it.
    private static void SealInline(TableBuilder table)
    {
        table.Kind = TableKind.Inline;
        foreach (var (value, _, _) in table.Entries.Values)
            if (value is TableBuilder { Kind: TableKind.Dotted } child) SealInline(child);
    }

    // ---------------------------------------------------------------- numbers, dates and times

    private static bool IsTokenChar(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' or '.' or '+' or '-' or ':';

    private object ParseNumberOrDate()
    {
        var start = _pos;
        while (_pos < _text.Length && IsTokenChar(_text[_pos])) _pos++;
        var token = _text.Substring(start, _pos - start);

        if (token.Length >= 5 && IsDigits(token, 0, 4) && token[4] == '-')
        {
            // A date may be followed by a space and a time ("1979-05-27 07:32:00").
            if (token.Length == 10 && _pos + 3 < _text.Length && _text[_pos] == ' '
                && char.IsAsciiDigit(_text[_pos + 1]) && char.IsAsciiDigit(_text[_pos + 2]) && _text[_pos + 3] == ':')
            {
                _pos++;
                var timeStart = _pos;
                while (_pos < _text.Length && IsTokenChar(_text[_pos])) _pos++;
                token = token + "T" + _text.Substring(timeStart, _pos - timeStart);
            }
            return ParseDateTime(token, start);
        }
        if (token.Length >= 3 && IsDigits(token, 0, 2) && token[2] == ':')
        {
            var time = ParseTime(token, 0, start, out var next);
            if (next != token.Length) throw Error(start, $"invalid local time \"{token}\"");
            return time;
        }
        return ParseNumber(token, start);
    }

    private static bool IsDigits(string s, int start, int count)
    {
        if (start + count > s.Length) return false;
        for (var i = start; i < start + count; i++)
            if (!char.IsAsciiDigit(s[i])) return false;
        return true;
    }

    private static int Digits(string s, int start, int count)
    {
        var v = 0;
        for (var i = start; i < start + count; i++) v = v * 10 + (s[i] - '0');
        return v;
    }

    private object ParseDateTime(string token, int offset)
    {
        if (token.Length < 10 || !IsDigits(token, 0, 4) || token[4] != '-' || !IsDigits(token, 5, 2) || token[7] != '-' || !IsDigits(token, 8, 2))
            throw Error(offset, $"invalid date \"{token}\" (expected YYYY-MM-DD)");
        var year = Digits(token, 0, 4);
        var month = Digits(token, 5, 2);
        var day = Digits(token, 8, 2);
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
            throw Error(offset, $"invalid date \"{token[..10]}\": no such day");
        var date = new DateOnly(year, month, day);
        if (token.Length == 10) return date;
        if (token[10] is not ('T' or 't'))
            throw Error(offset, $"invalid date-time \"{token}\"");
        var time = ParseTime(token, 11, offset, out var i);
        var local = date.ToDateTime(time, DateTimeKind.Unspecified);
        if (i == token.Length) return local;

        TimeSpan utcOffset;
        if (token[i] is 'Z' or 'z' && i + 1 == token.Length)
        {
            utcOffset = TimeSpan.Zero;
        }
        else if (token[i] is '+' or '-' && i + 6 == token.Length && IsDigits(token, i + 1, 2) && token[i + 3] == ':' && IsDigits(token, i + 4, 2))
        {
            var hours = Digits(token, i + 1, 2);
            var minutes = Digits(token, i + 4, 2);
            if (hours > 23 || minutes > 59) throw Error(offset, $"invalid time offset in \"{token}\"");
            utcOffset = new TimeSpan(hours, minutes, 0);
            if (token[i] == '-') utcOffset = -utcOffset;
        }
        else
        {
            throw Error(offset, $"invalid date-time \"{token}\" (expected an offset like Z or +02:00 after the time)");
        }
        try
        {
            return new DateTimeOffset(local, utcOffset);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw Error(offset, $"date-time \"{token}\" is outside the supported range (offsets up to ±14:00, years 1 to 9999 in UTC)");
        }
    }

    private TimeOnly ParseTime(string token, int i, int offset, out int next)
    {
        if (!IsDigits(token, i, 2) || i + 2 >= token.Length || token[i + 2] != ':' || !IsDigits(token, i + 3, 2)
            || i + 5 >= token.Length || token[i + 5] != ':' || !IsDigits(token, i + 6, 2))
            throw Error(offset, $"invalid time in \"{token}\" (expected HH:MM:SS)");
        var hour = Digits(token, i, 2);
        var minute = Digits(token, i + 3, 2);
        var second = Digits(token, i + 6, 2);
        if (hour > 23 || minute > 59 || second > 59)
            throw Error(offset, $"invalid time in \"{token}\": hours go to 23, minutes and seconds to 59");
        next = i + 8;
        long ticks = 0;
        if (next < token.Length && token[next] == '.')
        {
            next++;
            var digitsStart = next;
            while (next < token.Length && char.IsAsciiDigit(token[next])) next++;
            if (next == digitsStart) throw Error(offset, $"invalid time in \"{token}\": expected digits after '.'");
            // TimeOnly holds 100 ns ticks; further digits are truncated.
            for (var k = 0; k < 7; k++)
                ticks = ticks * 10 + (digitsStart + k < next ? token[digitsStart + k] - '0' : 0);
        }
        return new TimeOnly(hour, minute, second).Add(TimeSpan.FromTicks(ticks));
    }

    private object ParseNumber(string token, int offset)
    {
        var body = token.AsSpan();
        var negative = false;
        var signed = false;
        if (body.Length > 0 && body[0] is '+' or '-')
        {
            negative = body[0] == '-';
            signed = true;
            body = body[1..];
        }
        if (body.SequenceEqual("inf")) return negative ? double.NegativeInfinity : double.PositiveInfinity;
        if (body.SequenceEqual("nan")) return double.NaN;

        if (body.Length > 1 && body[0] == '0' && body[1] is 'x' or 'o' or 'b')
        {
            var radix = body[1] switch { 'x' => 16, 'o' => 8, _ => 2 };
            var name = body[1] switch { 'x' => "hexadecimal", 'o' => "octal", _ => "binary" };
            if (signed) throw Error(offset, $"{name} integers cannot have a sign");
            var digits = body[2..];
            if (!ValidDigitGroups(digits, c => HexValue(c) is var v && v >= 0 && v < radix))
                throw Error(offset, $"invalid {name} integer \"{token}\"");
            ulong value = 0;
            foreach (var c in digits)
            {
                if (c == '_') continue;
                var d = (ulong)HexValue(c);
                if (value > (ulong.MaxValue - d) / (ulong)radix) throw Error(offset, $"integer {token} does not fit in 64 bits");
                value = value * (ulong)radix + d;
            }
            if (value > long.MaxValue) throw Error(offset, $"integer {token} does not fit in 64 bits");
            return (long)value;
        }

        // Decimal integer or float: int-part [ '.' digits ] [ e [sign] digits ].
        var dot = body.IndexOf('.');
        var exp = body.IndexOfAny('e', 'E');
        var intEnd = dot >= 0 ? dot : exp >= 0 ? exp : body.Length;
        var intPart = body[..intEnd];
        if (!ValidDigitGroups(intPart, char.IsAsciiDigit))
            throw Error(offset, $"invalid number \"{token}\"");
        if (intPart.Length > 1 && intPart[0] == '0')
            throw Error(offset, $"invalid number \"{token}\": leading zeros are not allowed");
        if (dot < 0 && exp < 0)
        {
            var clean = negative ? "-" + body.ToString().Replace("_", "") : body.ToString().Replace("_", "");
            if (!long.TryParse(clean, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
                throw Error(offset, $"integer {token} does not fit in 64 bits");
            return integer;
        }
        if (dot >= 0)
        {
            var fracEnd = exp > dot ? exp : body.Length;
            if (exp >= 0 && exp < dot) throw Error(offset, $"invalid float \"{token}\"");
            if (!ValidDigitGroups(body[(dot + 1)..fracEnd], char.IsAsciiDigit))
                throw Error(offset, $"invalid float \"{token}\": a '.' must have digits on both sides");
        }
        if (exp >= 0)
        {
            var e = body[(exp + 1)..];
            if (e.Length > 0 && e[0] is '+' or '-') e = e[1..];
            if (!ValidDigitGroups(e, char.IsAsciiDigit))
                throw Error(offset, $"invalid float \"{token}\": bad exponent");
        }
        var text = body.ToString().Replace("_", "");
        return double.Parse(negative ? "-" + text : text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>Non-empty digits where every underscore sits between two digits.</summary>
    private static bool ValidDigitGroups(ReadOnlySpan<char> s, Func<char, bool> isDigit)
    {
        if (s.Length == 0) return false;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '_')
            {
                if (i == 0 || i == s.Length - 1 || s[i - 1] == '_' || !isDigit(s[i + 1])) return false;
            }
            else if (!isDigit(s[i]))
            {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- freezing

    private static TomlTable Freeze(TableBuilder table)
    {
        var count = table.Keys.Count;
        var keys = new string[count];
        var values = new object[count];
        var positions = new TomlPosition[count];
        var valuePositions = new TomlPosition[count];
        for (var i = 0; i < count; i++)
        {
            var key = table.Keys[i];
            var (value, position, valuePosition) = table.Entries[key];
            keys[i] = key;
            values[i] = FreezeValue(value);
            positions[i] = position;
            valuePositions[i] = valuePosition;
        }
        return new TomlTable(keys, values, positions, table.Position, valuePositions);
    }

    private static object FreezeValue(object value) => value switch
    {
        TableBuilder t => Freeze(t),
        ArrayBuilder a => new TomlArray([.. a.Items.Select(FreezeValue)], [.. a.Positions], a.Position),
        _ => value,
    };
}
