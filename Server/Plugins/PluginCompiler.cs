using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;

namespace ScriptFtp.Plugins;

/// <summary>One script, compiled and emitted, ready to be loaded: or the errors that stopped it.</summary>
internal sealed record CompiledScript(string Name, string Display, byte[]? Image, byte[]? Symbols, string? EntryType, string? EntryMethod,
    ImmutableArray<string> Errors, ImmutableArray<string> Warnings)
{
    /// <summary>A script that cannot be loaded: nothing to run, only the errors (and any warnings) that say why.</summary>
    public static CompiledScript Failed(string name, string display, ImmutableArray<string> errors, ImmutableArray<string> warnings) =>
        new(name, display, null, null, null, null, errors, warnings);
}

/// <summary>
/// Compiles plugin scripts as Roslyn script compilations with <see cref="PluginGlobals"/> as the globals type, reporting
/// diagnostics with positions. The result is emitted to memory instead of going through <c>Script.Compile()</c>, because the
/// assemblies that Compile() loads can never be unloaded (roslyn#41348), while ours go into a collectible
/// <see cref="AssemblyLoadContext"/> that a reload can drop.
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
    [
        .. new[]
        {
            typeof(object).Assembly, typeof(Enumerable).Assembly, typeof(ImmutableArray).Assembly, typeof(SHA256).Assembly,
            typeof(Console).Assembly, typeof(System.Text.RegularExpressions.Regex).Assembly, typeof(System.Net.IPAddress).Assembly,
            typeof(System.Collections.Concurrent.ConcurrentDictionary<,>).Assembly, typeof(System.Text.Json.JsonSerializer).Assembly,
            typeof(System.Net.Http.HttpClient).Assembly, typeof(System.Diagnostics.Process).Assembly, typeof(PluginGlobals).Assembly,
            // Process derives from Component; without these, Process and System.Timers.Timer would not compile at all.
            typeof(System.ComponentModel.Component).Assembly, typeof(System.Timers.Timer).Assembly,
            typeof(Serilog.ILogger).Assembly, typeof(System.IO.Hashing.Crc32).Assembly, Assembly.Load("System.Runtime"), Assembly.Load("netstandard"),
            Assembly.Load("System.Collections"),
        }.Distinct().Select(a => (MetadataReference)MetadataReference.CreateFromFile(a.Location)),
    ]);

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

    /// <summary>
    /// Loads a compiled script into <paramref name="context"/> and runs its top level with <paramref name="globals"/>; plugin
    /// code the top level runs (loops, and any task it starts) is stopped once <paramref name="limit"/> has passed.
    /// </summary>
    public static Task Run(CompiledScript script, AssemblyLoadContext context, PluginGlobals globals, TimeSpan limit)
    {
        using var image = new MemoryStream(script.Image!);
        using var symbols = new MemoryStream(script.Symbols!);
        var assembly = context.LoadFromStream(image, symbols);
        PluginBackstop.Watch(assembly, globals.Log);
        var factory = assembly.GetType(script.EntryType!, throwOnError: true)!
            .GetMethod(script.EntryMethod!, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
        // A submission's factory takes the submission array: slot 0 holds the globals, slot 1 receives the submission itself.
        var submissions = new object?[] { globals, null };
        return PluginGuard.Within(limit, () => (Task)factory.Invoke(null, [submissions])!);
    }
}

/// <summary>The collectible context one generation of plugins lives in; unloading it lets the GC reclaim their code.</summary>
internal sealed class PluginLoadContext(string name) : AssemblyLoadContext(name, isCollectible: true)
{
    // Everything a script references (the server, the runtime) comes from the default context, so types are shared.
    protected override Assembly? Load(AssemblyName assemblyName) => null;
}
