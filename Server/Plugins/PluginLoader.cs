using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using System.Security.Cryptography;

namespace ScriptFtp.Plugins;

/// <summary>One script, compiled and emitted, ready to be loaded: or the errors that stopped it.</summary>
internal sealed record CompiledScript(string Name, string Display, byte[]? Image, byte[]? Symbols, string? EntryType, string? EntryMethod,
    ImmutableArray<string> Errors, ImmutableArray<string> Warnings)
{
    /// <summary>A script that cannot be loaded: nothing to run, only the errors (and any warnings) that say why.</summary>
    public static CompiledScript Failed(string name, string display, ImmutableArray<string> errors, ImmutableArray<string> warnings) =>
        new(name, display, null, null, null, null, errors, warnings);

    /// <summary>Whether there is an image to run.</summary>
    public bool Succeeded => Image is not null && Errors.IsEmpty;
}

/// <summary>
/// Loads and runs compiled scripts. Nothing here touches the compiler: starting from the plugin cache must not load
/// Microsoft.CodeAnalysis (tens of MB and most of the start time), so whatever a cache hit needs lives here, and only
/// <see cref="PluginCompiler"/> knows Roslyn.
/// </summary>
internal static class PluginLoader
{
    /// <summary>The assemblies scripts are compiled against; the plugin cache's key holds each one's identity.</summary>
    public static readonly Lazy<ImmutableArray<Assembly>> References = new(() =>
    [
        .. new[]
        {
            typeof(object).Assembly, typeof(Enumerable).Assembly, typeof(ImmutableArray).Assembly, typeof(SHA256).Assembly,
            typeof(Console).Assembly, typeof(System.Text.RegularExpressions.Regex).Assembly, typeof(System.Net.IPAddress).Assembly,
            typeof(System.Collections.Concurrent.ConcurrentDictionary<,>).Assembly, typeof(System.Text.Json.JsonSerializer).Assembly,
            typeof(System.Net.Http.HttpClient).Assembly, typeof(System.Diagnostics.Process).Assembly, typeof(PluginGlobals).Assembly,
            // Process derives from Component; without these, Process and System.Timers.Timer would not compile at all.
            typeof(System.ComponentModel.Component).Assembly, typeof(System.Timers.Timer).Assembly,
            typeof(Serilog.ILogger).Assembly, typeof(System.IO.Hashing.Crc32).Assembly, Assembly.Load("System.Runtime"),
            Assembly.Load("netstandard"), Assembly.Load("System.Collections"),
        }.Distinct(),
    ]);

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
