using ScriptFtp.Plugins;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Plugins;

/// <summary>A plugin whose handlers fail or time out <see cref="PluginHealth.Limit"/> times in a row is off until the next reload.</summary>
[TestFixture]
public sealed class PluginDisableTests
{
    // Replaces SYST (a built-in) and adds BOOM; FINE succeeds, SLOW times out.
    private const string Flaky = """
        AddCommand("SYST", Access.Anyone, "SYST", "", ctx => throw new InvalidOperationException("SYST bug"));
        AddCommand("BOOM", Access.Anyone, "BOOM", "", ctx => throw new InvalidOperationException("BOOM bug"));
        AddCommand("SLOW", Access.Anyone, "SLOW", "", ctx => { while (true) { } });
        AddCommand("FINE", Access.Anyone, "FINE", "", ctx => ctx.Reply(200, "fine"));
        """;

    private const string Other = """AddCommand("OTHER", Access.Anyone, "OTHER", "", ctx => ctx.Reply(200, "other"));""";

    private static Task<PluginTestServer> StartAsync() => PluginTestServer.StartAsync(
        new Dictionary<string, string> { ["flaky.csx"] = Flaky, ["other.csx"] = Other },
        c => c with { PluginTimeout = TimeSpan.FromMilliseconds(500), PluginsReload = false });

    [Test]
    public async Task Five_failures_in_a_row_disable_the_plugin_until_the_next_reload()
    {
        await using var server = await StartAsync();
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        foreach (var verb in new[] { "BOOM", "SLOW", "SYST", "BOOM", "SLOW" }) (await ftp.SendAsync(verb)).Code.ShouldBe(451, verb);
        server.Server.Log.Contains("Plugin disabled until the next reload: its handlers failed or timed out 5 times in a row").ShouldBeTrue();

        // Its commands fall back to the built-in they replaced, or to 500; other plugins are untouched.
        (await ftp.SendAsync("SYST")).Code.ShouldBe(215);
        (await ftp.SendAsync("BOOM")).Code.ShouldBe(500);
        (await ftp.SendAsync("FINE")).Code.ShouldBe(500);
        (await ftp.SendAsync("OTHER")).Text.ShouldBe("200 other");
        await using (var fresh = await RawFtp.LoginAsync(server.Port)) (await fresh.SendAsync("OTHER")).Text.ShouldBe("200 other");

        (await server.Plugins.ReloadAsync()).ShouldBeTrue();
        (await ftp.SendAsync("FINE")).Text.ShouldBe("200 fine");
        (await ftp.SendAsync("BOOM")).Code.ShouldBe(451);
    }

    [Test]
    public async Task A_success_starts_the_count_again()
    {
        await using var server = await StartAsync();
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < PluginHealth.Limit - 1; i++) (await ftp.SendAsync("BOOM")).Code.ShouldBe(451);
            (await ftp.SendAsync("FINE")).Text.ShouldBe("200 fine");
        }
        server.Server.Log.Contains("Plugin disabled").ShouldBeFalse();
    }
}
