using System.Runtime;
using System.Text;
using System.Text.RegularExpressions;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace ScriptFtp.Toml;

/// <summary>The edge to Tomlyn: text to a validated syntax tree, positions, key names and UTF-8 decoding.</summary>
internal static partial class TomlSyntax
{
    public const char ByteOrderMark = '\uFEFF';

    /// <summary>
    /// Parses and validates a document (TOML 1.1) and binds its model. Tomlyn keeps no byte order mark in the tree:
    /// a caller that writes the text back restores it.
    /// </summary>
    /// <exception cref="TomlException">The first error: a syntax error, or a key or table defined twice.</exception>
    public static (DocumentSyntax Tree, TomlTable Model) Read(string text, string sourceName) =>
        WithoutCollections(text.Length, () => ReadCore(text, sourceName));

    /// <summary>
    /// Parses the text of a document that was read before (so it is valid), for editing: no model is bound.
    /// </summary>
    public static DocumentSyntax ParseAgain(string text, string sourceName)
    {
        var tree = ParseWithLongFractions(text, sourceName);
        if (tree.HasErrors)
            throw new InvalidOperationException($"{sourceName} no longer parses: {tree.Diagnostics}");
        return tree;
    }

    private static (DocumentSyntax Tree, TomlTable Model) ReadCore(string text, string sourceName)
    {
        var tree = ParseWithLongFractions(text, sourceName);
        if (!tree.HasErrors)
            return (tree, TomlBinder.Bind(tree, sourceName));
        var first = tree.Diagnostics.First(d => d.Kind == DiagnosticMessageKind.Error);
        var error = new TomlException(sourceName, Position(first.Span), first.Message);
        throw OurReason(tree, sourceName, error) ?? error;
    }

    // Tomlyn's message for a key defined twice quotes the whole first definition, a users table with its password
    // hash included; the binder names the key only. Its error wins when it is on the same line or earlier.
    private static TomlException? OurReason(DocumentSyntax tree, string sourceName, TomlException tomlyn)
    {
        try
        {
            TomlBinder.Bind(tree, sourceName);
            return null;
        }
        catch (TomlException ours) when (ours.Position.Line <= tomlyn.Position.Line)
        {
            return ours;
        }
        catch (Exception e) when (e is TomlException or InvalidOperationException or ArgumentException)
        {
            return null; // a tree broken by a syntax error: Tomlyn's message says what is wrong
        }
    }

    // Nearly all that Tomlyn allocates for a document is its syntax tree, which lives on while the document is read: a
    // collection meanwhile copies almost all of it. Reading a users.toml with 10,000 users (126 MB allocated) took 0.25 to
    // 0.6 s that way and 0.12 to 0.19 s with collections held off (bench/TomlBench). After the region the tree is garbage
    // or moved once by the next collection. Best effort: another region under way, or a GC.Collect elsewhere, ends it.
    private static T WithoutCollections<T>(int length, Func<T> work)
    {
        const int BigDocument = 256 * 1024;
        const long BytesPerCharacter = 64; // the tree and the model: about 54 bytes a character
        bool held;
        try
        {
            held = length >= BigDocument && GC.TryStartNoGCRegion(Math.Min(length * BytesPerCharacter, 1L << 30));
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException)
        {
            held = false;
        }
        try
        {
            return work();
        }
        finally
        {
            if (held && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                try { GC.EndNoGCRegion(); }
                catch (InvalidOperationException) { } // a collection ended the region meanwhile
            }
        }
    }

    // Validation is what catches a key or a table defined twice; Tomlyn's model route accepts both.
    private static DocumentSyntax Parse(string text, string sourceName) => SyntaxParser.Parse(text, sourceName, validate: true);

    // Tomlyn 2.10.2 rejects a time with more than 7 fractional digits ("07:32:00.123456789"); TOML allows any number and
    // asks to truncate what an implementation cannot hold. Such literals are parsed again cut to 100 ns (all .NET holds)
    // and their tokens get their text back, so that the document still writes out unchanged.
    private static DocumentSyntax ParseWithLongFractions(string text, string sourceName)
    {
        var tree = Parse(text, sourceName);
        var errors = tree.Diagnostics.Where(d => d.Kind == DiagnosticMessageKind.Error).ToList();
        if (errors.Count == 0 || !errors.All(e => LongFraction().IsMatch(Literal(text, e.Span))))
            return tree;
        var patched = new StringBuilder(text.Length);
        var originals = new Dictionary<int, string>();
        var copied = 0;
        foreach (var span in errors.Select(e => e.Span).OrderBy(s => s.Offset))
        {
            patched.Append(text, copied, span.Offset - copied);
            var literal = Literal(text, span);
            originals[patched.Length] = literal;
            patched.Append(LongFraction().Replace(literal, "$1$2"));
            copied = span.Offset + literal.Length;
        }
        patched.Append(text, copied, text.Length - copied);
        tree = Parse(patched.ToString(), sourceName);
        foreach (var value in tree.Descendants().OfType<DateTimeValueSyntax>())
        {
            if (originals.TryGetValue(value.Span.Start.Offset, out var original))
                value.Token!.Text = original;
        }
        return tree;
    }

    private static string Literal(string text, SourceSpan span) =>
        span.Offset >= 0 && span.Offset + span.Length <= text.Length ? text.Substring(span.Offset, span.Length) : "";

    [GeneratedRegex(@"^((?:\d{4}-\d\d-\d\d[Tt ])?\d\d:\d\d:\d\d\.\d{7})\d+((?:[Zz]|[+-]\d\d:\d\d)?)$")]
    private static partial Regex LongFraction();

    /// <summary>Where a parsed node starts; <c>default</c> for a node built by an edit (it has no place in any text yet).</summary>
    public static TomlPosition PositionOf(SyntaxNodeBase node) => node.Span.FileName is null ? default : Position(node.Span);

    private static TomlPosition Position(SourceSpan span) => new(span.Start.Line + 1, span.Start.Column + 1);

    /// <summary>The name a key part stands for (a bare key, or a quoted key decoded).</summary>
    public static string Name(BareKeyOrStringValueSyntax? key) => key switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? throw new InvalidOperationException("a bare key without text"),
        StringValueSyntax quoted => quoted.Value ?? throw new InvalidOperationException("a quoted key without value"),
        _ => throw new InvalidOperationException("a key part is missing"),
    };

    /// <summary>The parts of a (possibly dotted) key with the node of each, for positions.</summary>
    public static List<(string Name, SyntaxNode Node)> Parts(KeySyntax key)
    {
        var parts = new List<(string, SyntaxNode)>(1 + key.DotKeys.ChildrenCount) { (Name(key.Key), key.Key!) };
        foreach (var dotted in key.DotKeys)
            parts.Add((Name(dotted.Key), dotted.Key!));
        return parts;
    }

    /// <summary>A key as TOML writes it: bare when it can be, quoted otherwise.</summary>
    public static string FormatKey(string key) =>
        BareKeySyntax.IsBareKey(key) ? key : new StringValueSyntax(key).ToString();

    /// <summary>A dotted path as written in a header, e.g. <c>users."bob smith"</c>.</summary>
    public static string FormatPath(IEnumerable<string> path) => string.Join('.', path.Select(FormatKey));

    /// <summary>A key node for a path, built part by part: <c>users.carol</c>, never the quoted name <c>"users.carol"</c>.</summary>
    public static KeySyntax Key(IReadOnlyList<string> path)
    {
        var key = new KeySyntax(path[0]);
        foreach (var part in path.Skip(1))
            key.DotKeys.Add(new DottedKeyItemSyntax(part));
        return key;
    }

    /// <summary>Strict UTF-8 decoding that reports the position of the first bad byte.</summary>
    /// <exception cref="TomlException">The bytes are not valid UTF-8.</exception>
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
                if (bytes[i] != (byte)'\n') continue;
                line++;
                lineStart = i + 1;
            }
            var column = Encoding.UTF8.GetCharCount(bytes, lineStart, bad - lineStart) + 1;
            throw new TomlException(sourceName, new TomlPosition(line, column), "the file is not valid UTF-8");
        }
    }
}
