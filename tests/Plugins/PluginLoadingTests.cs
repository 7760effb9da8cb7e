using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Plugins;

/// <summary>Scripts that do not compile or fail while loading: logged with positions, skipped, or fatal in strict mode.</summary>
[TestFixture]
public sealed class PluginLoadingTests
{
    private const string Good = """AddCommand("GOOD", Access.Anyone, "GOOD", "Still here.", ctx => ctx.Reply(200, "good"));""";

    // Line 2, column 26: an undefined name.
    private const string Broken = """
        // a plugin with a typo
        AddCommand("BROKEN", Access.Anyone, "BROKEN", "Never loads.", ctx => ctx.Reply(200, mesage));
        """;

    private const string ThrowsWhileLoading = """
        AddCommand("HALF", Access.Anyone, "HALF", "Registered before the failure.", ctx => ctx.Reply(200, "half"));
        throw new InvalidOperationException("bad settings");
        """;

    private PluginTestServer server = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => server = await PluginTestServer.StartAsync(new Dictionary<string, string>
    {
        ["broken.csx"] = Broken,
        ["good.csx"] = Good,
        ["half.csx"] = ThrowsWhileLoading,
    });

    [OneTimeTearDown]
    public async Task StopAsync() => await server.DisposeAsync();

    [Test]
    public async Task A_compile_error_is_logged_with_its_position_and_the_server_runs_without_that_plugin()
    {
        server.Server.Log.Contains("plugins/broken.csx(2,85): error CS0103: The name 'mesage' does not exist in the current context").ShouldBeTrue(
            string.Join('\n', server.Server.Log.Events.Select(e => e.RenderMessage())));
        server.Plugins.Loaded.ShouldBe(["good"]);
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("GOOD")).Text.ShouldBe("200 good");
        (await ftp.SendAsync("BROKEN")).Code.ShouldBe(500);
    }

    [Test]
    public async Task A_script_that_throws_while_loading_registers_nothing()
    {
        server.Plugins.Errors.ShouldContain(e => e.StartsWith("plugins/half.csx(2,1): error: the script failed while loading: InvalidOperationException: bad settings"));
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("HALF")).Code.ShouldBe(500);
    }

    [Test]
    public async Task Strict_mode_refuses_to_start_with_exit_code_2()
    {
        var folder = Path.Combine(Path.GetTempPath(), "scriptftp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(folder, "plugins"));
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "plugins", "broken.csx"), Broken);
            await File.WriteAllTextAsync(Path.Combine(folder, "users.toml"), TestServer.DefaultUsersToml());
            await File.WriteAllTextAsync(Path.Combine(folder, "ftp.toml"), """
                [server]
                listen = "127.0.0.1"
                port = 0
                [log]
                file = ""
                [plugins]
                strict = true
                """);
            (await Program.Main(["--config", Path.Combine(folder, "ftp.toml")])).ShouldBe(2);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
