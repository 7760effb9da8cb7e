using Tomlyn.Syntax;

namespace ScriptFtp.Toml;

/// <summary>
/// The text between statements of a syntax tree. Tomlyn hangs the blank lines, comment lines and indentation that
/// follow a statement on that statement's end-of-line token, and what precedes the first statement on that statement.
/// <see cref="Normalize"/> moves the latter onto the document, so that every gap has one owner: the statement before
/// it, or the document for the first gap. A gap is a run of lines (ending with a newline) followed by a partial line:
/// the indentation of the next statement, or what ends the file without a newline.
/// </summary>
internal static class TomlGaps
{
    /// <summary>Gives the text before the first statement to the document (no change to the text).</summary>
    public static void Normalize(DocumentSyntax tree)
    {
        SyntaxNode? first = tree.KeyValues.ChildrenCount > 0 ? tree.KeyValues.GetChild(0)
            : tree.Tables.ChildrenCount > 0 ? tree.Tables.GetChild(0)
            : null;
        if (first is null)
        {
            tree.LeadingTrivia = Concat(tree.LeadingTrivia, tree.TrailingTrivia);
            tree.TrailingTrivia = null;
            return;
        }
        tree.LeadingTrivia = Concat(tree.LeadingTrivia, first.LeadingTrivia);
        first.LeadingTrivia = null;
    }

    /// <summary>Statements in text order: top-level key/values, then each table header followed by its key/values.</summary>
    public static List<SyntaxNode> Statements(DocumentSyntax tree)
    {
        var statements = new List<SyntaxNode>(tree.KeyValues.ChildrenCount + tree.Tables.ChildrenCount * 6);
        foreach (var keyValue in tree.KeyValues)
            statements.Add(keyValue);
        foreach (var table in tree.Tables)
        {
            statements.Add(table);
            foreach (var keyValue in table.Items)
                statements.Add(keyValue);
        }
        return statements;
    }

    /// <summary>The statement before <paramref name="statement"/>, or null for the first.</summary>
    public static SyntaxNode? Previous(DocumentSyntax tree, SyntaxNode statement)
    {
        var statements = Statements(tree);
        var index = statements.IndexOf(statement);
        return index > 0 ? statements[index - 1] : null;
    }

    /// <summary>The gap after <paramref name="statement"/> (null: the start of the document), created empty if absent.</summary>
    public static List<SyntaxTrivia> After(DocumentSyntax tree, SyntaxNode? statement)
    {
        if (statement is null)
            return tree.LeadingTrivia ??= [];
        // The last line of a file may end without a newline; whatever follows it then hangs on the document.
        return EndOfLine(statement) is { TokenKind: TokenKind.NewLine } newline
            ? newline.TrailingTrivia ??= []
            : tree.TrailingTrivia ??= [];
    }

    /// <summary>Detaches and returns the gap after <paramref name="statement"/>.</summary>
    public static List<SyntaxTrivia> Take(DocumentSyntax tree, SyntaxNode? statement)
    {
        var gap = After(tree, statement);
        Set(tree, statement, []);
        return gap;
    }

    /// <summary>Replaces the gap after <paramref name="statement"/>; it must end its line first (<see cref="EndLine"/>).</summary>
    public static void Set(DocumentSyntax tree, SyntaxNode? statement, List<SyntaxTrivia> gap)
    {
        if (statement is null)
            tree.LeadingTrivia = gap;
        else if (EndOfLine(statement) is { TokenKind: TokenKind.NewLine } newline)
            newline.TrailingTrivia = gap;
        else
            tree.TrailingTrivia = gap;
    }

    /// <summary>Makes sure <paramref name="statement"/> ends with a newline, so that another statement can follow it.</summary>
    public static void EndLine(DocumentSyntax tree, SyntaxNode statement, string newline)
    {
        if (EndOfLine(statement) is { TokenKind: TokenKind.NewLine })
            return;
        var token = new SyntaxToken(TokenKind.NewLine, newline) { TrailingTrivia = tree.TrailingTrivia };
        tree.TrailingTrivia = null;
        switch (statement)
        {
            case KeyValueSyntax keyValue:
                keyValue.EndOfLineToken = token;
                break;
            case TableSyntaxBase table:
                table.EndOfLineToken = token;
                break;
            default:
                throw new ArgumentException($"not a statement: {statement.Kind}", nameof(statement));
        }
    }

    private static SyntaxToken? EndOfLine(SyntaxNode statement) => statement switch
    {
        KeyValueSyntax keyValue => keyValue.EndOfLineToken,
        TableSyntaxBase table => table.EndOfLineToken,
        _ => throw new ArgumentException($"not a statement: {statement.Kind}", nameof(statement)),
    };

    /// <summary>
    /// Splits a gap before a statement into what stays when the statement goes and what goes with it: the comment
    /// lines directly above it (no blank line between) and its indentation.
    /// </summary>
    public static (List<SyntaxTrivia> Detached, List<SyntaxTrivia> Attached) SplitAttached(List<SyntaxTrivia> gap)
    {
        var lines = Lines(gap);
        var start = lines.Count - 1;
        while (start > 0 && lines[start - 1].Any(t => t.Kind == TokenKind.Comment))
            start--;
        return ([.. lines.Take(start).SelectMany(l => l)], [.. lines.Skip(start).SelectMany(l => l)]);
    }

    /// <summary>The complete lines of a gap, without the partial line at its end.</summary>
    public static List<SyntaxTrivia> FullLines(List<SyntaxTrivia> gap) => [.. Lines(gap).SkipLast(1).SelectMany(l => l)];

    /// <summary>The partial line at the end of a gap (the indentation of the statement that follows).</summary>
    public static List<SyntaxTrivia> PartialLine(List<SyntaxTrivia> gap) =>
        [.. Lines(gap)[^1].Select(t => new SyntaxTrivia(t.Kind, t.Text ?? ""))];

    /// <summary>Whether the text that ends with this gap ends with a blank line (the statement before ends with a newline).</summary>
    public static bool EndsWithBlankLine(List<SyntaxTrivia> gap)
    {
        var newlines = 0;
        for (var i = gap.Count - 1; i >= 0 && gap[i].Kind == TokenKind.NewLine; i--)
            newlines++;
        if (newlines < gap.Count)
            return newlines >= 2;
        return newlines > 0;
    }

    // Full lines each end with a newline; the last entry is the partial line, possibly empty.
    private static List<List<SyntaxTrivia>> Lines(List<SyntaxTrivia> gap)
    {
        var lines = new List<List<SyntaxTrivia>> { new() };
        foreach (var trivia in gap)
        {
            lines[^1].Add(trivia);
            if (trivia.Kind == TokenKind.NewLine)
                lines.Add([]);
        }
        return lines;
    }

    private static List<SyntaxTrivia>? Concat(List<SyntaxTrivia>? first, List<SyntaxTrivia>? second) =>
        first is null ? second : second is null ? first : [.. first, .. second];
}
