using System.Diagnostics;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Plugins;

/// <summary>Numbers for the docs, not checks: run with <c>--filter "Category=PluginMeasurements"</c>.</summary>
[TestFixture, Explicit("measurements"), Category("PluginMeasurements")]
public sealed class PluginMeasurements
{
    [Test]
    public async Task Plugin_command_round_trip_compared_with_NOOP()
    {
        await using var server = await PluginTestServer.StartAsync(PluginTestServer.ShippedPlugins(), c => c with { PluginsReload = false });
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        foreach (var warmup in new[] { "NOOP", "SITE ECHO x", "NOOP", "SITE ECHO x" })
            for (var i = 0; i < 200; i++) await ftp.SendAsync(warmup);
        foreach (var command in new[] { "NOOP", "SITE ECHO hello", "NOOP", "SITE ECHO hello" })
        {
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < 1000; i++) (await ftp.SendAsync(command)).Code.ShouldBe(200);
            TestContext.Out.WriteLine($"{command,-16} 1000 round trips: {watch.Elapsed.TotalMilliseconds:0} ms ({watch.Elapsed.TotalMicroseconds / 1000:0} µs each)");
        }
    }

    [Test]
    public async Task Reload_memory_collectible_versus_Script_Compile()
    {
        var code = """AddCommand("VERSION", Access.Anyone, "VERSION", "", ctx => ctx.Reply(200, "v"));""";
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["version.csx"] = code }, c => c with { PluginsReload = false });
        for (var i = 0; i < 3; i++) await server.Plugins.ReloadAsync();
        var before = Measure();
        for (var i = 0; i < 20; i++) await server.Plugins.ReloadAsync();
        var collectible = Measure();
        TestContext.Out.WriteLine($"collectible context, 20 reloads: heap {Delta(before.Heap, collectible.Heap)}, assemblies {before.Assemblies} -> {collectible.Assemblies}, RSS {Delta(before.Resident, collectible.Resident)}, GC committed {Delta(before.Committed, collectible.Committed)}");

        // The same script through Script.Compile()/RunAsync: each run loads an assembly that stays for good (roslyn#41348).
        var options = ScriptOptions.Default.AddReferences(typeof(Reply).Assembly).AddImports("ScriptFtp", "ScriptFtp.Plugins");
        for (var i = 0; i < 20; i++)
        {
            var script = CSharpScript.Create($"{code} // {i}", options, typeof(ScriptFtp.Plugins.PluginGlobals));
            script.Compile();
            var globals = (ScriptFtp.Plugins.PluginGlobals)Activator.CreateInstance(typeof(ScriptFtp.Plugins.PluginGlobals),
                System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance, null,
                ["version", ScriptFtp.Toml.TomlTable.Empty, CreateLog()], null)!;
            await script.RunAsync(globals);
        }
        var leaky = Measure();
        TestContext.Out.WriteLine($"Script.Compile(), 20 loads:      heap {Delta(collectible.Heap, leaky.Heap)}, assemblies {collectible.Assemblies} -> {leaky.Assemblies}, RSS {Delta(collectible.Resident, leaky.Resident)}, GC committed {Delta(collectible.Committed, leaky.Committed)}");
    }

    [Test]
    public async Task Reload_memory_over_many_reloads()
    {
        var code = """AddCommand("VERSION", Access.Anyone, "VERSION", "", ctx => ctx.Reply(200, "v"));""";
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["version.csx"] = code }, c => c with { PluginsReload = false });
        var start = Measure();
        for (var round = 1; round <= 8; round++)
        {
            for (var i = 0; i < 10; i++) await server.Plugins.ReloadAsync();
            var now = Measure();
            TestContext.Out.WriteLine($"after {round * 10,3} reloads: heap {Delta(start.Heap, now.Heap)}, RSS {Delta(start.Resident, now.Resident)}, GC committed {now.Committed / 1024} KiB, assemblies {now.Assemblies}; {Proc()}");
        }
    }

    private static string Proc()
    {
        var status = File.ReadAllLines("/proc/self/status").Where(l => l.StartsWith("Rss")).Select(l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        var maps = File.ReadAllLines("/proc/self/maps");
        var mapped = maps.Where(l => l.Contains(".dll")).GroupBy(l => Path.GetFileName(l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Last())).Where(g => g.Count() > 6).Select(g => $"{g.Key}x{g.Count()}");
        return string.Join(", ", status) + " maps " + maps.Length + " " + string.Join(" ", mapped);
    }

    private static ScriptFtp.Plugins.PluginLog CreateLog() =>
        (ScriptFtp.Plugins.PluginLog)Activator.CreateInstance(typeof(ScriptFtp.Plugins.PluginLog), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance,
            null, [Serilog.Core.Logger.None, "version"], null)!;

    private static string Delta(long before, long after) => $"{before / 1024} KiB -> {after / 1024} KiB ({(after - before) / 1024:+0;-0} KiB)";

    private static (long Heap, int Assemblies, long Resident, long Committed) Measure()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        var heap = GC.GetTotalMemory(true);
        using var process = Process.GetCurrentProcess();
        return (heap, AssemblyLoadContext.All.Sum(c => c.Assemblies.Count()), process.WorkingSet64, GC.GetGCMemoryInfo().TotalCommittedBytes);
    }
}
