using System.Diagnostics;
using System.Net;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Admin.Admin;

namespace ScriptFtp.Tests.Admin;

/// <summary>The login guard seen from the network: a delay per failure, then a lockout per user and address, then expiry.</summary>
[TestFixture]
public sealed class AdminBruteForceTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(300), Lockout = TimeSpan.FromSeconds(2);
    private static readonly IPAddress OtherAddress = IPAddress.Parse("127.0.0.2");

    private static Task<TestServer> StartGuardedAsync(IPAddress? listen = null) =>
        TestServer.StartAsync(config => config with
        {
            MaxFailedLogins = 3,
            FailureWindow = TimeSpan.FromMinutes(5),
            LoginDelay = Delay,
            Lockout = Lockout,
        }, listen: listen);

    private static async Task<(int Code, string Text, TimeSpan Took)> TimedPassAsync(RawFtp ctl, string user, string password)
    {
        (await ctl.SendAsync($"USER {user}")).Code.ShouldBe(331);
        var watch = Stopwatch.StartNew();
        var reply = await ctl.SendAsync($"PASS {password}");
        return (reply.Code, reply.Text, watch.Elapsed);
    }

    [Test]
    public async Task WrongPasswords_AreEachDelayed_CloseTheConnection_ThenLockTheUserOut_UntilTheLockoutEnds()
    {
        await using var server = await StartGuardedAsync();
        await using var attacker = await RawFtp.ConnectAsync(server.Port);

        for (var i = 0; i < 3; i++)
        {
            var (code, text, took) = await TimedPassAsync(attacker, Demo, $"guess-{i}");
            code.ShouldBe(530, text);
            took.ShouldBeGreaterThanOrEqualTo(Delay - TimeSpan.FromMilliseconds(20), "every failure is answered after the delay");
        }
        (await attacker.ReadAsync()).Code.ShouldBe(421, "the third failure closes the connection");
        (await attacker.ClosedAsync()).ShouldBeTrue();
        var lockedAt = Stopwatch.StartNew();

        // Locked out: even the right password is refused with 421 and the connection is closed.
        await using var again = await RawFtp.ConnectAsync(server.Port);
        var refused = await TimedPassAsync(again, Demo, DemoPass);
        refused.Code.ShouldBe(421, refused.Text);
        refused.Text.ShouldContain("Too many failed logins");
        (await again.ClosedAsync()).ShouldBeTrue("421 closes the connection");
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(421, "the lockout is per user and address, not per connection");
        server.Log.Contains("locked out").ShouldBeTrue("the log must mention the lockout");

        // After the lockout the right password works at once.
        var wait = Lockout - lockedAt.Elapsed + TimeSpan.FromMilliseconds(200);
        if (wait > TimeSpan.Zero) await Task.Delay(wait);
        await using var back = await RawFtp.ConnectAsync(server.Port);
        var after = await TimedPassAsync(back, Demo, DemoPass);
        after.Code.ShouldBe(230, after.Text);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task RightPasswordUnderTheLimit_IsAccepted_AndResetsTheCount()
    {
        await using var server = await StartGuardedAsync();
        await using var client = await RawFtp.ConnectAsync(server.Port);
        for (var i = 0; i < 2; i++) (await TimedPassAsync(client, Demo, $"guess-{i}")).Code.ShouldBe(530);

        var ok = await TimedPassAsync(client, Demo, DemoPass);

        ok.Code.ShouldBe(230, ok.Text);
        // The success cleared the failures: two more wrong guesses do not lock the user out yet.
        await using var again = await RawFtp.ConnectAsync(server.Port);
        for (var i = 0; i < 2; i++) (await TimedPassAsync(again, Demo, $"again-{i}")).Code.ShouldBe(530);
        var third = await TimedPassAsync(again, Demo, DemoPass);
        third.Code.ShouldBe(230, "two failures after a success are still under the lockout");
    }

    [Test]
    public async Task A_valid_login_to_another_account_does_not_reset_the_count_for_the_guessed_one()
    {
        await using var server = await StartGuardedAsync();
        for (var round = 0; round < 3; round++)
        {
            await using var client = await RawFtp.ConnectAsync(server.Port);
            (await TimedPassAsync(client, Adm, $"guess-{round}")).Code.ShouldBe(530);
            // The attacker's own account: logging in with it must not wipe the failures against "admin".
            await using var own = await RawFtp.ConnectAsync(server.Port);
            (await TimedPassAsync(own, Demo, DemoPass)).Code.ShouldBe(230);
        }
        // Three failures against "admin" were kept: "admin" is locked out for this address.
        (await TryLoginAsync(server.Port, Adm, AdmPass)).Code.ShouldBe(421);
    }

    [Test]
    public async Task DuringALockout_AnotherIPv4Address_StillLogsIn()
    {
        await using var server = await StartGuardedAsync(IPAddress.Any);
        await LockOutAsync(server.Port, IPAddress.Loopback);
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(421);

        await using var other = await RawFtp.ConnectAsync(server.Port, IPAddress.Loopback, from: OtherAddress);
        other.LocalEndPoint.Address.ShouldBe(OtherAddress);
        var reply = await other.LoginAsync(Demo, DemoPass);

        reply.Code.ShouldBe(230, reply.Text);
        (await other.SendAsync("PWD")).Code.ShouldBe(257);
        server.Log.Events.Select(e => e.RenderMessage()).ShouldContain(m => m.Contains("127.0.0.1") && m.Contains("locked out"));
    }

    [Test]
    public async Task DuringALockout_AnIPv6Client_StillLogsIn_OnADualStackListener()
    {
        if (!System.Net.Sockets.Socket.OSSupportsIPv6) Assert.Ignore("no IPv6 on this machine");
        await using var server = await StartGuardedAsync(IPAddress.IPv6Any);
        await LockOutAsync(server.Port, IPAddress.Loopback);

        // The IPv4 client reaches the dual-stack socket as ::ffff:127.0.0.1 and is still recognised as locked out.
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(421);
        await using var v6 = await RawFtp.ConnectAsync(server.Port, IPAddress.IPv6Loopback);
        var reply = await v6.LoginAsync(Demo, DemoPass);

        reply.Code.ShouldBe(230, reply.Text);
        // Log lines name the IPv4 client as 127.0.0.1, not as the mapped ::ffff:127.0.0.1.
        var sessions = server.Log.Events.Select(e => e.Properties.TryGetValue("Session", out var p) ? p.ToString() : "").ToList();
        sessions.ShouldContain(p => p.Contains(" 127.0.0.1:"));
        sessions.ShouldNotContain(p => p.Contains("ffff"));
        sessions.ShouldContain(p => p.Contains(" [::1]:") && p.Contains(" demo]"));
    }

    /// <summary>Fails logins of demo from 127.0.0.1 until demo is locked out there (limit 3: the 4th attempt is refused).</summary>
    private static async Task LockOutAsync(int port, IPAddress server)
    {
        await using (var attacker = await RawFtp.ConnectAsync(port, server))
            for (var i = 0; i < 3; i++) (await attacker.LoginAsync(Demo, $"guess-{i}")).Code.ShouldBe(530);
        await using var again = await RawFtp.ConnectAsync(port, server);
        (await again.LoginAsync(Demo, DemoPass)).Code.ShouldBe(421);
    }
}
