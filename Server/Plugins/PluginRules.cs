using System.Collections.Frozen;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace ScriptFtp.Plugins;

/// <summary>
/// What a plugin may not do because no handler could catch the fault: it would end the whole server process (an exception
/// on a thread of its own, an <c>async void</c>, <c>Environment.Exit</c>…). Checked on the script's semantic model when it
/// loads; each finding is an error with its position and what to use instead, and the plugin is not loaded. A plugin is the
/// administrator's own code: these rules catch bugs, they are no sandbox (docs/plugins.md, "What protects the server").
/// </summary>
internal static class PluginRules
{
    private const string UseTaskRun = "use Task.Run instead (an exception there stays in its task)";
    private const string UseHandler = "do the work inside a handler instead (await Task.Delay(time, ctx.Cancel) waits without a thread)";
    private const string UseReply = "return a reply instead (or throw: the client gets 451)";

    /// <summary>Every refused construct of the script, as <c>plugins/NAME.csx(line,col): error: what; what instead</c>.</summary>
    public static ImmutableArray<string> Check(SemanticModel model, string display) =>
    [
        .. model.SyntaxTree.GetRoot().DescendantNodes()
            .Select(node => (Node: node, Reason: Refusal(model, node)))
            .Where(found => found.Reason is not null)
            .Select(found => $"{display}{Position(found.Node)}: error: {found.Reason}"),
    ];

    private static string Position(SyntaxNode node)
    {
        // For A.B.C(), point at A: where the expression starts, as compilers do.
        var at = node.Parent is MemberAccessExpressionSyntax access && access.Name == node ? access : node;
        var start = at.GetLocation().GetLineSpan().StartLinePosition;
        return $"({start.Line + 1},{start.Character + 1})";
    }

    // Asking the semantic model about every name would cost more than compiling the script; only these names can be refused.
    private static readonly FrozenSet<string> Suspects = FrozenSet.Create(StringComparer.Ordinal,
        "Exit", "FailFast", "Kill", "QueueUserWorkItem", "UnsafeQueueUserWorkItem", "UnsafeQueueNativeOverlapped",
        "RegisterWaitForSingleObject", "UnsafeRegisterWaitForSingleObject", "Register", "UnsafeRegister", "CreateTimer", "OnCompleted",
        "UnsafeOnCompleted", "Marshal", "NativeMemory", "Unsafe");

    private static string? Refusal(SemanticModel model, SyntaxNode node) => node switch
    {
        SimpleNameSyntax name when Suspects.Contains(name.Identifier.ValueText) => Member(model, name),
        ObjectCreationExpressionSyntax { Type: var type } creation when type.GetLastToken().ValueText is "Thread" or "Timer" =>
            Creation(model.GetSymbolInfo(creation).Symbol?.ContainingType),
        ImplicitObjectCreationExpressionSyntax creation => Creation(model.GetSymbolInfo(creation).Symbol?.ContainingType),
        MethodDeclarationSyntax method => Declared(model.GetDeclaredSymbol(method), method.Modifiers, "method"),
        LocalFunctionStatementSyntax function =>
            Declared(model.GetDeclaredSymbol(function) as IMethodSymbol, function.Modifiers, "local function"),
        AnonymousFunctionExpressionSyntax { AsyncKeyword.RawKind: (int)SyntaxKind.AsyncKeyword } lambda
            when model.GetTypeInfo(lambda).ConvertedType is INamedTypeSymbol { DelegateInvokeMethod.ReturnsVoid: true } type =>
            $"this async lambda becomes an async void {type.Name}: an exception in it would end the server process; " +
            "make it return a Task (e.g. Func<Task>) and await it instead",
        DestructorDeclarationSyntax =>
            "a finalizer runs on the finalizer thread, where an exception ends the server process; " +
            "implement IDisposable and use `using` instead",
        StackAllocArrayCreationExpressionSyntax { Type: ArrayTypeSyntax { RankSpecifiers: [{ Sizes: [var size] }] } }
            when model.GetConstantValue(size) is not { HasValue: true, Value: int and <= 1024 } =>
            "stackalloc of more than 1024 elements, or of a size known only at run time, can overflow the stack, which ends the " +
            "server process; use an array (or ArrayPool<T>.Shared) instead",
        _ => null,
    };

    private static string? Declared(IMethodSymbol? method, SyntaxTokenList modifiers, string kind) =>
        modifiers.Any(SyntaxKind.ExternKeyword)
            ? $"extern {kind} {method?.Name}: a fault in native code ends the server process, no handler can catch it; " +
              "use a .NET API instead"
            : modifiers.Any(SyntaxKind.AsyncKeyword) && method is { ReturnsVoid: true }
                ? $"async void {kind} {method.Name}: an exception in it would end the server process; " +
                  "declare it async Task and await it instead"
                : null;

    private static string? Creation(INamedTypeSymbol? type) => type?.ToDisplayString() switch
    {
        "System.Threading.Thread" => $"new Thread: an exception on a thread the plugin starts would end the server process; {UseTaskRun}",
        "System.Threading.Timer" =>
            "a System.Threading.Timer callback that throws would end the server process, and the timer outlives the handler; " +
            UseHandler,
        "System.Timers.Timer" =>
            "a System.Timers.Timer runs its Elapsed handler outside any handler's time limit, hides its exceptions, and keeps old " +
            $"plugin code running after a reload; {UseHandler}",
        _ => null,
    };

    private static string? Member(SemanticModel model, SimpleNameSyntax name)
    {
        var info = model.GetSymbolInfo(name);
        var symbol = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
        if (symbol is INamedTypeSymbol raw && raw.ToDisplayString() is "System.Runtime.InteropServices.Marshal"
                or "System.Runtime.InteropServices.NativeMemory" or "System.Runtime.CompilerServices.Unsafe")
            return $"{raw.Name} reads and writes memory unchecked, and a mistake crashes the server process; " +
                "use arrays, Span<T> or Memory<T> instead";
        if (symbol is not { ContainingType: { } type } member) return null;
        return (Type: type.ToDisplayString(), member.Name) switch
        {
            ("System.Environment", "Exit" or "FailFast") =>
                $"Environment.{member.Name} would stop the whole server and every session; {UseReply}",
            ("System.Diagnostics.Process", "Kill")
                when IsServerProcess(model, (name.Parent as MemberAccessExpressionSyntax)?.Expression, 0) =>
                $"Process.Kill on the server's own process would stop every session; {UseReply}",
            ("System.Threading.ThreadPool", var method) when method.Contains("Queue") || method.Contains("Register") =>
                $"ThreadPool.{method}: an exception in its callback would end the server process; {UseTaskRun}",
            ("System.Threading.CancellationToken", "Register" or "UnsafeRegister") =>
                "a CancellationToken.Register callback that throws ends the server process when the time limit cancels the token; " +
                "pass ctx.Cancel to the calls that take a token, or check ctx.Cancel.IsCancellationRequested, instead",
            ("System.TimeProvider", "CreateTimer") =>
                $"TimeProvider.CreateTimer: a timer callback that throws would end the server process; {UseHandler}",
            (_, "OnCompleted" or "UnsafeOnCompleted") when type.AllInterfaces.Any(i => i.Name == "INotifyCompletion") =>
                $"{member.Name}: an exception in the continuation would end the server process; await the task instead",
            _ => null,
        };
    }

    /// <summary>Whether the expression is the server's process: Process.GetCurrentProcess(), or a variable set from it.</summary>
    private static bool IsServerProcess(SemanticModel model, ExpressionSyntax? expression, int depth) => expression switch
    {
        ParenthesizedExpressionSyntax inner => IsServerProcess(model, inner.Expression, depth),
        InvocationExpressionSyntax call => model.GetSymbolInfo(call).Symbol is IMethodSymbol method
            && method.ContainingType.ToDisplayString() == "System.Diagnostics.Process"
            && (method.Name == "GetCurrentProcess" || (method.Name == "GetProcessById" && call.ArgumentList.Arguments is [var id]
                && model.GetSymbolInfo(id.Expression).Symbol is IPropertySymbol { Name: "ProcessId" })),
        // A local, or a script's top-level variable (which is a field), set from one of the above.
        IdentifierNameSyntax variable when depth < 8 => model.GetSymbolInfo(variable).Symbol is ILocalSymbol or IFieldSymbol
            && model.GetSymbolInfo(variable).Symbol!.DeclaringSyntaxReferences.Any(r =>
                r.GetSyntax() is VariableDeclaratorSyntax { Initializer.Value: var value } && IsServerProcess(model, value, depth + 1)),
        _ => false,
    };
}
