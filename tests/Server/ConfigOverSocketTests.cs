using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Server;

/// <summary>ftp.toml settings seen from the network and on disk: passive range, NAT address, log file, port override.</summary>
public class ConfigOverSocketTests
{
    [Test]
    public async Task Passive_connections_use_only_the_configured_port_range()
    {
        var low = ScriptFtp.Tests.Client.FtpTestServer.FreeLoopbackPort();
        await using var server = await TestServer.StartAsync(c => c with { PassivePortMin = low, PassivePortMax = low + 2 });
        Directory.CreateDirectory(server.DemoHome);
        await File.WriteAllTextAsync(Path.Combine(server.DemoHome, "a.txt"), "abc");
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        for (var i = 0; i < 6; i++)
        {
            var (code, text) = await ftp.SendAsync("EPSV");
            code.ShouldBe(229);
            var port = int.Parse(text.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture);
            port.ShouldBeInRange(low, low + 2);
            using var data = new TcpClient();
            await data.ConnectAsync(IPAddress.Loopback, port);
            (await ftp.SendAsync("RETR a.txt")).Code.ShouldBe(150);
            using var reader = new StreamReader(data.GetStream());
            (await reader.ReadToEndAsync()).ShouldBe("abc");
            (await ftp.ReadAsync()).Code.ShouldBe(226);
        }
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Pasv_advertises_the_public_address_behind_nat()
    {
        await using var server = await TestServer.StartAsync(c => c with { PublicAddress = IPAddress.Parse("203.0.113.7") });
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        var (code, text) = await ftp.SendAsync("PASV");
        code.ShouldBe(227);
        text.ShouldContain("(203,0,113,7,");
    }

    [Test]
    public async Task The_log_file_has_commands_and_transfers_but_never_a_password_and_a_positional_port_overrides_the_config()
    {
        var folder = Directory.CreateTempSubdirectory("scriptftp-log-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "users.toml"), TestServer.DefaultUsersToml());
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "ftp.toml"), """
                [server]
                listen = "127.0.0.1"
                port = 1
                [log]
                file = "logs/server-.log"
                [plugins]
                folder = ""
                """);
            var port = ScriptFtp.Tests.Client.FtpTestServer.FreeLoopbackPort();
            var start = new ProcessStartInfo("dotnet", [Path.Combine(TestContext.CurrentContext.TestDirectory, "ScriptFtp.Server.dll"),
                "--config", Path.Combine(folder.FullName, "ftp.toml"), port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true,
            };
            using var process = Process.Start(start)!;
            try
            {
                (await LifecycleTests.ReadPortAsync(process)).ShouldBe(port);
                await using (var wrong = await RawFtp.ConnectAsync(port))
                {
                    (await wrong.SendAsync("USER demo")).Code.ShouldBe(331);
                    (await wrong.SendAsync("PASS not-the-password")).Code.ShouldBe(530);
                }
                await using (var ftp = await RawFtp.LoginAsync(port))
                {
                    using (var data = await ftp.EpsvAsync())
                    {
                        (await ftp.SendAsync("STOR notes.txt")).Code.ShouldBe(150);
                        await data.GetStream().WriteAsync(new byte[1234]);
                    }
                    (await ftp.ReadAsync()).Code.ShouldBe(226);
                    (await ftp.SendAsync("QUIT")).Code.ShouldBe(221);
                }
                // The file is written in blocks, but flushed every second: a running server's log is never far behind.
                var flushed = await ScriptFtp.Tests.Integration.Tools.EventuallyAsync(
                    () => LogText(folder).Contains("demo] STOR notes.txt", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
                flushed.ShouldBeTrue("the log file must be flushed while the server runs");
                using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await process.WaitForExitAsync(timeout.Token);
            }
            finally
            {
                if (!process.HasExited) process.Kill();
            }
            var log = LogText(folder);
            log.ShouldContain("Stopped"); // the last line too: shutdown drains the queue and flushes the file
            log.ShouldContain("PASS ****");
            log.ShouldContain("Failed login for demo");
            log.ShouldContain("demo] Upload /notes.txt: 1234 bytes in");
            log.ShouldContain("demo] STOR notes.txt");
            log.ShouldNotContain(TestServer.DemoPassword);
            log.ShouldNotContain("not-the-password");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static string LogText(DirectoryInfo folder)
    {
        var logs = Path.Combine(folder.FullName, "logs");
        return Directory.Exists(logs)
            ? string.Concat(Directory.GetFiles(logs).Select(f => File.ReadAllText(f)))
            : "";
    }
}
