using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using ScriptFtp.Client;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Client;

// The REPL client's FTPS: AUTH TLS first, trust on first use through a known-hosts file, --insecure and --plain, and the
// refusal to send a password to a server that offers no TLS. Real servers on loopback, real sockets.
public class FtpsClientTests
{
    private const string OtherFingerprint =
        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

    private string local = "";
    private string knownHosts = "";

    [SetUp]
    public void SetUp()
    {
        local = Tools.NewFolder("scriptftp-client-");
        knownHosts = Path.Combine(Tools.NewFolder("scriptftp-known-"), "known_hosts");
    }

    [TearDown]
    public void TearDown()
    {
        Tools.DeleteQuietly(local);
        Tools.DeleteQuietly(Path.GetDirectoryName(knownHosts)!);
    }

    [Test]
    public async Task The_first_connection_asks_and_remembers_the_fingerprint_and_the_second_asks_nothing()
    {
        await using var server = await FtpTestServer.StartAsync();

        var first = await RunAsync(server, ["--verbose"], "yes", server.UserName, server.Password, "pwd");

        first.ShouldSucceed();
        first.Error.ShouldContain($"The certificate of 127.0.0.1:{server.Port} is not signed by an authority");
        first.Error.ShouldContain($"SHA-256 fingerprint: {server.Fingerprint}");
        first.Error.ShouldContain($"remember it in {knownHosts}?");
        File.ReadAllText(knownHosts).ShouldBe($"127.0.0.1:{server.Port} {server.Fingerprint}\n");
        first.Output.ShouldContain("--> AUTH TLS");
        first.Output.ShouldContain("--> PROT P");

        var second = await RunAsync(server, [], server.UserName, server.Password, "pwd");

        second.ShouldSucceed();
        second.Error.ShouldBeEmpty("a known certificate raises no question");
        Tools.Lines(second.Output).ShouldBe(["/"]);
        File.ReadAllText(knownHosts).ShouldBe($"127.0.0.1:{server.Port} {server.Fingerprint}\n");
    }

    [Test]
    public async Task A_declined_certificate_ends_the_session_before_the_login()
    {
        await using var server = await FtpTestServer.StartAsync();

        var result = await RunAsync(server, ["--verbose"], "no", server.UserName, server.Password, "pwd");

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain($"Not logged in: no trusted TLS connection to 127.0.0.1:{server.Port}.");
        result.Output.ShouldNotContain("--> USER");
        result.Output.ShouldNotContain("--> PASS");
        File.Exists(knownHosts).ShouldBeFalse("a declined certificate is not remembered");
    }

    [Test]
    public async Task A_changed_certificate_is_refused_loudly_and_no_password_is_sent()
    {
        await using var server = await FtpTestServer.StartAsync();
        new KnownHosts(knownHosts).Remember(server.Host, server.Port, OtherFingerprint);

        var result = await RunAsync(server, ["--verbose"], "yes", server.UserName, server.Password, "pwd");

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain($"WARNING: THE CERTIFICATE OF 127.0.0.1:{server.Port} HAS CHANGED.");
        result.Error.ShouldContain($"Trusted fingerprint:   {OtherFingerprint}");
        result.Error.ShouldContain($"Presented fingerprint: {server.Fingerprint}");
        result.Error.ShouldContain("Not logged in");
        result.Error.ShouldNotContain("Trust this certificate", customMessage: "a changed certificate is refused, not asked about");
        result.Output.ShouldContain("--> AUTH TLS");
        result.Output.ShouldNotContain("--> USER");
        result.Output.ShouldNotContain("--> PASS");
        File.ReadAllText(knownHosts).ShouldBe($"127.0.0.1:{server.Port} {OtherFingerprint}\n", "the trusted fingerprint stays");
    }

    [Test]
    public async Task Insecure_accepts_any_certificate_without_asking_or_remembering()
    {
        await using var server = await FtpTestServer.StartAsync();
        new KnownHosts(knownHosts).Remember(server.Host, server.Port, OtherFingerprint);

        var result = await RunAsync(server, ["--insecure"], server.UserName, server.Password, "pwd");

        result.ShouldSucceed();
        Tools.Lines(result.Output).ShouldBe(["/"]);
        result.Error.ShouldBeEmpty();
        File.ReadAllText(knownHosts).ShouldBe($"127.0.0.1:{server.Port} {OtherFingerprint}\n");
    }

    // Several transfers in one session, each on a data connection that must resume the control connection's TLS session
    // (ScriptFtp answers 522 otherwise), towards an address (127.0.0.1) and towards a host name.
    [TestCase("127.0.0.1")]
    [TestCase("localhost")]
    public async Task Get_and_upload_over_TLS_keep_every_byte(string host)
    {
        await using var server = (ScriptFtpTestServer)await FtpTestServer.StartAsync();
        var down = Tools.RandomBytes(3_000_017, seed: 71);
        Directory.CreateDirectory(server.RootDirectory);
        await File.WriteAllBytesAsync(Path.Combine(server.RootDirectory, "down.bin"), down);
        var up = Tools.RandomBytes(2_500_003, seed: 72);
        await File.WriteAllBytesAsync(Path.Combine(local, "up.bin"), up);
        var up2 = Tools.RandomBytes(1_000_000, seed: 73);
        await File.WriteAllBytesAsync(Path.Combine(local, "up2.bin"), up2);
        new KnownHosts(knownHosts).Remember(host, server.Port, server.Fingerprint!);

        var result = await ReplTests.RunReplAsync(host, server.Port, local, ["--known-hosts", knownHosts],
            new ScriptReader(server.UserName, server.Password, "get", "down.bin", "upload", "up.bin", "RETR up.bin", "ls", "STOR up2.bin",
                "exit"));

        result.ShouldSucceed();
        (await File.ReadAllBytesAsync(Path.Combine(local, "down.bin"))).ShouldBe(down);
        (await File.ReadAllBytesAsync(Path.Combine(server.RootDirectory, "up.bin"))).ShouldBe(up);
        (await File.ReadAllBytesAsync(Path.Combine(local, "new_up.bin"))).ShouldBe(up);
        (await File.ReadAllBytesAsync(Path.Combine(server.RootDirectory, "up2.bin"))).ShouldBe(up2);
        result.Output.ShouldContain($"Uploaded up.bin -> up.bin: {2_500_003:N0} bytes");
        var data = server.Server.Log.Events.Select(e => e.RenderMessage()).Where(m => m.StartsWith("TLS data connection")).ToList();
        data.Count.ShouldBe(5, string.Join('\n', data));
        data.ShouldAllBe(m => m.EndsWith("resumed True"));
    }

    // Why the client names an address for TLS: .NET resumes no session towards an IP address, and the server refuses the
    // data connection with 522.
    [Test]
    public async Task An_IP_address_as_TLS_target_host_cannot_resume_and_gets_522()
    {
        await using var server = await FtpTestServer.StartAsync();
        Directory.CreateDirectory(server.RootDirectory);
        await File.WriteAllTextAsync(Path.Combine(server.RootDirectory, "a.txt"), "a");
        await using var client = await FtpClient.ConnectAsync(server.Host, server.Port, TimeSpan.FromSeconds(30));
        var options = ClientTls.Options(server.Host, (_, _, _, _) => true);
        options.TargetHost = server.Host;
        (await client.SecureAsync(options)).Code.ShouldBe(234);
        (await client.LoginAsync(server.UserName, server.Password)).Code.ShouldBe(230);

        var refused = await Should.ThrowAsync<FtpReplyException>(() => client.DownloadAsync("a.txt", new MemoryStream()));

        refused.Reply.Code.ShouldBe(522);
    }

    [TestCase(FtpTestServer.VsftpdPlain)]
    [TestCase("scriptftp-plain")]
    public async Task A_server_without_TLS_gets_no_password_unless_plain_is_given(string kind)
    {
        await using var server = kind == FtpTestServer.VsftpdPlain
            ? await FtpTestServer.StartAsync(kind)
            : new ScriptFtpTestServer(await Support.TestServer.StartAsync());
        Directory.CreateDirectory(server.RootDirectory);
        await File.WriteAllTextAsync(Path.Combine(server.RootDirectory, "a.txt"), "from the server");
        await File.WriteAllTextAsync(Path.Combine(local, "b.txt"), "from the client");

        var refused = await RunAsync(server, ["--verbose"], server.UserName, server.Password, "get", "a.txt");

        refused.ExitCode.ShouldBe(1);
        refused.Error.ShouldContain($"127.0.0.1:{server.Port} does not offer TLS: it answered AUTH TLS with 5");
        refused.Error.ShouldContain("use --plain");
        refused.Output.ShouldContain("--> AUTH TLS");
        refused.Output.ShouldNotContain("--> USER");
        refused.Output.ShouldNotContain("--> PASS");
        refused.Output.ShouldContain("--> QUIT");
        File.Exists(Path.Combine(local, "a.txt")).ShouldBeFalse();

        var plain = await RunAsync(server, ["--plain", "--verbose"], server.UserName, server.Password, "get", "a.txt", "upload", "b.txt");

        plain.ShouldSucceed();
        plain.Output.ShouldNotContain("--> AUTH");
        (await File.ReadAllTextAsync(Path.Combine(local, "a.txt"))).ShouldBe("from the server");
        (await File.ReadAllTextAsync(Path.Combine(server.RootDirectory, "b.txt"))).ShouldBe("from the client");
        File.Exists(knownHosts).ShouldBeFalse();
    }

    [Test]
    public async Task Plain_towards_a_server_that_requires_TLS_is_refused_by_the_server_at_USER()
    {
        await using var server = await FtpTestServer.StartAsync();

        var result = await RunAsync(server, ["--plain", "--verbose"], server.UserName, server.Password, "pwd");

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain("Login failed: 530 This server requires encryption: use AUTH TLS (FTPS).");
        result.Output.ShouldNotContain("--> PASS");
    }

    [Test]
    public async Task At_a_terminal_the_question_is_a_prompt_and_the_session_says_it_is_secured()
    {
        await using var server = await FtpTestServer.StartAsync();
        var output = new StringWriter();
        var error = new StringWriter();
        var input = new ScriptReader("yes", server.UserName, server.Password, "exit");

        var exitCode = await Repl.RunAsync([server.Host, server.Port.ToString(), "--known-hosts", knownHosts], input, output, error,
            local, interactive: true).WaitAsync(TimeSpan.FromMinutes(1));

        exitCode.ShouldBe(0, error.ToString());
        var text = output.ToString();
        text.ShouldContain($"SHA-256 fingerprint: {server.Fingerprint}");
        text.ShouldContain("Type yes or no: ");
        text.ShouldContain("Secured with TLS 1.3");
        text.IndexOf("Type yes or no", StringComparison.Ordinal).ShouldBeLessThan(text.IndexOf("Username:", StringComparison.Ordinal));
    }

    [TestCase("ftp.example.com", "ftp.example.com")]
    [TestCase("127.0.0.1", "ip-127-0-0-1.invalid")]
    [TestCase("::1", "ip-00000000000000000000000000000001.invalid")]
    [TestCase("[::1]", "ip-00000000000000000000000000000001.invalid")]
    public void An_address_gets_a_TLS_name_that_names_no_real_host(string host, string name) =>
        ClientTls.SessionName(host).ShouldBe(name);

    [Test]
    public void For_an_address_the_name_check_is_the_certificate_naming_that_address()
    {
        var (pem, key) = SelfSignedCertificate.Create("localhost", DateTimeOffset.UtcNow);
        using var certificate = X509Certificate2.CreateFromPem(pem, key);
        const SslPolicyErrors Chain = SslPolicyErrors.RemoteCertificateChainErrors;
        const SslPolicyErrors Both = Chain | SslPolicyErrors.RemoteCertificateNameMismatch;

        ClientTls.NameErrors("127.0.0.1", certificate, Both).ShouldBe(Chain, "the self-signed certificate names 127.0.0.1");
        ClientTls.NameErrors("::1", certificate, Both).ShouldBe(Chain);
        ClientTls.NameErrors("10.1.2.3", certificate, Chain).ShouldBe(Both);
        ClientTls.NameErrors("localhost", certificate, Both).ShouldBe(Both, "a host name was checked by .NET itself");
    }

    private Task<ReplResult> RunAsync(IFtpTestServer server, string[] args, params string[] lines) =>
        ReplTests.RunReplAsync(server.Host, server.Port, local, ["--known-hosts", knownHosts, .. args], new ScriptReader([.. lines]));
}
