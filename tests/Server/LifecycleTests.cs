using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Server;

/// <summary>Limits and the life of the server process: idle timeout, connection caps, line caps, shutdown.</summary>
public class LifecycleTests
{
    [Test]
    public async Task Idle_session_is_closed_with_421()
    {
        await using var server = await TestServer.StartAsync(c => c with { IdleTimeout = TimeSpan.FromMilliseconds(500) });
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        var (code, text) = await ftp.ReadAsync(TimeSpan.FromSeconds(10));
        code.ShouldBe(421);
        text.ShouldContain("Idle");
        (await ftp.ReadAsync(TimeSpan.FromSeconds(5))).Code.ShouldBe(0, "the server closes the connection");
    }

    [Test]
    public async Task Connections_over_the_limit_get_421_and_others_keep_working()
    {
        await using var server = await TestServer.StartAsync(c => c with { MaxConnections = 2 });
        await using var first = await RawFtp.LoginAsync(server.Port);
        // max_connections counts logged-in sessions only (issue 12): connections waiting to log in have their own limit.
        await using var second = await RawFtp.LoginAsync(server.Port);
        using var third = new TcpClient();
        await third.ConnectAsync(IPAddress.Loopback, server.Port);
        using var reader = new StreamReader(third.GetStream());
        (await reader.ReadLineAsync())!.ShouldStartWith("421 ");
        (await first.SendAsync("NOOP")).Code.ShouldBe(200);
    }

    [Test]
    public async Task Overlong_command_line_gets_500_and_the_connection_is_closed()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        (await ftp.SendAsync("RETR " + new string('a', 20_000))).Code.ShouldBe(500);
        (await ftp.ClosedAsync()).ShouldBeTrue("issue 12: the rest of an overlong line is never read");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Too_many_errors_in_a_row_close_the_connection()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        var codes = new List<int>();
        for (var i = 0; i < 40; i++)
        {
            var (code, _) = await ftp.SendAsync("BOGUS");
            codes.Add(code);
            if (code is 0 or 421) break;
        }
        codes.ShouldContain(421);
        codes.Count.ShouldBeLessThan(40);
    }

    [Test]
    public async Task Stop_sends_421_to_idle_sessions()
    {
        var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        await server.DisposeAsync();
        var (code, text) = await ftp.ReadAsync(TimeSpan.FromSeconds(10));
        code.ShouldBe(421);
        text.ShouldContain("shutting down");
    }

    [Test]
    public async Task Sigterm_lets_a_running_transfer_finish_then_exits_zero()
    {
        var folder = Directory.CreateTempSubdirectory("scriptftp-sigterm-");
        try
        {
            Directory.CreateDirectory(Path.Combine(folder.FullName, "root", "demo"));
            var payload = new byte[64 << 20];
            Random.Shared.NextBytes(payload);
            await File.WriteAllBytesAsync(Path.Combine(folder.FullName, "root", "demo", "big.bin"), payload);
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "users.toml"), TestServer.DefaultUsersToml());
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "ftp.toml"), """
                [server]
                listen = "127.0.0.1"
                port = 0
                root = "root"
                [log]
                file = ""
                [plugins]
                folder = ""
                """);
            var start = new ProcessStartInfo("dotnet", [Path.Combine(TestContext.CurrentContext.TestDirectory, "ScriptFtp.Server.dll"), "--config", Path.Combine(folder.FullName, "ftp.toml")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            using var process = Process.Start(start)!;
            try
            {
                var port = await ReadPortAsync(process);
                await using var idle = await RawFtp.LoginAsync(port);
                await using var busy = await RawFtp.LoginAsync(port);
                using var data = await busy.EpsvAsync();
                await busy.SendLineAsync("RETR big.bin");
                (await busy.ReadAsync()).Code.ShouldBe(150);
                var stream = data.GetStream();
                var buffer = new byte[4096];
                var received = await stream.ReadAsync(buffer);

                using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();

                (await idle.ReadAsync(TimeSpan.FromSeconds(20))).Code.ShouldBe(421);
                int read;
                while ((read = await stream.ReadAsync(buffer)) > 0) received += read;
                received.ShouldBe(payload.Length, "the running download completes");
                (await busy.ReadAsync(TimeSpan.FromSeconds(20))).Code.ShouldBe(226);
                (await busy.ReadAsync(TimeSpan.FromSeconds(20))).Code.ShouldBe(421);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await process.WaitForExitAsync(timeout.Token);
                process.ExitCode.ShouldBe(0);
            }
            finally
            {
                if (!process.HasExited) process.Kill();
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Test]
    public async Task Hash_password_prints_a_salted_argon2id_hash_in_the_PHC_format_that_verifies()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(TestContext.CurrentContext.TestDirectory, "ScriptFtp.Server.dll"), "hash-password"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteLineAsync("correct horse");
        process.StandardInput.Close();
        var output = (await process.StandardOutput.ReadToEndAsync()).Trim();
        await process.WaitForExitAsync();
        process.ExitCode.ShouldBe(0);
        output.ShouldMatch(@"^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$");
        output.ShouldNotContain("correct horse");
        Passwords.Verify(output, "correct horse").ShouldBeTrue();
        Passwords.Verify(output, "wrong").ShouldBeFalse();
    }

    internal static async Task<int> ReadPortAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            var match = Regex.Match(line, @"listening on port (\d+)");
            if (!match.Success) continue;
            // Keep draining: a server blocked on a full stdout pipe would look hung.
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException("the server exited before listening: " + await process.StandardError.ReadToEndAsync());
    }
}
