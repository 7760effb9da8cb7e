using System.Runtime.Loader;
using ScriptFtp.Tests.Support;

using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Plugins;

/// <summary>Editing the plugins folder while the server runs: the new table is in force from a session's next command, and old code is unloaded.</summary>
[TestFixture]
public sealed class PluginReloadTests
{
    private static string Version(int n) => $$"""AddCommand("VERSION", Access.Anyone, "VERSION", "Which version?", ctx => ctx.Reply(200, "v{{n}}"));""";

    [Test]
    public async Task An_edited_plugin_is_picked_up_by_a_session_that_stays_connected()
    {
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["version.csx"] = Version(1) });
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("VERSION")).Text.ShouldBe("200 v1");

        await File.WriteAllTextAsync(Path.Combine(server.PluginsFolder, "version.csx"), Version(2));
        (await Tools.EventuallyAsync(() => server.Plugins.GenerationNumber >= 2)).ShouldBeTrue("the reload");
        (await ftp.SendAsync("VERSION")).Text.ShouldBe("200 v2");

        // A broken edit leaves the server without that plugin, not without the others (strict is off).
        await File.WriteAllTextAsync(Path.Combine(server.PluginsFolder, "other.csx"), """AddCommand("OTHER", Access.Anyone, "OTHER", "", ctx => ctx.Reply(200, "other"));""");
        await File.WriteAllTextAsync(Path.Combine(server.PluginsFolder, "version.csx"), "this is not C#");
        (await Tools.EventuallyAsync(() => server.Plugins.Loaded is ["other"])).ShouldBeTrue("the second reload");
        (await ftp.SendAsync("VERSION")).Code.ShouldBe(500);
        (await ftp.SendAsync("OTHER")).Text.ShouldBe("200 other");
    }

    [Test]
    public async Task In_strict_mode_a_broken_reload_keeps_the_previous_plugins()
    {
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["version.csx"] = Version(1) },
            c => c with { PluginsStrict = true, PluginsReload = false });
        await File.WriteAllTextAsync(Path.Combine(server.PluginsFolder, "version.csx"), "this is not C#");
        (await server.Plugins.ReloadAsync()).ShouldBeFalse();
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("VERSION")).Text.ShouldBe("200 v1");
    }

    [Test]
    public async Task Twenty_reloads_leave_no_script_assemblies_behind()
    {
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["version.csx"] = Version(0) },
            c => c with { PluginsReload = false });
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        // Warm up: the first reloads JIT the compiler and fill Roslyn's caches, which are not per-reload costs.
        for (var i = 1; i <= 3; i++) await ReloadAsync(i);
        var before = Measure();
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 4; i <= 23; i++) await ReloadAsync(i);
        var elapsed = stopwatch.Elapsed;
        var after = Measure();
        TestContext.Out.WriteLine($"20 reloads in {elapsed.TotalMilliseconds:0} ms; managed heap {before.Heap / 1024} KiB -> {after.Heap / 1024} KiB " +
            $"({(after.Heap - before.Heap) / 1024:+0;-0} KiB); resident {(after.Resident - before.Resident) / 1024:+0;-0} KiB; plugin load contexts alive {before.Contexts} -> {after.Contexts}");
        after.Contexts.ShouldBeLessThanOrEqualTo(1);
        (after.Heap - before.Heap).ShouldBeLessThan(8 * 1024 * 1024);
        // Compiling through CSharpScript.Create re-read the core library's metadata for every script: about 450 MB resident after 20 reloads.
        (after.Resident - before.Resident).ShouldBeLessThan(64 * 1024 * 1024);

        async Task ReloadAsync(int n)
        {
            await File.WriteAllTextAsync(Path.Combine(server.PluginsFolder, "version.csx"), Version(n));
            (await server.Plugins.ReloadAsync()).ShouldBeTrue();
            (await ftp.SendAsync("VERSION")).Text.ShouldBe($"200 v{n}");
        }
    }

    private static (long Heap, int Contexts, long Resident) Measure()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return (heap, AssemblyLoadContext.All.Count(c => c.Name?.StartsWith("plugins#", StringComparison.Ordinal) == true), process.WorkingSet64);
    }
}
