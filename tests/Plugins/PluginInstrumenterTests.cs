using System.Diagnostics;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Scripting;
using ScriptFtp.Plugins;
using ScriptFtp.Toml;

namespace ScriptFtp.Tests.Plugins;

/// <summary>
/// The compile-time instrumentation: where the checks go, that the result compiles, and that positions stay the script's.
/// </summary>
[TestFixture]
public sealed class PluginInstrumenterTests
{
    private const string Check = " global::ScriptFtp.Plugins.PluginGuard.Check();";

    // What each construct becomes; ✓ stands for the check. Every case stays on its lines.
    private static readonly (string Code, string Expected)[] Cases =
    [
        ("int Fib(int n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);", "int Fib(int n) {✓ return n < 2 ? n : Fib(n - 1) + Fib(n - 2); }"),
        ("int Fact(int n)\n{\n    return n <= 1 ? 1 : n * Fact(n - 1);\n}",
            "int Fact(int n)\n{✓\n    return n <= 1 ? 1 : n * Fact(n - 1);\n}"),
        ("void Say() => Console.WriteLine(1);", "void Say() {✓ Console.WriteLine(1); }"),
        ("async Task Later() => await Task.Delay(1);", "async Task Later() {✓ await Task.Delay(1); }"),
        ("async Task<int> Value() => await Task.FromResult(1);", "async Task<int> Value() {✓ return await Task.FromResult(1); }"),
        ("int P => 42;", "int P { get {✓ return 42; } }"),
        ("int Q { get => 1; set => Console.WriteLine(value); }", "int Q { get {✓ return 1; } set {✓ Console.WriteLine(value); } }"),
        ("int this[int i] => i;", "int this[int i] { get {✓ return i; } }"),
        ("class C { public C() => Console.WriteLine(); public static C operator +(C a, C b) => a; }",
            "class C { public C() {✓ Console.WriteLine(); } public static C operator +(C a, C b) {✓ return a; } }"),
        ("class D { public override string ToString() => throw new NotImplementedException(); }",
            "class D { public override string ToString() {✓ throw new NotImplementedException(); } }"),
        ("Func<int, int> f = x => x + 1;", "Func<int, int> f = x => {✓ return x + 1; };"),
        ("Func<int, int> g = x =>\n    x * 2;", "Func<int, int> g = x => {✓\n    return x * 2; };"),
        ("Action a = () => Console.WriteLine();", "Action a = () => {✓ Console.WriteLine(); };"),
        ("Action b = () => throw new Exception();", "Action b = () => {✓ throw new Exception(); };"),
        ("Func<Task> h = async () => await Task.Yield();", "Func<Task> h = async () => {✓ await Task.Yield(); };"),
        ("Action d = delegate { Console.WriteLine(); };", "Action d = delegate {✓ Console.WriteLine(); };"),
        ("System.Linq.Expressions.Expression<Func<int, int>> e = x => x + 1;",
            "System.Linq.Expressions.Expression<Func<int, int>> e = x => x + 1;"),
        ("var n = 0;\nwhile (n < 3) n++;", "var n = 0;\nwhile (n < 3) {✓ n++; }"),
        ("var n = 0;\nwhile (n < 3)\n    n++;", "var n = 0;\nwhile (n < 3) {✓\n    n++; }"),
        ("var n = 0;\ndo n++; while (n < 3);", "var n = 0;\ndo {✓ n++; } while (n < 3);"),
        ("for (var i = 0; i < 3; i++) { }", "for (var i = 0; i < 3; i++) {✓ }"),
        ("foreach (var x in new[] { 1 }) Console.Write(x);", "foreach (var x in new[] { 1 }) {✓ Console.Write(x); }"),
        ("foreach (var (u, v) in new[] { (1, 2) }) { }", "foreach (var (u, v) in new[] { (1, 2) }) {✓ }"),
        ("again:\nif (DateTime.Now.Year < 2000) goto again;", "again:\nif (DateTime.Now.Year < 2000) {✓ goto again; }"),
        ("switch (DateTime.Now.Year) { case 1: goto case 2; case 2: break; }",
            "switch (DateTime.Now.Year) { case 1: {✓ goto case 2; } case 2: break; }"),
        ("ref int First(int[] xs) => ref xs[0];", "ref int First(int[] xs) {✓ return ref xs[0]; }"),
        ("IEnumerable<int> Ones() { while (true) yield return 1; }", "IEnumerable<int> Ones() {✓ while (true) {✓ yield return 1; } }"),
    ];

    private static IEnumerable<TestCaseData> CaseData() =>
        Cases.Select(c => new TestCaseData(c.Code, c.Expected).SetArgDisplayNames(c.Code.Split('\n')[^1]));

    [TestCaseSource(nameof(CaseData))]
    public void Each_body_and_loop_gets_a_check(string code, string expected) =>
        Instrument(code).ShouldBe(expected.Replace("✓", Check));

    [Test]
    public void Less_common_constructs_still_compile()
    {
        // Instrument throws if the instrumented script has errors; the checks must be there too.
        var code = """
            var f = int (int x) => x;
            Func<int, int> g = static x => x * 2;
            Func<ValueTask<int>> v = async () => await Task.FromResult(1);
            Func<int, int, int> discard = (_, _) => 1;
            static T Id<T>(T x) => x;
            record Point(int X, int Y) { public int Sum => X + Y; public Point Twice() => this with { X = X * 2 }; }
            struct Pair { public int A; public int B; public Pair(int a) { A = a; B = 0; } public readonly int Max => Math.Max(A, B); }
            class Holder
            {
                private int _x;
                private readonly Func<int> _read;
                public Holder() => _read = () => _x;
                public int X { get => _x; init => _x = value; }
                public int this[int i] { get { return i + _x; } set { _x = value; } }
                public event Action Changed { add => _read(); remove { } }
                public static explicit operator int(Holder h) => h._x;
            }
            IEnumerable<int> Take(int n) { for (var i = 0; ; i++) { if (i == n) yield break; yield return i; } }
            var total = 0;
            foreach (var i in Take(5))
            {
                switch (i) { case 1: continue; case 2: total += checked(i * 2); break; default: total += i; break; }
                lock (Name) total++;
            }
            Func<int, bool> nested = x => new[] { x }.AsQueryable().Any(y => y > 0);
            """;
        Instrument(code).Split('\n').Length.ShouldBe(code.Split('\n').Length);
        Instrument(code).ShouldContain("Take(int n) {" + Check + " for (var i = 0; ; i++) {" + Check + " if");
    }

    [Test]
    public void No_token_of_the_shipped_plugins_moves_to_another_line()
    {
        foreach (var (name, code) in PluginTestServer.ShippedPlugins())
        {
            var original = Tokens(code);
            var instrumented = Tokens(Instrument(code));
            instrumented.Count.ShouldBeGreaterThan(original.Count, $"{name} got no checks");
            // The instrumented tokens hold the original ones in order, each on its old line; the rest are the inserted ones.
            var next = 0;
            // A member's => becomes the { of its new body: the one token that goes.
            foreach (var token in original.Where(t => !(t.IsKind(SyntaxKind.EqualsGreaterThanToken)
                && t.Parent is ArrowExpressionClauseSyntax)))
            {
                while (next < instrumented.Count && !(instrumented[next].IsKind(token.Kind()) && instrumented[next].Text == token.Text))
                    next++;
                next.ShouldBeLessThan(instrumented.Count, $"{name}: {token} is missing");
                Line(instrumented[next]).ShouldBe(Line(token), $"{name}: {token}");
                next++;
            }
        }
    }

    // Where a script that fails while loading says it failed: the same place with and without the checks.
    [TestCase("void Fail(string why)\n{\n    throw new InvalidOperationException(why);\n}\nFail(\"loaded\");", "(3,5)")]
    [TestCase("Func<int, int> f = n =>\n    n > 0 ? throw new InvalidOperationException(\"positive\") : n;\nf(1);", "(2,5)")]
    [TestCase("int Twice(int n) =>\n        n > 0 ? throw new InvalidOperationException(\"positive\") : n;\nTwice(1);", "(2,9)")]
    public async Task A_runtime_error_in_instrumented_code_keeps_its_line_and_column(string code, string position)
    {
        var script = PluginCompiler.Compile("lines", "/plugins/lines.csx", "plugins/lines.csx", code);
        script.Errors.ShouldBeEmpty();
        var globals = new PluginGlobals("lines", TomlTable.Empty, PluginLog.For(Serilog.Core.Logger.None, "lines"));
        var context = new PluginLoadContext("lines");
        try
        {
            var failure = await Should.ThrowAsync<InvalidOperationException>(
                () => PluginLoader.Run(script, context, globals, TimeSpan.FromSeconds(10)));
            Frame(failure).ShouldBe(position);
        }
        finally
        {
            context.Unload();
        }
    }

    [Test]
    public void Warnings_and_errors_point_into_the_script_as_written()
    {
        // The check goes in before `int`, on the same line: a position taken from the instrumented text would be 47 columns off.
        var warned = PluginCompiler.Compile("w", "/plugins/w.csx", "plugins/w.csx",
            """AddCommand("W", Access.Anyone, "W", "", ctx => { int unused; return ctx.Reply(200, "w"); });""");
        warned.Errors.ShouldBeEmpty();
        warned.Warnings.ShouldBe(["plugins/w.csx(1,54): warning CS0168: The variable 'unused' is declared but never used"]);

        // A script that does not compile gets the compiler's errors, even when it also holds something the rules refuse.
        var broken = PluginCompiler.Compile("b", "/plugins/b.csx", "plugins/b.csx",
            """AddCommand("B", Access.Anyone, "B", "", ctx => { Environment.Exit(1); return ctx.Reply(200, mesage); });""");
        broken.Errors.ShouldBe(["plugins/b.csx(1,93): error CS0103: The name 'mesage' does not exist in the current context"]);
    }

    /// <summary>The script position a stack trace gives, as the plugin host reports it.</summary>
    private static string Frame(Exception e) =>
        new StackTrace(e, fNeedFileInfo: true).GetFrames().Where(f => f.GetFileName()?.EndsWith(".csx", StringComparison.Ordinal) == true)
            .Select(f => $"({f.GetFileLineNumber()},{f.GetFileColumnNumber()})").First();

    private static List<SyntaxToken> Tokens(string code) =>
        [.. CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(kind: SourceCodeKind.Script)).GetRoot().DescendantTokens()];

    private static int Line(SyntaxToken token) => token.GetLocation().GetLineSpan().StartLinePosition.Line;

    private static string Instrument(string code)
    {
        var options = ScriptOptions.Default
            .AddReferences(typeof(Reply).Assembly, typeof(System.Linq.Expressions.Expression).Assembly, typeof(Queryable).Assembly)
            .AddImports("System", "System.IO", "System.Linq", "System.Text", "System.Threading", "System.Threading.Tasks",
                "System.Collections.Generic", "System.Globalization", "System.Security.Cryptography", "ScriptFtp", "ScriptFtp.Plugins",
                "ScriptFtp.Toml");
        var compilation = CSharpScript.Create(code, options, typeof(PluginGlobals)).GetCompilation();
        var tree = compilation.SyntaxTrees.Single();
        var model = compilation.GetSemanticModel(tree);
        model.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ShouldBeEmpty();
        var instrumented = PluginInstrumenter.Instrument(model);
        compilation.ReplaceSyntaxTree(tree, instrumented).GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => d.ToString()).ShouldBeEmpty(instrumented.ToString());
        return instrumented.ToString();
    }
}
