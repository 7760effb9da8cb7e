using System.Security.Cryptography;
using System.Text;
using ScriptFtp.Plugins;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Plugins;

/// <summary>
/// The compiled-plugin cache in <c>plugins/.cache</c>: an unchanged script is loaded from it and behaves as compiled; an
/// edited one is compiled again; a damaged entry is ignored and rebuilt; a broken script reports its errors as ever.
/// A reload reads the same folder as a start does, so a reload shows what the next start would load.
/// </summary>
[TestFixture]
public sealed class PluginCacheTests
{
    private const string Warned =
        """AddCommand("WARNED", Access.Anyone, "WARNED", "", ctx => { int unused; return ctx.Reply(200, "warned"); });""";

    private const string ThrowsWhileLoading = """
        AddCommand("HALF", Access.Anyone, "HALF", "", ctx => ctx.Reply(200, "half"));
        throw new InvalidOperationException("bad settings");
        """;

    private const string Broken = """
        // a plugin with a typo
        AddCommand("BROKEN", Access.Anyone, "BROKEN", "", ctx => ctx.Reply(200, mesage));
        """;

    private static string Good(string answer) => $"""AddCommand("GOOD", Access.Anyone, "GOOD", "", ctx => ctx.Reply(200, "{answer}"));""";

    private static string EntryOf(PluginTestServer server, string name) => Path.Combine(server.PluginsFolder, ".cache", name + ".bin");

    [Test]
    public async Task An_unchanged_script_comes_from_the_cache_and_behaves_as_compiled()
    {
        var scripts = new Dictionary<string, string>
        {
            ["hash.csx"] = PluginTestServer.ShippedPlugins()["hash.csx"], ["warned.csx"] = Warned, ["half.csx"] = ThrowsWhileLoading,
        };
        await using var server = await PluginTestServer.StartAsync(scripts);
        server.Plugins.Cached.ShouldBeEmpty();
        foreach (var name in new[] { "hash", "warned", "half" }) File.Exists(EntryOf(server, name)).ShouldBeTrue(name);
        var compiledErrors = server.Plugins.Errors;

        (await server.Plugins.ReloadAsync()).ShouldBeTrue();

        server.Plugins.Cached.ShouldBe(["half", "hash", "warned"]);
        server.Plugins.Loaded.ShouldBe(["hash", "warned"]);
        // The same warning and the same load failure, at the same script positions (the symbols come from the cache too).
        const string Warning = "plugins/warned.csx(1,64): warning CS0168: The variable 'unused' is declared but never used";
        server.Server.Log.Events.Count(e => e.RenderMessage().Contains(Warning, StringComparison.Ordinal)).ShouldBe(2);
        server.Plugins.Errors.ShouldBe(compiledErrors);
        compiledErrors.ShouldHaveSingleItem().ShouldStartWith(
            "plugins/half.csx(2,1): error: the script failed while loading: InvalidOperationException: bad settings");

        await using var ftp = await RawFtp.LoginAsync(server.Port);
        var content = Encoding.UTF8.GetBytes("cached plugins hash the same");
        await ftp.UploadAsync("file.txt", content);
        (await ftp.SendAsync("XSHA256 file.txt")).Text.ShouldBe("250 " + Convert.ToHexStringLower(SHA256.HashData(content)));
        (await ftp.SendAsync("WARNED")).Text.ShouldBe("200 warned");
    }

    [Test]
    public async Task An_edited_script_is_compiled_again_and_a_removed_one_loses_its_entry()
    {
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string>
        {
            ["good.csx"] = Good("one"), ["gone.csx"] = Good("gone"),
        });
        var before = await File.ReadAllBytesAsync(EntryOf(server, "good"));
        await File.WriteAllTextAsync(Path.Combine(server.PluginsFolder, "good.csx"), Good("two"));
        File.Delete(Path.Combine(server.PluginsFolder, "gone.csx"));

        (await server.Plugins.ReloadAsync()).ShouldBeTrue();

        server.Plugins.Cached.ShouldBeEmpty();
        server.Plugins.Loaded.ShouldBe(["good"]);
        (await File.ReadAllBytesAsync(EntryOf(server, "good"))).ShouldNotBe(before);
        File.Exists(EntryOf(server, "gone")).ShouldBeFalse();
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("GOOD")).Text.ShouldBe("200 two");

        (await server.Plugins.ReloadAsync()).ShouldBeTrue();
        server.Plugins.Cached.ShouldBe(["good"]);
        (await ftp.SendAsync("GOOD")).Text.ShouldBe("200 two");
    }

    [TestCase("empty")]
    [TestCase("cut short")]
    [TestCase("one byte changed")]
    [TestCase("not a cache file")]
    public async Task A_damaged_entry_is_ignored_and_rebuilt(string damage)
    {
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["good.csx"] = Good("one") });
        var entry = EntryOf(server, "good");
        var whole = await File.ReadAllBytesAsync(entry);
        var damaged = damage switch
        {
            "empty" => [],
            "cut short" => whole[..(whole.Length / 2)],
            "one byte changed" => [.. whole[..(whole.Length / 2)], (byte)(whole[whole.Length / 2] ^ 0x40),
                .. whole[(whole.Length / 2 + 1)..]],
            "not a cache file" => Encoding.UTF8.GetBytes("MZ this is no cache entry"),
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };
        await File.WriteAllBytesAsync(entry, damaged);

        (await server.Plugins.ReloadAsync()).ShouldBeTrue();

        server.Plugins.Cached.ShouldBeEmpty();
        server.Plugins.Errors.ShouldBeEmpty();
        server.Server.Log.Events.Select(e => e.RenderMessage())
            .ShouldContain(m => m.Contains("The plugin cache entry") && m.Contains(entry) && m.Contains("is damaged"));
        // Rebuilt: the next load takes it (the image differs from the first only in its generated assembly name).
        (await File.ReadAllBytesAsync(entry)).ShouldNotBe(damaged);
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("GOOD")).Text.ShouldBe("200 one");
        (await server.Plugins.ReloadAsync()).ShouldBeTrue();
        server.Plugins.Cached.ShouldBe(["good"]);
    }

    [Test]
    public async Task A_compile_error_is_reported_with_its_position_at_every_load_and_never_cached()
    {
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["broken.csx"] = Broken });
        const string Error = "plugins/broken.csx(2,73): error CS0103: The name 'mesage' does not exist in the current context";
        server.Plugins.Errors.ShouldBe([Error]);

        (await server.Plugins.ReloadAsync()).ShouldBeTrue();

        server.Plugins.Errors.ShouldBe([Error]);
        server.Plugins.Cached.ShouldBeEmpty();
        File.Exists(EntryOf(server, "broken")).ShouldBeFalse();
    }

    [Test]
    public void An_entry_under_another_key_is_stale_not_damaged()
    {
        var code = Good("one");
        var script = PluginCompiler.Compile("good", "/p/good.csx", "p/good.csx", code);
        var entry = PluginCache.Encode(script, PluginCache.Key("good", "/p/good.csx", "p/good.csx", code));

        var same = PluginCache.Decode(entry, "good", "p/good.csx", PluginCache.Key("good", "/p/good.csx", "p/good.csx", code));
        same.Damage.ShouldBeNull();
        same.Script!.Image.ShouldBe(script.Image);
        same.Script.Symbols.ShouldBe(script.Symbols);
        (same.Script.EntryType, same.Script.EntryMethod).ShouldBe((script.EntryType, script.EntryMethod));
        PluginCache.Decode(entry, "good", "p/good.csx", PluginCache.Key("good", "/p/good.csx", "p/good.csx", Good("two")))
            .ShouldBe((null, null));
        PluginCache.Decode(entry, "good", "q/good.csx", PluginCache.Key("good", "/q/good.csx", "q/good.csx", code))
            .ShouldBe((null, null));
    }

    /// <summary>
    /// The real server process, started twice on the same folder: the first start compiles (and so loads the compiler), the
    /// second loads every plugin from the cache and must not bring any Microsoft.CodeAnalysis assembly into the process.
    /// </summary>
    [Test]
    public async Task A_start_from_the_cache_loads_no_compiler_assembly()
    {
        var folder = Tools.NewFolder("scriptftp-pcache-");
        try
        {
            var plugins = Directory.CreateDirectory(Path.Combine(folder, "plugins")).FullName;
            await File.WriteAllTextAsync(Path.Combine(plugins, "hash.csx"), PluginTestServer.ShippedPlugins()["hash.csx"]);
            await File.WriteAllTextAsync(Path.Combine(plugins, "compiler.csx"), """
                AddCommand("COMPILER", Access.Anyone, "COMPILER", "The compiler assemblies in the process.", ctx => ctx.Reply(200,
                    "loaded: " + string.Join(",", AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name)
                        .Where(n => n!.StartsWith("Microsoft.CodeAnalysis")).Order())));
                """);
            await File.WriteAllTextAsync(Path.Combine(folder, "users.toml"), TestServer.DefaultUsersToml());
            var config = Path.Combine(folder, "ftp.toml");
            await File.WriteAllTextAsync(config, """
                [server]
                listen = "127.0.0.1"
                port = 0
                root = "root"
                users_file = "users.toml"
                [log]
                file = ""
                [plugins]
                folder = "plugins"
                reload = false
                """);

            using (var first = await ServerProcess.StartAsync(config))
            {
                await using var ftp = await RawFtp.ConnectAsync(first.Port);
                (await ftp.SendAsync("COMPILER")).Text
                    .ShouldContain("Microsoft.CodeAnalysis.CSharp", customMessage: "compiling loads Roslyn");
            }
            using var second = await ServerProcess.StartAsync(config);
            second.Output.ShouldContain("Plugins: 2 from the cache, 0 compiled");
            await using var session = await RawFtp.LoginAsync(second.Port);
            (await session.SendAsync("COMPILER")).Text.ShouldBe("200 loaded: ");
            var content = Encoding.UTF8.GetBytes("hashed by a plugin from the cache");
            await session.UploadAsync("file.txt", content);
            (await session.SendAsync("XSHA256 file.txt")).Text.ShouldBe("250 " + Convert.ToHexStringLower(SHA256.HashData(content)));
        }
        finally
        {
            Tools.DeleteQuietly(folder);
        }
    }
}
