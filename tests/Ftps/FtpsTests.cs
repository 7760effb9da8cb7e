using System.Net;
using System.Net.Sockets;
using System.Text;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Ftps;

/// <summary>FTPS with real clients over real sockets: curl, lftp, Python ftplib, and a raw client for the policy replies.</summary>
[NonParallelizable]
public class FtpsTests
{
    private static readonly string CertificateFolder = Tools.NewFolder("scriptftp-ftps-cert-");
    private string local = "";

    [SetUp]
    public void SetUp() => local = Tools.NewFolder();

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(local);

    /// <summary>A server with TLS on (one self-signed certificate for the whole fixture) and plain FTP from nowhere.</summary>
    internal static Task<TestServer> StartTlsAsync(Func<ServerConfig, ServerConfig>? more = null, string? usersToml = null,
        IPAddress? listen = null) =>
        TestServer.StartAsync(c =>
        {
            var tls = c with { Certificate = new CertificateSource.SelfSigned(CertificateFolder, "localhost"), PlainAllowedFrom = [] };
            return more?.Invoke(tls) ?? tls;
        }, usersToml, listen: listen);

    private Task<ProcessResult> Curl(params string[] arguments) =>
        Tools.RunAsync(Tools.Require("curl"), ["-sS", "-v", "-k", "--connect-timeout", "10", "--max-time", "120",
            "-u", $"{TestServer.DemoUser}:{TestServer.DemoPassword}", .. arguments], timeout: TimeSpan.FromSeconds(130),
            workingDirectory: local);

    [Test]
    public async Task Curl_ssl_reqd_uploads_downloads_and_lists()
    {
        await using var server = await StartTlsAsync();
        var source = Path.Combine(local, "up.bin");
        Tools.WriteRandomFile(source, 3_000_123, seed: 1);
        var url = $"ftp://127.0.0.1:{server.Port}/";

        var up = await Curl("--ssl-reqd", "-T", source, url + "up.bin");
        up.ExitCode.ShouldBe(0, up.Output);
        up.Stderr.ShouldContain("< 234");
        Tools.Sha256(Path.Combine(server.DemoHome, "up.bin")).ShouldBe(Tools.Sha256(source));

        var target = Path.Combine(local, "down.bin");
        var down = await Curl("--ssl-reqd", "-o", target, url + "up.bin");
        down.ExitCode.ShouldBe(0, down.Output);
        Tools.Sha256(target).ShouldBe(Tools.Sha256(source));

        var list = await Curl("--ssl-reqd", url);
        list.ExitCode.ShouldBe(0, list.Output);
        list.Stdout.ShouldContain("up.bin");
        server.Log.Events.Select(e => e.RenderMessage())
            .Any(m => m.Contains("TLS on the control connection") && m.Contains("TLS 1.3")).ShouldBeTrue();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Curl_implicit_ftps_downloads()
    {
        await using var server = await StartTlsAsync(c => c with { ImplicitPort = Client.FtpTestServer.FreeLoopbackPort() });
        Directory.CreateDirectory(server.DemoHome);
        Tools.WriteRandomFile(Path.Combine(server.DemoHome, "a.bin"), 100_000, seed: 3);
        var target = Path.Combine(local, "a.bin");

        var result = await Curl("-o", target, $"ftps://127.0.0.1:{server.Server.ImplicitEndpoint!.Port}/a.bin");

        result.ExitCode.ShouldBe(0, result.Output);
        Tools.Sha256(target).ShouldBe(Tools.Sha256(Path.Combine(server.DemoHome, "a.bin")));
    }

    [Test]
    public async Task Plain_login_from_outside_plain_allowed_from_is_refused()
    {
        await using var server = await StartTlsAsync(c => c with { PlainAllowedFrom = [ScriptFtp.Security.AddressRange.Parse("127.0.0.1/32")] });
        using var outside = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        outside.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        await outside.ConnectAsync(IPAddress.Loopback, server.Port);
        using var reader = new StreamReader(new NetworkStream(outside), Encoding.ASCII);
        (await reader.ReadLineAsync())!.ShouldStartWith("220");
        await outside.SendAsync(Encoding.ASCII.GetBytes("USER demo\r\n"));
        (await reader.ReadLineAsync()).ShouldBe("530 This server requires encryption: use AUTH TLS (FTPS).");

        var inside = await Curl($"ftp://127.0.0.1:{server.Port}/");
        inside.ExitCode.ShouldBe(0, inside.Output);
    }

    [Test]
    public async Task Python_ftplib_with_session_reuse_transfers_and_without_gets_522()
    {
        var python = Tools.Which("python3");
        if (python is null) Assert.Ignore("python3 is not installed");
        await using var server = await StartTlsAsync();
        var script = $$"""
            import ftplib, ssl, io, os
            class Reusing(ftplib.FTP_TLS):
                def ntransfercmd(self, cmd, rest=None):
                    conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
                    if self._prot_p:
                        conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
                    return conn, size
            ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
            data = os.urandom(2_000_000)
            f = Reusing(context=ctx); f.connect("127.0.0.1", {{server.Port}}); f.login("demo", "demo-pass"); f.prot_p()
            print(f.storbinary("STOR py.bin", io.BytesIO(data)))
            out = io.BytesIO(); print(f.retrbinary("RETR py.bin", out.write)); assert out.getvalue() == data
            f.quit()
            g = ftplib.FTP_TLS(context=ctx); g.connect("127.0.0.1", {{server.Port}}); g.login("demo", "demo-pass"); g.prot_p()
            try:
                g.retrbinary("RETR py.bin", lambda b: None); print("NO-522")
            except ftplib.error_perm as e:
                print("GOT", e)
            except ssl.SSLError:
                # The server drops the data connection during the handshake; its 522 is on the control connection.
                try:
                    g.getresp(); print("NO-522")
                except ftplib.error_perm as e:
                    print("GOT", e)
            """;
        var result = await Tools.RunAsync(python!, ["-c", script], timeout: TimeSpan.FromSeconds(60));
        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldContain("226");
        result.Stdout.ShouldContain("GOT 522");
        result.Stdout.ShouldNotContain("NO-522");
        new FileInfo(Path.Combine(server.DemoHome, "py.bin")).Length.ShouldBe(2_000_000);
        server.Log.Contains("did not resume").ShouldBeTrue();
    }

    [Test]
    public async Task Truncation_test_25_uploads_of_20_MiB_with_curl_and_lftp_over_TLS_13()
    {
        var lftp = Tools.Which("lftp");
        await using var server = await StartTlsAsync();
        var source = Path.Combine(local, "big.bin");
        Tools.WriteRandomFile(source, 20 << 20, seed: 9);
        var expected = Tools.Sha256(source);
        var lftpScript = Path.Combine(local, "script.lftp");
        for (var i = 0; i < 25; i++)
        {
            var name = $"curl{i}.bin";
            var result = await Curl("--ssl-reqd", "--tlsv1.3", "-T", source, $"ftp://127.0.0.1:{server.Port}/{name}");
            Check(server, name, result.ExitCode == 0, expected, result.Output);
            // Data connections send no session tickets here, so nothing can reset an upload: every one must arrive.
            if (SessionTickets.Supported) result.ExitCode.ShouldBe(0, result.Output);
        }
        if (lftp is null) Assert.Ignore("lftp is not installed; the curl half passed");
        // lftp takes -f alone: the settings and the open go in the script.
        var settings = "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate false; " +
                       "set ssl:priority NORMAL:-VERS-ALL:+VERS-TLS1.3; set net:max-retries 1; set cmd:fail-exit true";
        var open = $"open -u {TestServer.DemoUser},{TestServer.DemoPassword} ftp://127.0.0.1:{server.Port}";
        var puts = Enumerable.Range(0, 25).Select(i => $"put big.bin -o lftp{i}.bin");
        File.WriteAllText(lftpScript, string.Join('\n', puts.Prepend(open).Prepend(settings)) + "\nbye\n");
        var run = await Tools.RunAsync(lftp, ["-f", lftpScript], timeout: TimeSpan.FromSeconds(300), workingDirectory: local);
        for (var i = 0; i < 25; i++) Check(server, $"lftp{i}.bin", run.ExitCode == 0, expected, run.Output);
        if (SessionTickets.Supported) run.ExitCode.ShouldBe(0, run.Output);
    }

    /// <summary>Either the client was told it failed, or the file is whole: never a success with a short file.</summary>
    private static void Check(TestServer server, string name, bool clientSaysOk, string expected, string output)
    {
        var path = Path.Combine(server.DemoHome, name);
        if (clientSaysOk) Tools.Sha256(path).ShouldBe(expected, $"{name} reported stored but differs\n{output}");
        else if (File.Exists(path)) Tools.Sha256(path).ShouldBe(expected, $"{name} failed but a different file stands");
    }
}
