using System.Collections.Immutable;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;

namespace ScriptFtp.Plugins;

/// <summary>
/// Compiles plugin scripts as Roslyn script compilations with <see cref="PluginGlobals"/> as the globals type, reporting
/// diagnostics with positions. The result is emitted to memory instead of going through <c>Script.Compile()</c>, because the
/// assemblies that Compile() loads can never be unloaded (roslyn#41348), while ours go into a collectible
/// <see cref="System.Runtime.Loader.AssemblyLoadContext"/> that a reload can drop.
/// </summary>
internal static class PluginCompiler
{
    private static readonly ImmutableArray<string> Imports =
    [
        "System", "System.IO", "System.Linq", "System.Text", "System.Threading", "System.Threading.Tasks", "System.Collections.Generic",
        "System.Collections.Immutable", "System.Globalization", "System.Security.Cryptography", "ScriptFtp", "ScriptFtp.Plugins",
        "ScriptFtp.Toml",
    ];

    // Built once and shared by every compilation: the scripting layer's CSharpScript.Create reads the metadata of the core
    // library and of the globals' assembly afresh for each script, and those native buffers made each reload cost tens of MB.
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
        [.. PluginLoader.References.Value.Select(a => (MetadataReference)MetadataReference.CreateFromFile(a.Location))]);

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest, DocumentationMode.None, SourceCodeKind.Script);

    private static readonly CSharpCompilationOptions CompilationOptions = new(
        OutputKind.DynamicallyLinkedLibrary, usings: Imports, optimizationLevel: OptimizationLevel.Release, allowUnsafe: false,
        nullableContextOptions: NullableContextOptions.Disable);

    private static long _serial;

    /// <summary>
    /// Compiles one file. <paramref name="display"/> is how errors name it, e.g. <c>plugins/hash.csx</c>. What is emitted
    /// is the script instrumented by <see cref="PluginInstrumenter"/>, provided it compiles and <see cref="PluginRules"/>
    /// refuse nothing in it; every position reported is the script's own.
    /// </summary>
    public static CompiledScript Compile(string name, string path, string display, string code)
    {
        // The compilation CSharpScript.Create(code, options, typeof(PluginGlobals)).GetCompilation() would build, with shared
        // references.
        var tree = CSharpSyntaxTree.ParseText(SourceText.From(code, Encoding.UTF8), ParseOptions, path);
        var compilation = CSharpCompilation.CreateScriptCompilation($"plugin-{name}-{Interlocked.Increment(ref _serial)}", tree,
            References.Value, CompilationOptions, previousScriptCompilation: null, returnType: typeof(object),
            globalsType: typeof(PluginGlobals));
        var model = compilation.GetSemanticModel(tree);
        var instrumented = compilation.ReplaceSyntaxTree(tree, PluginInstrumenter.Instrument(model));
        using var image = new MemoryStream();
        using var symbols = new MemoryStream();
        var emitted = instrumented.Emit(image, symbols, options: new(debugInformationFormat: DebugInformationFormat.PortablePdb));
        // Errors and warnings are reported as the compiler finds them in the script as written, positions and all: compiled
        // a second time, as written, only when there is something to report. (Emitting is the cheapest way to get them:
        // GetDiagnostics() also looks for unused usings.)
        var written = emitted.Diagnostics.Any(d => d.Severity >= DiagnosticSeverity.Warning)
            ? compilation.Emit(Stream.Null).Diagnostics
            : [];
        var errors = Formatted(display, written, DiagnosticSeverity.Error);
        var warnings = Formatted(display, written, DiagnosticSeverity.Warning);
        if (!errors.IsEmpty) return CompiledScript.Failed(name, display, errors, warnings);
        var refused = PluginRules.Check(model, display);
        if (!refused.IsEmpty) return CompiledScript.Failed(name, display, refused, warnings);
        if (!emitted.Success)
        {
            // The script as written compiles, so this is the instrumentation's fault: say so rather than blame the script.
            var failures = Formatted(display, emitted.Diagnostics, DiagnosticSeverity.Error);
            return CompiledScript.Failed(name, display, [$"{display}: error: the server could not add its safety checks to this script " +
                "(please report it): " + string.Join("; ", failures)], warnings);
        }
        var entry = instrumented.GetEntryPoint(CancellationToken.None)!;
        var type = entry.ContainingType;
        var typeName = type.ContainingNamespace is { IsGlobalNamespace: false } ns
            ? $"{ns.ToDisplayString()}.{type.MetadataName}"
            : type.MetadataName;
        return new CompiledScript(name, display, image.ToArray(), symbols.ToArray(), typeName, entry.MetadataName, [], warnings);
    }

    private static ImmutableArray<string> Formatted(string display, ImmutableArray<Diagnostic> diagnostics, DiagnosticSeverity severity) =>
        [.. diagnostics.Where(d => d.Severity == severity).Select(d => Format(display, d))];

    /// <summary><c>plugins/NAME.csx(line,col): error CS0103: message</c>, the form compilers and editors understand.</summary>
    private static string Format(string display, Diagnostic diagnostic)
    {
        var position = diagnostic.Location.IsInSource ? diagnostic.Location.GetLineSpan().StartLinePosition : default;
        var where = diagnostic.Location.IsInSource ? $"{display}({position.Line + 1},{position.Character + 1})" : display;
        var severity = diagnostic.Severity == DiagnosticSeverity.Error ? "error" : "warning";
        return $"{where}: {severity} {diagnostic.Id}: {diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
    }
}
