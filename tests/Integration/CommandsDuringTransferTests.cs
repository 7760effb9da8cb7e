using ScriptFtp.Tests.Plugins;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>What a client may send while a transfer runs, over real sockets: the table decides, and a plugin can take part.</summary>
public class CommandsDuringTransferTests
{
    private const long Size = 48L * 1024 * 1024;

    private static async Task<long> DrainAsync(System.Net.Sockets.TcpClient data)
    {
        var buffer = new byte[1 << 20];
        long total = 0;
        int read;
        while ((read = await data.GetStream().ReadAsync(buffer)) > 0) total += read;
        return total;
    }

    [Test]
    public async Task Stat_with_a_path_waits_for_the_transfer_and_is_answered_after_its_226()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        Tools.WriteRandomFile(Path.Combine(server.DemoHome, "big.bin"), Size, seed: 70);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        using var data = await ftp.EpsvAsync();
        (await ftp.SendAsync("RETR big.bin")).Code.ShouldBe(150);
        await data.GetStream().ReadExactlyAsync(new byte[64 * 1024]);
        await ftp.SendLineAsync("STAT big.bin");
        (64 * 1024 + await DrainAsync(data)).ShouldBe(Size);

        (await ftp.ReadAsync()).Code.ShouldBe(226, "the transfer is answered first");
        var stat = await ftp.ReadAsync();
        stat.Code.ShouldBe(213);
        stat.Text.ShouldContain("big.bin");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_plugin_that_replaces_stat_answers_during_a_transfer_and_the_transfer_goes_on()
    {
        const string script = """
            AddCommand("STAT", Access.Anyone, "STAT [path]", "Status, from a plugin.", ctx =>
                ctx.Argument.Length == 0 ? ctx.Reply(213, "Status from a plugin.") : ctx.BuiltIn());
            """;
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["status.csx"] = script });
        Directory.CreateDirectory(server.Server.DemoHome);
        Tools.WriteRandomFile(Path.Combine(server.Server.DemoHome, "big.bin"), Size, seed: 71);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        using var data = await ftp.EpsvAsync();
        (await ftp.SendAsync("RETR big.bin")).Code.ShouldBe(150);
        await data.GetStream().ReadExactlyAsync(new byte[64 * 1024]);
        (await ftp.SendAsync("STAT")).Text.ShouldBe("213 Status from a plugin.");

        (64 * 1024 + await DrainAsync(data)).ShouldBe(Size);
        (await ftp.ReadAsync()).Code.ShouldBe(226);
        server.Server.ShouldHaveLoggedNoErrors();
    }
}
