using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using static Microsoft.CodeAnalysis.CSharp.SyntaxFactory;

namespace ScriptFtp.Plugins;

/// <summary>
/// Rewrites a script that compiled cleanly so that <see cref="PluginGuard.Check"/> runs at the start of every method, local
/// function, lambda, anonymous method and accessor, and at every loop iteration and <c>goto</c>: runaway recursion then
/// throws an exception a handler can catch instead of overflowing the stack, and a loop that ignores <c>ctx.Cancel</c>
/// stops at the time limit.
/// <para>
/// No line break is ever added or removed, so line numbers in stack traces stay the script's. The inserted text goes at
/// the end of the line of the token before it (after an opening brace, an arrow, a loop's closing parenthesis), so
/// columns stay right too unless more code follows on that same line.
/// </para>
/// </summary>
internal sealed class PluginInstrumenter(SemanticModel model) : CSharpSyntaxRewriter
{
    // global:: so that nothing the script declares can hide it.
    private static readonly StatementSyntax Check =
        ParseStatement("global::ScriptFtp.Plugins.PluginGuard.Check();").WithLeadingTrivia(Space);

    /// <summary>The instrumented tree, with the same path and options as the one <paramref name="model"/> was built on.</summary>
    public static SyntaxTree Instrument(SemanticModel model) =>
        model.SyntaxTree.WithRootAndOptions(new PluginInstrumenter(model).Visit(model.SyntaxTree.GetRoot()), model.SyntaxTree.Options);

    // ---- bodies: a check on entry ----

    public override SyntaxNode? VisitMethodDeclaration(MethodDeclarationSyntax node) =>
        Member(node, base.VisitMethodDeclaration(node), Returns(model.GetDeclaredSymbol(node)));

    public override SyntaxNode? VisitConstructorDeclaration(ConstructorDeclarationSyntax node) =>
        Member(node, base.VisitConstructorDeclaration(node), returns: false);

    public override SyntaxNode? VisitOperatorDeclaration(OperatorDeclarationSyntax node) =>
        Member(node, base.VisitOperatorDeclaration(node), returns: true);

    public override SyntaxNode? VisitConversionOperatorDeclaration(ConversionOperatorDeclarationSyntax node) =>
        Member(node, base.VisitConversionOperatorDeclaration(node), returns: true);

    public override SyntaxNode? VisitAccessorDeclaration(AccessorDeclarationSyntax node)
    {
        var visited = (AccessorDeclarationSyntax)base.VisitAccessorDeclaration(node)!;
        return (visited.Body, visited.ExpressionBody) switch
        {
            ({ } body, _) => visited.WithBody(Guarded(body)),
            (_, { } arrow) => visited.WithExpressionBody(null).WithSemicolonToken(default)
                .WithBody(Block(arrow, node.IsKind(SyntaxKind.GetAccessorDeclaration), visited.SemicolonToken.TrailingTrivia)),
            _ => visited,
        };
    }

    public override SyntaxNode? VisitPropertyDeclaration(PropertyDeclarationSyntax node)
    {
        var visited = (PropertyDeclarationSyntax)base.VisitPropertyDeclaration(node)!;
        return visited.ExpressionBody is { } arrow
            ? visited.WithExpressionBody(null).WithSemicolonToken(default).WithAccessorList(Getter(arrow, visited.SemicolonToken))
            : visited;
    }

    public override SyntaxNode? VisitIndexerDeclaration(IndexerDeclarationSyntax node)
    {
        var visited = (IndexerDeclarationSyntax)base.VisitIndexerDeclaration(node)!;
        return visited.ExpressionBody is { } arrow
            ? visited.WithExpressionBody(null).WithSemicolonToken(default).WithAccessorList(Getter(arrow, visited.SemicolonToken))
            : visited;
    }

    public override SyntaxNode? VisitLocalFunctionStatement(LocalFunctionStatementSyntax node)
    {
        var visited = (LocalFunctionStatementSyntax)base.VisitLocalFunctionStatement(node)!;
        return (visited.Body, visited.ExpressionBody) switch
        {
            ({ } body, _) => visited.WithBody(Guarded(body)),
            (_, { } arrow) => visited.WithExpressionBody(null).WithSemicolonToken(default)
                .WithBody(Block(arrow, Returns(model.GetDeclaredSymbol(node) as IMethodSymbol), visited.SemicolonToken.TrailingTrivia)),
            _ => visited,
        };
    }

    public override SyntaxNode? VisitSimpleLambdaExpression(SimpleLambdaExpressionSyntax node) =>
        IsExpressionTree(node) ? node : Lambda(node, (AnonymousFunctionExpressionSyntax)base.VisitSimpleLambdaExpression(node)!);

    public override SyntaxNode? VisitParenthesizedLambdaExpression(ParenthesizedLambdaExpressionSyntax node) =>
        IsExpressionTree(node) ? node : Lambda(node, (AnonymousFunctionExpressionSyntax)base.VisitParenthesizedLambdaExpression(node)!);

    public override SyntaxNode? VisitAnonymousMethodExpression(AnonymousMethodExpressionSyntax node) =>
        IsExpressionTree(node) ? node : Lambda(node, (AnonymousFunctionExpressionSyntax)base.VisitAnonymousMethodExpression(node)!);

    // ---- loops: a check on every iteration ----

    public override SyntaxNode? VisitWhileStatement(WhileStatementSyntax node)
    {
        var visited = (WhileStatementSyntax)base.VisitWhileStatement(node)!;
        var (before, body) = Iteration(visited.CloseParenToken, visited.Statement);
        return visited.WithCloseParenToken(before).WithStatement(body);
    }

    public override SyntaxNode? VisitDoStatement(DoStatementSyntax node)
    {
        var visited = (DoStatementSyntax)base.VisitDoStatement(node)!;
        var (before, body) = Iteration(visited.DoKeyword, visited.Statement);
        return visited.WithDoKeyword(before).WithStatement(body);
    }

    public override SyntaxNode? VisitForStatement(ForStatementSyntax node)
    {
        var visited = (ForStatementSyntax)base.VisitForStatement(node)!;
        var (before, body) = Iteration(visited.CloseParenToken, visited.Statement);
        return visited.WithCloseParenToken(before).WithStatement(body);
    }

    public override SyntaxNode? VisitForEachStatement(ForEachStatementSyntax node)
    {
        var visited = (ForEachStatementSyntax)base.VisitForEachStatement(node)!;
        var (before, body) = Iteration(visited.CloseParenToken, visited.Statement);
        return visited.WithCloseParenToken(before).WithStatement(body);
    }

    public override SyntaxNode? VisitForEachVariableStatement(ForEachVariableStatementSyntax node)
    {
        var visited = (ForEachVariableStatementSyntax)base.VisitForEachVariableStatement(node)!;
        var (before, body) = Iteration(visited.CloseParenToken, visited.Statement);
        return visited.WithCloseParenToken(before).WithStatement(body);
    }

    /// <summary><c>goto L;</c> becomes <c>{ Check(); goto L; }</c>: a backward goto is a loop too.</summary>
    public override SyntaxNode? VisitGotoStatement(GotoStatementSyntax node) =>
        SyntaxFactory.Block(
            Token(node.GetLeadingTrivia(), SyntaxKind.OpenBraceToken, TriviaList()),
            List([Check, node.WithLeadingTrivia(Space).WithoutTrailingTrivia()]),
            Token(TriviaList(Space), SyntaxKind.CloseBraceToken, node.GetTrailingTrivia()));

    // ---- helpers ----

    private SyntaxNode? Member(BaseMethodDeclarationSyntax node, SyntaxNode? rewritten, bool returns)
    {
        var visited = (BaseMethodDeclarationSyntax)rewritten!;
        return (visited.Body, visited.ExpressionBody) switch
        {
            ({ } body, _) => visited.WithBody(Guarded(body)),
            (_, { } arrow) => visited.WithExpressionBody(null).WithSemicolonToken(default)
                .WithBody(Block(arrow, returns, visited.SemicolonToken.TrailingTrivia)),
            _ => visited,
        };
    }

    private SyntaxNode Lambda(AnonymousFunctionExpressionSyntax node, AnonymousFunctionExpressionSyntax visited) =>
        (visited.Block, visited.ExpressionBody) switch
        {
            ({ } block, _) => visited.WithBlock(Guarded(block)),
            (_, { } expression) when model.GetSymbolInfo(node).Symbol is IMethodSymbol method =>
                LambdaBlock(visited, expression, Returns(method)),
            _ => visited,
        };

    private static SyntaxNode LambdaBlock(AnonymousFunctionExpressionSyntax lambda, ExpressionSyntax expression, bool returns)
    {
        // x => expr  becomes  x => { Check(); return expr; }, with the arrow's line break (if any) before `return`.
        var arrow = ((LambdaExpressionSyntax)lambda).ArrowToken;
        var body = Block(TriviaList(Space), arrow.TrailingTrivia, expression, returns, expression.GetTrailingTrivia());
        return ((LambdaExpressionSyntax)lambda).WithArrowToken(arrow.WithTrailingTrivia()).WithExpressionBody(null).WithBlock(body);
    }

    /// <summary>Whether the lambda becomes an expression tree (LINQ providers), which cannot hold statements: left alone.</summary>
    private bool IsExpressionTree(AnonymousFunctionExpressionSyntax node)
    {
        for (var type = model.GetTypeInfo(node).ConvertedType; type is not null; type = type.BaseType)
            if (type.ToDisplayString() == "System.Linq.Expressions.Expression") return true;
        return false;
    }

    /// <summary>Whether an expression body is a value to return: not void, nor the body of an async method returning a plain Task.
    /// </summary>
    private static bool Returns(IMethodSymbol? method) =>
        method is not null && !method.ReturnsVoid && !(method.IsAsync && method.ReturnType is INamedTypeSymbol { Arity: 0 });

    /// <summary><c>{ body }</c> becomes <c>{ Check(); body }</c>, the check on the brace's line.</summary>
    private static BlockSyntax Guarded(BlockSyntax block) =>
        block.WithOpenBraceToken(block.OpenBraceToken.WithTrailingTrivia())
            .WithStatements(block.Statements.Insert(0, Check.WithTrailingTrivia(block.OpenBraceToken.TrailingTrivia)));

    /// <summary>A loop body: a block gets the check first; a single statement is wrapped in a block with the check before it.</summary>
    private static (SyntaxToken Before, StatementSyntax Body) Iteration(SyntaxToken before, StatementSyntax body) => body switch
    {
        BlockSyntax block => (before, Guarded(block)),
        _ => (before.WithTrailingTrivia(), SyntaxFactory.Block(
            Token(TriviaList(Space), SyntaxKind.OpenBraceToken, TriviaList()),
            List([Check.WithTrailingTrivia(before.TrailingTrivia), body.WithoutTrailingTrivia()]),
            Token(TriviaList(Space), SyntaxKind.CloseBraceToken, body.GetTrailingTrivia()))),
    };

    /// <summary>A member's <c>=&gt; expr;</c> as a block in the arrow's place; <paramref name="after"/> is the dropped semicolon's trivia.
    /// </summary>
    private static BlockSyntax Block(ArrowExpressionClauseSyntax arrow, bool returns, SyntaxTriviaList after) =>
        Block(arrow.ArrowToken.LeadingTrivia, arrow.ArrowToken.TrailingTrivia, arrow.Expression, returns,
            arrow.Expression.GetTrailingTrivia().AddRange(after));

    /// <summary><c>int P =&gt; expr;</c> as <c>int P { get { Check(); return expr; } }</c>.</summary>
    private static AccessorListSyntax Getter(ArrowExpressionClauseSyntax arrow, SyntaxToken semicolon)
    {
        var getter = AccessorDeclaration(SyntaxKind.GetAccessorDeclaration)
            .WithKeyword(Token(TriviaList(Space), SyntaxKind.GetKeyword, TriviaList()))
            .WithBody(Block(TriviaList(Space), arrow.ArrowToken.TrailingTrivia, arrow.Expression, returns: true, TriviaList()));
        return AccessorList(
            Token(arrow.ArrowToken.LeadingTrivia, SyntaxKind.OpenBraceToken, TriviaList()),
            List([getter]),
            Token(TriviaList(Space), SyntaxKind.CloseBraceToken, arrow.Expression.GetTrailingTrivia().AddRange(semicolon.TrailingTrivia)));
    }

    /// <summary>
    /// <c>{ Check(); return expr; }</c> (or <c>expr;</c>, or <c>throw …;</c>): <paramref name="lead"/> before the brace,
    /// <paramref name="gap"/> (the arrow's trailing trivia, often a line break) before the statement, <paramref name="tail"/>
    /// after the closing brace. The statement starts where the expression did, so a stack trace points at the same place.
    /// </summary>
    private static BlockSyntax Block(SyntaxTriviaList lead, SyntaxTriviaList gap, ExpressionSyntax expression, bool returns,
        SyntaxTriviaList tail)
    {
        var before = gap.AddRange(expression.GetLeadingTrivia());
        var bare = expression.WithoutTrivia();
        var semicolon = Token(SyntaxKind.SemicolonToken);
        StatementSyntax statement = bare switch
        {
            ThrowExpressionSyntax thrown =>
                ThrowStatement(default, thrown.ThrowKeyword.WithLeadingTrivia(before), thrown.Expression, semicolon),
            _ when returns => ReturnStatement(default, Token(before, SyntaxKind.ReturnKeyword, TriviaList(Space)), bare, semicolon),
            _ => ExpressionStatement(default, bare.WithLeadingTrivia(before), semicolon),
        };
        return SyntaxFactory.Block(
            Token(lead, SyntaxKind.OpenBraceToken, TriviaList()),
            List([Check, statement]),
            Token(TriviaList(Space), SyntaxKind.CloseBraceToken, tail));
    }
}
