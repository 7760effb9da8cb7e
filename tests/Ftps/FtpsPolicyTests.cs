using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using ScriptFtp.Security;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;
using ScriptFtp.Toml;

namespace ScriptFtp.Tests.Ftps;

/// <summary>
/// RFC 4217's replies, the per-user TLS rule, the end of a TLS upload as the server judges it, and lftp mirroring
/// both ways, all over real sockets to the real server.
/// </summary>
public class FtpsPolicyTests
{
    private static readonly IPAddress Outside = IPAddress.Parse("127.0.0.2");
    private static readonly ImmutableArray<AddressRange> OnlyFirstLoopback = [AddressRange.Parse("127.0.0.1/32")];
    private string _local = "";

    [SetUp]
    public void SetUp() => _local = Tools.NewFolder();

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(_local);

    [Test]
    public async Task Pbsz_and_prot_out_of_order_or_unsupported_get_their_rfc_4217_replies()
    {
        await using var server = await FtpsTests.StartTlsAsync();
        await using var client = await TlsFtp.ConnectAsync(server.Port);
        (await client.SendAsync("PBSZ 0")).Code.ShouldBe(503, "PBSZ before AUTH");
        await client.StartTlsAsync();
        (await client.SendAsync("PROT P")).Code.ShouldBe(503, "PROT before PBSZ");
        (await client.SendAsync("PBSZ 0")).Code.ShouldBe(200);
        (await client.SendAsync("PROT S")).Code.ShouldBe(536);
        (await client.SendAsync("PROT E")).Code.ShouldBe(536);
        (await client.SendAsync("PROT Q")).Code.ShouldBe(504);
        (await client.LoginAsync(TestServer.DemoUser, TestServer.DemoPassword)).Code.ShouldBe(230);
        (await client.SendAsync("PROT C")).Code.ShouldBe(200);

        using var data = await client.OpenDataAsync();
        var refused = await client.SendAsync("LIST");
        refused.ShouldBe((521, "521 Data connections must be encrypted: use PBSZ 0 and PROT P."));
        (await client.SendAsync("PROT P")).Code.ShouldBe(200);
        (await client.SendAsync("REIN")).Code.ShouldBe(500, "REIN is not offered");
        (await client.SendAsync("CCC")).Code.ShouldBe(500, "CCC is not offered");
    }

    [Test]
    public async Task Auth_ssl_is_an_alias_and_feat_offers_auth_tls_pbsz_and_prot()
    {
        await using var server = await FtpsTests.StartTlsAsync();
        await using var client = await TlsFtp.ConnectAsync(server.Port);
        var feat = (await client.SendAsync("FEAT")).Text.Split('\n');
        feat.ShouldContain(" AUTH TLS");
        feat.ShouldContain(" PBSZ");
        feat.ShouldContain(" PROT");
        await client.StartTlsAsync("SSL");
        (await client.SendAsync("PBSZ 0")).Code.ShouldBe(200);
        (await client.LoginAsync(TestServer.DemoUser, TestServer.DemoPassword)).Code.ShouldBe(230);
    }

    [TestCase(true, 226)]
    [TestCase(false, 426)]
    public async Task A_tls_upload_stands_only_when_the_client_ends_it_with_close_notify(bool closeNotify, int expected)
    {
        await using var server = await FtpsTests.StartTlsAsync();
        await using var client = await TlsFtp.ConnectSecureAsync(server.Port);
        (await client.LoginAsync(TestServer.DemoUser, TestServer.DemoPassword)).Code.ShouldBe(230);
        var content = Tools.RandomBytes(3_000_000, seed: 4);
        using (var data = await client.OpenDataAsync())
        {
            await client.SendLineAsync("STOR up.bin");
            (await client.ReadAsync()).Code.ShouldBe(150);
            var tls = await client.SecureDataAsync(data);
            await tls.WriteAsync(content);
            await tls.FlushAsync();
            if (closeNotify) await tls.ShutdownAsync();
            // Without close_notify: a bare FIN, as a client that dies or is cut off mid-stream leaves it.
            data.Client.Shutdown(SocketShutdown.Send);
            (await client.ReadAsync()).Code.ShouldBe(expected);
        }
        var path = Path.Combine(server.DemoHome, "up.bin");
        if (closeNotify) File.ReadAllBytes(path).ShouldBe(content);
        else File.Exists(path).ShouldBeFalse("an upload without close_notify must leave nothing under the real name");
        Tools.PartialFiles(server.DemoHome).ShouldBeEmpty();
    }

    [Test]
    public async Task A_users_own_tls_rule_overrides_the_address_rule_both_ways()
    {
        var users = TestServer.DefaultUsersToml() + $"""


            [users.camera]
            password = "{TestHashes.Of("camera-pass")}"
            tls = "optional"

            [users.careful]
            password = "{TestHashes.Of("careful-pass")}"
            tls = "required"
            """;
        await using var server = await FtpsTests.StartTlsAsync(c => c with { PlainAllowedFrom = OnlyFirstLoopback }, users);

        // From outside the plain list: the address rule refuses demo, the account rule lets the old camera in without TLS.
        await using (var outside = await RawFtp.ConnectAsync(server.Port, from: Outside))
        {
            (await outside.SendAsync("USER demo")).Code.ShouldBe(530);
            (await outside.LoginAsync("camera", "camera-pass")).Code.ShouldBe(230);
            await outside.UploadAsync("snapshot.jpg", [1, 2, 3]);
        }
        File.ReadAllBytes(Path.Combine(server.Root, "camera", "snapshot.jpg")).ShouldBe(new byte[] { 1, 2, 3 });

        // From inside the plain list: the address rule lets demo in, the account rule refuses careful before its password.
        await using (var inside = await RawFtp.ConnectAsync(server.Port))
        {
            (await inside.SendAsync("USER careful")).ShouldBe((530, "530 This server requires encryption: use AUTH TLS (FTPS)."));
            (await inside.SendAsync("PASS careful-pass")).Code.ShouldBe(503, "no USER is pending after the refusal");
            (await inside.LoginAsync(TestServer.DemoUser, TestServer.DemoPassword)).Code.ShouldBe(230);
        }
        await using (var secure = await TlsFtp.ConnectAsync(server.Port))
        {
            await secure.StartTlsAsync();
            (await secure.LoginAsync("careful", "careful-pass")).Code.ShouldBe(230);
            using var data = await secure.OpenDataAsync();
            (await secure.SendAsync("LIST")).Code.ShouldBe(521, "a user who requires TLS requires it on data connections too");
        }
    }

    [Test]
    public void Users_toml_with_an_unknown_tls_rule_is_refused_with_its_position()
    {
        var text = TestServer.DefaultUsersToml() + "\n\n[users.odd]\npassword = \"x-pass\"\ntls = \"sometimes\"\n";
        var error = Should.Throw<TomlException>(() => UsersFile.Parse(text, "users.toml", new HomeFolders(_local)));
        error.Message.ShouldStartWith("users.toml(");
        error.Message.ShouldContain("\"required\" or \"optional\"");
        error.Message.ShouldContain("sometimes");
    }

    [Test]
    public async Task Lftp_mirrors_a_tree_both_ways_over_tls()
    {
        var lftp = Tools.Require("lftp");
        await using var server = await FtpsTests.StartTlsAsync();
        var source = Path.Combine(_local, "source");
        Directory.CreateDirectory(Path.Combine(source, "deep", "deeper"));
        Directory.CreateDirectory(Path.Combine(source, "empty folder"));
        Tools.WriteRandomFile(Path.Combine(source, "big.bin"), 5_000_017, seed: 11);
        Tools.WriteRandomFile(Path.Combine(source, "deep", "middle.bin"), 70_000, seed: 12);
        Tools.WriteRandomFile(Path.Combine(source, "deep", "deeper", "résumé ünïcode.txt"), 1_234, seed: 13);
        File.WriteAllBytes(Path.Combine(source, "zero.bin"), []);
        var back = Path.Combine(_local, "back");

        var script = Path.Combine(_local, "mirror.lftp");
        File.WriteAllText(script, string.Join('\n',
            "set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate false; " +
            "set net:max-retries 1; set cmd:fail-exit true",
            $"open -u {TestServer.DemoUser},{TestServer.DemoPassword} ftp://127.0.0.1:{server.Port}",
            $"mirror -R --no-perms \"{source}\" tree",
            $"mirror tree \"{back}\"",
            "bye") + "\n");
        var run = await Tools.RunAsync(lftp, ["-f", script], timeout: TimeSpan.FromSeconds(120), workingDirectory: _local);

        run.ExitCode.ShouldBe(0, run.Output);
        var expected = Tools.Tree(source);
        Tools.Show(Tools.Tree(Path.Combine(server.DemoHome, "tree"))).ShouldBe(Tools.Show(expected));
        Tools.Show(Tools.Tree(back)).ShouldBe(Tools.Show(expected));
        server.Log.Contains("did not resume").ShouldBeFalse("lftp resumes the session on every data connection");
        server.ShouldHaveLoggedNoErrors();
    }
}
