using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ScriptFtp.Security;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Security;

/// <summary>Each attack of issue 12, reproduced over sockets from untrusted loopback addresses, now fails.</summary>
[TestFixture]
public sealed class DefenceTests
{
    private const string Demo = TestServer.DemoUser, DemoPass = TestServer.DemoPassword;
    private const string Adm = TestServer.AdminUser, AdmPass = TestServer.AdminPassword;
    private static readonly IPAddress Attacker = Untrusted.Attacker;

    private static Task<TestServer> StartAsync(Func<ServerConfig, ServerConfig> configure) => Untrusted.StartAsync(configure);

    [Test]
    public async Task Parallel_guessing_gets_no_more_checks_than_max_failed_logins()
    {
        await using var server = await StartAsync(c => c with { MaxFailedLogins = 5, LoginDelay = TimeSpan.FromMilliseconds(100) });
        var connections = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => RawFtp.ConnectAsync(server.Port, from: Attacker)));
        try
        {
            foreach (var c in connections) (await c.SendAsync($"USER {Demo}")).Code.ShouldBe(331);
            var replies = await Task.WhenAll(connections.Select(c => c.SendAsync("PASS guess")));

            replies.Count(r => r.Code == 530).ShouldBeLessThanOrEqualTo(5);
            replies.Count(r => r.Code == 421).ShouldBeGreaterThanOrEqualTo(35);
            server.Log.Events.Count(e => e.RenderMessage().StartsWith("Failed login", StringComparison.Ordinal)).ShouldBeLessThanOrEqualTo(5);
        }
        finally
        {
            foreach (var c in connections) await c.DisposeAsync();
        }
    }

    [Test]
    public async Task Many_connections_logging_in_at_once_with_the_right_password_all_get_in()
    {
        // As FileZilla or lftp --parallel do: more logins at once than max_failed_logins, none of them wrong.
        await using var server = await StartAsync(c => c with { MaxFailedLogins = 5 });
        var connections = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => RawFtp.ConnectAsync(server.Port, from: Attacker)));
        try
        {
            foreach (var c in connections) (await c.SendAsync($"USER {Demo}")).Code.ShouldBe(331);
            var replies = await Task.WhenAll(connections.Select(c => c.SendAsync($"PASS {DemoPass}", TimeSpan.FromSeconds(60))));

            replies.Select(r => r.Code).ShouldAllBe(code => code == 230);
            server.Server.Host.Guard.BannedFor(Attacker).ShouldBeNull();
        }
        finally
        {
            foreach (var c in connections) await c.DisposeAsync();
        }
    }

    [Test]
    public async Task A_connection_is_closed_after_three_failed_passwords_each_answered_after_the_delay()
    {
        var delay = TimeSpan.FromSeconds(1);
        await using var server = await StartAsync(c => c with { LoginDelay = delay });
        await using var client = await RawFtp.ConnectAsync(server.Port, from: Attacker);
        for (var i = 0; i < 3; i++)
        {
            (await client.SendAsync($"USER {Demo}")).Code.ShouldBe(331);
            var watch = Stopwatch.StartNew();
            (await client.SendAsync($"PASS guess-{i}")).Code.ShouldBe(530);
            watch.Elapsed.ShouldBeGreaterThanOrEqualTo(delay - TimeSpan.FromMilliseconds(50));
        }
        (await client.ReadAsync()).Code.ShouldBe(421);
        (await client.ClosedAsync()).ShouldBeTrue("the third failure closes the connection");
    }

    [Test]
    public async Task A_user_is_locked_out_without_the_address_and_an_address_ban_refuses_at_connect()
    {
        await using var server = await StartAsync(c => c with
        {
            MaxFailedLogins = 2, MaxFailedLoginsPerAddress = 4, LoginDelay = TimeSpan.Zero, Lockout = TimeSpan.FromMinutes(1),
        });
        for (var i = 0; i < 2; i++) (await TryLoginAsync(server.Port, Demo, "mistyped")).Code.ShouldBe(530);

        var locked = await TryLoginAsync(server.Port, Demo, DemoPass);
        locked.Code.ShouldBe(421, locked.Text);
        locked.Text.ShouldContain("for this user");
        (await TryLoginAsync(server.Port, Adm, AdmPass)).Code.ShouldBe(230, "another user behind the same address keeps working");
        (await TryLoginAsync(server.Port, Demo, DemoPass, IPAddress.Parse("127.0.0.3"))).Code.ShouldBe(230);

        // Two more names fail: the address reaches its own, higher threshold and is banned, refused at connect.
        (await TryLoginAsync(server.Port, "nobody", "x")).Code.ShouldBe(530);
        (await TryLoginAsync(server.Port, "nobody2", "x")).Code.ShouldBe(530);
        (await TryLoginAsync(server.Port, "nobody3", "x")).Code.ShouldBe(421);
        var greeting = await GreetingFromAsync(server.Port, Attacker);
        greeting.ShouldStartWith("421");
        server.Log.Events.ShouldContain(e => e.MessageTemplate.Text.StartsWith("Banned {Address}", StringComparison.Ordinal));
    }

    [Test]
    public async Task A_pre_login_flood_from_eight_addresses_does_not_keep_a_real_user_out()
    {
        // Scaled for CI: 8 addresses hold 50 connections each against a pre-login limit of 200 (bench/prelogin-flood.sh runs 2,000).
        const int perAddress = 50;
        await using var server = await StartAsync(c => c with { MaxPreLoginConnections = 200, MaxConnectionsPerAddress = 10_000 });
        var flood = new List<TcpClient>();
        try
        {
            for (var a = 2; a <= 9; a++)
            {
                for (var i = 0; i < perAddress; i++) flood.Add(await OpenAsync(server.Port, IPAddress.Parse($"127.0.0.{a}")));
            }
            for (var round = 0; round < 5; round++)
            {
                var watch = Stopwatch.StartNew();
                var reply = await TryLoginAsync(server.Port, Demo, DemoPass, IPAddress.Parse("127.0.0.10"));
                reply.Code.ShouldBe(230, reply.Text);
                watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2));
            }
            server.Log.Contains("Evicting a connection").ShouldBeTrue();
        }
        finally
        {
            foreach (var c in flood) c.Dispose();
        }
    }

    [Test]
    public async Task The_login_grace_time_is_not_extended_by_traffic()
    {
        await using var server = await StartAsync(c => c with { LoginGraceTime = TimeSpan.FromSeconds(1) });
        await using var client = await RawFtp.ConnectAsync(server.Port, from: Attacker);
        var watch = Stopwatch.StartNew();
        // A NOOP every 300 ms: a timer that restarted on traffic would never fire within the 4 s this loop allows.
        var reply = await client.SendAsync("NOOP");
        while (reply.Code == 200 && watch.Elapsed < TimeSpan.FromSeconds(4))
        {
            await Task.Delay(300);
            reply = await client.SendAsync("NOOP");
        }
        reply.Code.ShouldBe(421, reply.Text);
        reply.Text.ShouldContain("Login time exceeded");
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3));
    }

    [Test]
    public async Task A_64_MiB_line_gets_500_and_the_connection_is_closed()
    {
        await using var server = await StartAsync(c => c);
        await using var client = await RawFtp.ConnectAsync(server.Port, from: Attacker);
        var line = new byte[64 * 1024 * 1024];
        Array.Fill(line, (byte)'A');
        var sending = Task.Run(async () =>
        {
            try { await client.SendRawAsync(line); }
            catch (Exception e) when (e is IOException or SocketException) { } // the server closed before taking it all
        });
        var reply = await client.ReadAsync(TimeSpan.FromSeconds(10));
        reply.Code.ShouldBe(500, reply.Text);
        (await client.ClosedAsync()).ShouldBeTrue();
        (await Task.WhenAny(sending, Task.Delay(TimeSpan.FromSeconds(10)))).ShouldBe(sending, "the server stops reading at the limit");
    }

    [Test]
    public async Task A_busy_port_stops_the_real_server_with_the_way_out_and_exit_code_2()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;
        var folder = Directory.CreateTempSubdirectory("scriptftp-busy").FullName;
        try
        {
            var config = Path.Combine(folder, "ftp.toml");
            await File.WriteAllTextAsync(config, $"[server]\nlisten = \"127.0.0.1\"\nport = {port}\n[log]\nfile = \"\"\n[plugins]\nfolder = \"\"\n");
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
            info.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "ScriptFtp.Server.dll"));
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(config);
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);

            process.ExitCode.ShouldBe(2);
            (await output + await errors).ShouldContain(
                $"port {port} is already in use (another FTP server?). Choose another: [server] port in ftp.toml, or ScriptFtp.Server 2200");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(int Code, string Text)> TryLoginAsync(int port, string user, string password, IPAddress? from = null)
    {
        await using var ctl = await RawFtp.ConnectAsync(port, from: from ?? Attacker);
        return await ctl.LoginAsync(user, password);
    }

    private static async Task<TcpClient> OpenAsync(int port, IPAddress from)
    {
        var client = new TcpClient(new IPEndPoint(from, 0));
        await client.ConnectAsync(IPAddress.Loopback, port);
        return client;
    }

    private static async Task<string> GreetingFromAsync(int port, IPAddress from)
    {
        using var client = await OpenAsync(port, from);
        using var reader = new StreamReader(client.GetStream());
        return await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5)) ?? "";
    }
}
