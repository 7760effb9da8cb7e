using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Plugins;

namespace ScriptFtp.Tests.Client;

// The REPL against a server that refuses EPSV (a plugin answers 502 in its place): downloads go over PASV instead.
public class ReplEpsvFallbackTests
{
    // Replaces the built-in EPSV; every refusal is logged so the test can count them on the server side.
    private const string NoEpsv = """
        AddCommand("EPSV", Access.LoggedIn, "EPSV", "Refused for the test.", ctx =>
        {
            ctx.Log.Information("EPSV refused by the test plugin");
            return ctx.Reply(502, "EPSV not implemented.");
        });
        """;

    [Test]
    public async Task A_refused_EPSV_makes_the_client_use_PASV_for_this_and_every_later_transfer()
    {
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["noepsv.csx"] = NoEpsv });
        server.Plugins.Errors.ShouldBeEmpty();
        server.Plugins.Loaded.ShouldBe(["noepsv"]);
        var content = Tools.RandomBytes(400_000, seed: 44);
        Directory.CreateDirectory(server.Server.DemoHome);
        await File.WriteAllBytesAsync(Path.Combine(server.Server.DemoHome, "data.bin"), content);
        var local = Tools.NewFolder("scriptftp-client-");
        try
        {
            // The plugin test server has no TLS.
            var result = await ReplTests.RunReplAsync("127.0.0.1", server.Port, local, ["--verbose", "--plain"],
                new ScriptReader(Support.TestServer.DemoUser, Support.TestServer.DemoPassword, "RETR data.bin", "RETR data.bin"));

            result.ShouldSucceed();
            (await File.ReadAllBytesAsync(Path.Combine(local, "data.bin"))).ShouldBe(content);
            (await File.ReadAllBytesAsync(Path.Combine(local, "new_data.bin"))).ShouldBe(content);
            var sent = Tools.Lines(result.Output).Where(l => l.StartsWith("--> ", StringComparison.Ordinal)).ToArray();
            // EPSV is tried once, refused, and not asked again: both downloads go over PASV.
            sent.Count(l => l == "--> EPSV").ShouldBe(1, result.Output);
            sent.Count(l => l == "--> PASV").ShouldBe(2, result.Output);
            result.Output.ShouldContain("<-- 502 EPSV not implemented.");
            server.Server.Log.Events.Count(e => e.RenderMessage() == "EPSV refused by the test plugin").ShouldBe(1);
            server.Server.ShouldHaveLoggedNoErrors();
        }
        finally
        {
            Tools.DeleteQuietly(local);
        }
    }
}
