using System.Net;
using System.Net.Sockets;
using ScriptFtp.Security;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Security;

/// <summary>Issue 12: an administrator lists the address bans and lifts one over FTP; each ban and each lift is one log line.</summary>
[TestFixture]
public sealed class AddressBanAdminTests
{
    private static readonly IPAddress Attacker = Untrusted.Attacker;

    // Failures from 127.0.0.2 count, and the admin's own address (trusted 127.0.0.1) can never be banned.
    private static Task<TestServer> StartAsync() => Untrusted.StartAsync(config => config with
    {
        MaxFailedLogins = 2,
        MaxFailedLoginsPerAddress = 3,
        LoginDelay = TimeSpan.Zero,
    });

    [Test]
    public async Task An_admin_sees_an_address_ban_lifts_it_and_the_address_logs_in_again()
    {
        await using var server = await StartAsync();
        await BanAttackerAsync(server.Port);
        (await GreetingAsync(server.Port, Attacker)).ShouldStartWith("421");

        await using var admin = await RawFtp.LoginAsync(server.Port, TestServer.AdminUser, TestServer.AdminPassword);
        var bans = await admin.SendAsync("SITE BANS");
        bans.Code.ShouldBe(211, bans.Text);
        bans.Text.ShouldContain(" 127.0.0.2 ");
        bans.Text.ShouldContain("offence 1: too many failed logins");

        var lifted = await admin.SendAsync("SITE UNBAN-ADDRESS 127.0.0.2");
        lifted.ShouldBe((200, "200 Ban of 127.0.0.2 lifted."));
        (await admin.SendAsync("SITE BANS")).ShouldBe((211, "211 No address is banned."));
        (await admin.SendAsync("SITE UNBAN-ADDRESS 127.0.0.2")).ShouldBe((550, "550 127.0.0.2 is not banned."));

        (await GreetingAsync(server.Port, Attacker)).ShouldStartWith("220");
        await using var back = await RawFtp.LoginAsync(server.Port, from: Attacker);

        Rendered(server, "Banned ").ShouldHaveSingleItem().ShouldContain("127.0.0.2");
        Rendered(server, "Ban of ").ShouldBe(["Ban of \"127.0.0.2\" lifted by admin \"admin\""]);
    }

    [Test]
    public async Task A_user_may_not_see_or_lift_bans_and_a_bad_address_gets_501()
    {
        await using var server = await StartAsync();
        await BanAttackerAsync(server.Port);

        await using var user = await RawFtp.LoginAsync(server.Port);
        (await user.SendAsync("SITE BANS")).Code.ShouldBe(550);
        var refused = await user.SendAsync("SITE UNBAN-ADDRESS 127.0.0.2");
        refused.ShouldBe((550, "550 Permission denied: administrators only."));
        (await user.SendAsync("UNBAN-ADDRESS 127.0.0.2")).Code.ShouldBe(550);
        (await GreetingAsync(server.Port, Attacker)).ShouldStartWith("421", customMessage: "still banned");

        await using var admin = await RawFtp.LoginAsync(server.Port, TestServer.AdminUser, TestServer.AdminPassword);
        var bad = await admin.SendAsync("SITE UNBAN-ADDRESS 127.0.0.256");
        bad.Code.ShouldBe(501, bad.Text);
        bad.Text.ShouldContain("\"127.0.0.256\" is not an IP address");
        (await admin.SendAsync("UNBAN-ADDRESS 127.1")).Code.ShouldBe(501, "a shorthand is not taken for 127.0.0.1");
        (await GreetingAsync(server.Port, Attacker)).ShouldStartWith("421", customMessage: "still banned");
        Rendered(server, "Ban of ").ShouldBeEmpty();
    }

    // Three names fail from the attacker's address (its limit); the fourth attempt starts the ban.
    private static async Task BanAttackerAsync(int port)
    {
        for (var i = 1; i <= 3; i++)
        {
            await using var ctl = await RawFtp.ConnectAsync(port, from: Attacker);
            (await ctl.LoginAsync($"nobody{i}", "guess")).Code.ShouldBe(530);
        }
        await using var last = await RawFtp.ConnectAsync(port, from: Attacker);
        (await last.LoginAsync("nobody4", "guess")).Code.ShouldBe(421);
    }

    private static List<string> Rendered(TestServer server, string start) =>
        [.. server.Log.Events.Select(e => e.RenderMessage()).Where(m => m.StartsWith(start, StringComparison.Ordinal))];

    private static async Task<string> GreetingAsync(int port, IPAddress from)
    {
        using var client = new TcpClient(new IPEndPoint(from, 0));
        await client.ConnectAsync(IPAddress.Loopback, port);
        using var reader = new StreamReader(client.GetStream());
        return await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5)) ?? "";
    }
}
