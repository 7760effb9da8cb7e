using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using ScriptFtp.Plugins;

namespace ScriptFtp.Tests.Plugins;

[TestFixture]
public sealed class PluginInstrumenterTests
{
    private static string Instrument(string code)
    {
        var options = ScriptOptions.Default.AddReferences(typeof(Reply).Assembly, typeof(System.Linq.Expressions.Expression).Assembly, typeof(Queryable).Assembly)
            .AddImports("System", "System.Linq", "System.Threading", "System.Threading.Tasks", "System.Collections.Generic", "ScriptFtp", "ScriptFtp.Plugins");
        var compilation = CSharpScript.Create(code, options, typeof(PluginGlobals)).GetCompilation();
        var tree = compilation.SyntaxTrees.Single();
        var model = compilation.GetSemanticModel(tree);
        model.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ShouldBeEmpty();
        var instrumented = PluginInstrumenter.Instrument(model);
        var after = compilation.ReplaceSyntaxTree(tree, instrumented);
        after.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ShouldBeEmpty(instrumented.ToString());
        return instrumented.ToString();
    }

    [Test]
    public void Dump()
    {
        var code = File.ReadAllText("/tmp/dump/in.csx");
        File.WriteAllText("/tmp/dump/out.csx", Instrument(code));
    }
}
