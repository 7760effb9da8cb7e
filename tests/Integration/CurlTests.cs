using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>curl against the real server: transfers, listings, active and passive data connections, errors and exit codes.</summary>
public class CurlTests
{
    private string curl = "";
    private string local = "";

    [SetUp]
    public void SetUp()
    {
        curl = Tools.Require("curl");
        local = Tools.NewFolder();
    }

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(local);

    private static string Url(TestServer server, string path = "") => $"ftp://127.0.0.1:{server.Port}/{path}";

    /// <summary>curl with the demo login, verbose (the control dialogue goes to stderr as "&gt; CMD" / "&lt; CODE" lines).</summary>
    private Task<ProcessResult> Curl(params string[] arguments) =>
        Tools.RunAsync(curl, ["-sS", "-v", "--connect-timeout", "10", "--max-time", "60", "-u", $"{TestServer.DemoUser}:{TestServer.DemoPassword}", .. arguments],
            timeout: TimeSpan.FromSeconds(70), workingDirectory: local);

    [Test]
    public async Task Upload_with_T_stores_the_exact_bytes()
    {
        await using var server = await TestServer.StartAsync();
        var source = Path.Combine(local, "up.bin");
        Tools.WriteRandomFile(source, 3_000_123, seed: 1);

        var result = await Curl("-T", source, Url(server, "up.bin"));

        result.ExitCode.ShouldBe(0, result.Output);
        result.Stderr.ShouldContain("< 226");
        Tools.Sha256(Path.Combine(server.DemoHome, "up.bin")).ShouldBe(Tools.Sha256(source));
        Tools.PartialFiles(server.DemoHome).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Download_with_o_gets_the_exact_bytes()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        var remote = Path.Combine(server.DemoHome, "down.bin");
        Tools.WriteRandomFile(remote, 2_500_001, seed: 2);
        var target = Path.Combine(local, "down.bin");

        var result = await Curl("-o", target, Url(server, "down.bin"));

        result.ExitCode.ShouldBe(0, result.Output);
        Tools.Sha256(target).ShouldBe(Tools.Sha256(remote));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Zero_byte_files_go_up_and_down()
    {
        await using var server = await TestServer.StartAsync();
        var empty = Path.Combine(local, "empty.txt");
        File.WriteAllBytes(empty, []);

        (await Curl("-T", empty, Url(server, "empty.txt"))).ExitCode.ShouldBe(0);
        new FileInfo(Path.Combine(server.DemoHome, "empty.txt")).Length.ShouldBe(0);
        var back = Path.Combine(local, "back.txt");
        var result = await Curl("-o", back, Url(server, "empty.txt"));

        result.ExitCode.ShouldBe(0, result.Output);
        new FileInfo(back).Length.ShouldBe(0);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Listing_a_directory_shows_its_entries_long_and_names_only()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(Path.Combine(server.DemoHome, "sub folder"));
        File.WriteAllText(Path.Combine(server.DemoHome, "a.txt"), "hello");
        File.WriteAllText(Path.Combine(server.DemoHome, "ünï cödé.txt"), "x");

        var longList = await Curl(Url(server));
        var names = await Curl("--list-only", Url(server));

        longList.ExitCode.ShouldBe(0, longList.Output);
        longList.Stderr.ShouldContain("> LIST");
        var lines = Tools.Lines(longList.Stdout);
        lines.Length.ShouldBe(3, longList.Stdout);
        lines.ShouldContain(l => l.StartsWith('d') && l.EndsWith(" sub folder"));
        lines.ShouldContain(l => l.StartsWith("-rw") && l.Contains(" 5 ") && l.EndsWith(" a.txt"));
        lines.ShouldContain(l => l.EndsWith(" ünï cödé.txt"));

        names.ExitCode.ShouldBe(0, names.Output);
        names.Stderr.ShouldContain("> NLST");
        Tools.Lines(names.Stdout).Order(StringComparer.Ordinal)
            .ShouldBe(["a.txt", "sub folder", "ünï cödé.txt"]);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Passive_mode_uses_EPSV_and_falls_back_to_PASV_when_EPSV_is_disabled()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        File.WriteAllText(Path.Combine(server.DemoHome, "p.txt"), "passive");

        var epsv = await Curl("--ftp-pasv", Url(server, "p.txt"));
        var pasv = await Curl("--ftp-pasv", "--disable-epsv", Url(server, "p.txt"));

        epsv.ExitCode.ShouldBe(0, epsv.Output);
        epsv.Stdout.ShouldBe("passive");
        epsv.Stderr.ShouldContain("< 229");
        pasv.ExitCode.ShouldBe(0, pasv.Output);
        pasv.Stdout.ShouldBe("passive");
        pasv.Stderr.ShouldContain("> PASV");
        pasv.Stderr.ShouldContain("< 227 Entering Passive Mode (127,0,0,1,");
        server.ShouldHaveLoggedNoErrors();
    }

    [TestCase(false, "EPRT |1|127.0.0.1|")]
    [TestCase(true, "PORT 127,0,0,1,")]
    public async Task Active_mode_uploads_and_downloads(bool disableEprt, string command)
    {
        await using var server = await TestServer.StartAsync();
        var source = Path.Combine(local, "active.bin");
        Tools.WriteRandomFile(source, 1_234_567, seed: 3);
        string[] active = disableEprt ? ["--ftp-port", "127.0.0.1", "--disable-eprt"] : ["--ftp-port", "127.0.0.1"];

        var up = await Curl([.. active, "-T", source, Url(server, "active.bin")]);
        var back = Path.Combine(local, "back.bin");
        var down = await Curl([.. active, "-o", back, Url(server, "active.bin")]);

        up.ExitCode.ShouldBe(0, up.Output);
        up.Stderr.ShouldContain("> " + command);
        up.Stderr.ShouldContain("< 200");
        down.ExitCode.ShouldBe(0, down.Output);
        down.Stderr.ShouldContain("> " + command);
        Tools.Sha256(Path.Combine(server.DemoHome, "active.bin")).ShouldBe(Tools.Sha256(source));
        Tools.Sha256(back).ShouldBe(Tools.Sha256(source));
        server.ShouldHaveLoggedNoErrors();
    }

    [TestCase(false, "> EPSV", "< 229")]
    [TestCase(true, "> EPRT |2|::1|", "< 200")]
    public async Task Transfers_over_IPv6_use_the_extended_commands(bool active, string command, string reply)
    {
        if (!System.Net.Sockets.Socket.OSSupportsIPv6) Assert.Ignore("IPv6 is not available");
        await using var server = await TestServer.StartAsync(listen: System.Net.IPAddress.IPv6Loopback);
        var source = Path.Combine(local, "six.bin");
        Tools.WriteRandomFile(source, 654_321, seed: 16);
        var url = $"ftp://[::1]:{server.Port}/six.bin";
        string[] mode = active ? ["--ftp-port", "::1"] : ["--ftp-pasv"];

        var up = await Curl([.. mode, "-g", "-T", source, url]);
        var back = Path.Combine(local, "back.bin");
        var down = await Curl([.. mode, "-g", "-o", back, url]);

        up.ExitCode.ShouldBe(0, up.Output);
        down.ExitCode.ShouldBe(0, down.Output);
        down.Stderr.ShouldContain(command);
        down.Stderr.ShouldContain(reply);
        down.Stderr.ShouldNotContain("> PASV");
        down.Stderr.ShouldNotContain("> PORT");
        Tools.Sha256(Path.Combine(server.DemoHome, "six.bin")).ShouldBe(Tools.Sha256(source));
        Tools.Sha256(back).ShouldBe(Tools.Sha256(source));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Ascii_mode_stores_LF_and_sends_CRLF()
    {
        await using var server = await TestServer.StartAsync();
        var text = "first line\nsecond line\n\nünïcödé line\nlast without newline";
        var source = Path.Combine(local, "text.txt");
        File.WriteAllText(source, text);

        // --crlf makes curl send CRLF line ends, as a Windows client would; the server stores Unix LF.
        var up = await Curl("-B", "--crlf", "-T", source, Url(server, "text.txt"));
        up.ExitCode.ShouldBe(0, up.Output);
        up.Stderr.ShouldContain("> TYPE A");
        File.ReadAllText(Path.Combine(server.DemoHome, "text.txt")).ShouldBe(text);

        // In binary mode the bytes come as stored; in ASCII mode every LF travels as CRLF (curl turns them back).
        var binary = Path.Combine(local, "binary.txt");
        (await Curl("-o", binary, Url(server, "text.txt"))).ExitCode.ShouldBe(0);
        File.ReadAllText(binary).ShouldBe(text);
        var ascii = Path.Combine(local, "ascii.txt");
        var down = await Curl("-B", "-o", ascii, Url(server, "text.txt"));
        down.ExitCode.ShouldBe(0, down.Output);
        down.Stderr.ShouldContain("> TYPE A");
        File.ReadAllText(ascii).ShouldBe(text);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Storing_onto_an_existing_file_is_refused_with_exit_25_and_the_file_is_untouched()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        var existing = Path.Combine(server.DemoHome, "keep.bin");
        File.WriteAllBytes(existing, Tools.RandomBytes(100_000, seed: 4));
        var before = Tools.Sha256(existing);
        var beforeTime = File.GetLastWriteTimeUtc(existing);
        var other = Path.Combine(local, "other.bin");
        Tools.WriteRandomFile(other, 200_000, seed: 5);

        var result = await Curl("-T", other, Url(server, "keep.bin"));

        result.ExitCode.ShouldBe(25, result.Output); // CURLE_UPLOAD_FAILED
        result.Stderr.ShouldContain("< 550");
        Tools.Sha256(existing).ShouldBe(before);
        File.GetLastWriteTimeUtc(existing).ShouldBe(beforeTime);
        Directory.GetFiles(server.DemoHome).ShouldBe([existing]);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Storing_onto_an_existing_file_replaces_it_when_overwriting_is_allowed()
    {
        await using var server = await TestServer.StartAsync(c => c with { AllowOverwrite = true });
        Directory.CreateDirectory(server.DemoHome);
        var existing = Path.Combine(server.DemoHome, "replace.bin");
        File.WriteAllBytes(existing, Tools.RandomBytes(300_000, seed: 6));
        var other = Path.Combine(local, "other.bin");
        Tools.WriteRandomFile(other, 1000, seed: 7);

        var result = await Curl("-T", other, Url(server, "replace.bin"));

        result.ExitCode.ShouldBe(0, result.Output);
        Tools.Sha256(existing).ShouldBe(Tools.Sha256(other));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Retrieving_a_missing_file_fails_with_exit_78_and_a_550_reply()
    {
        await using var server = await TestServer.StartAsync();
        var target = Path.Combine(local, "missing.bin");

        var result = await Curl("-o", target, Url(server, "missing.bin"));

        result.ExitCode.ShouldBe(78, result.Output); // CURLE_REMOTE_FILE_NOT_FOUND
        result.Stderr.ShouldContain("< 550");
        File.Exists(target).ShouldBeFalse();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Resuming_a_partial_download_with_C_sends_REST_and_completes_the_file()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        var remote = Path.Combine(server.DemoHome, "big.bin");
        Tools.WriteRandomFile(remote, 5_000_000, seed: 8);
        var partial = Path.Combine(local, "big.bin");
        await using (var source = File.OpenRead(remote))
        await using (var target = File.Create(partial))
        {
            var head = new byte[1_234_567];
            await source.ReadExactlyAsync(head);
            await target.WriteAsync(head);
        }

        var result = await Curl("-C", "-", "-o", partial, Url(server, "big.bin"));

        result.ExitCode.ShouldBe(0, result.Output);
        result.Stderr.ShouldContain("> REST 1234567");
        result.Stderr.ShouldContain("< 350");
        Tools.Sha256(partial).ShouldBe(Tools.Sha256(remote));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Resuming_a_partial_upload_with_C_appends_the_rest()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        var source = Path.Combine(local, "up.bin");
        Tools.WriteRandomFile(source, 4_000_000, seed: 9);
        var remote = Path.Combine(server.DemoHome, "up.bin");
        File.WriteAllBytes(remote, File.ReadAllBytes(source)[..1_500_000]);

        var result = await Curl("-C", "-", "-T", source, Url(server, "up.bin"));

        result.ExitCode.ShouldBe(0, result.Output);
        result.Stderr.ShouldContain("> SIZE up.bin");
        result.Stderr.ShouldContain("< 213 1500000");
        result.Stderr.ShouldContain("> APPE up.bin");
        Tools.Sha256(remote).ShouldBe(Tools.Sha256(source));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Ftp_create_dirs_makes_the_missing_folders_of_an_upload()
    {
        await using var server = await TestServer.StartAsync();
        var source = Path.Combine(local, "deep.txt");
        File.WriteAllText(source, "deep down");

        var result = await Curl("--ftp-create-dirs", "-T", source, Url(server, "a/b%20c/d/deep.txt"));

        result.ExitCode.ShouldBe(0, result.Output);
        result.Stderr.ShouldContain("> MKD a");
        File.ReadAllText(Path.Combine(server.DemoHome, "a", "b c", "d", "deep.txt")).ShouldBe("deep down");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Quote_commands_run_before_and_after_the_transfer()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        File.WriteAllText(Path.Combine(server.DemoHome, "old.txt"), "rename me");

        var result = await Curl("-Q", "MKD x", "-Q", "RNFR old.txt", "-Q", "RNTO x/new.txt", "-Q", "-DELE x/new.txt", "-Q", "-RMD x", "--list-only", Url(server));

        result.ExitCode.ShouldBe(0, result.Output);
        result.Stderr.ShouldContain("< 257");
        result.Stderr.ShouldContain("< 350");
        // The listing ran between the quote and post-quote commands: it saw x and not old.txt.
        Tools.Lines(result.Stdout).ShouldBe(["x"]);
        Directory.EnumerateFileSystemEntries(server.DemoHome).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_failing_quote_command_ends_curl_with_exit_21()
    {
        await using var server = await TestServer.StartAsync();

        var result = await Curl("-Q", "RMD no-such-dir", Url(server));

        result.ExitCode.ShouldBe(21, result.Output); // CURLE_QUOTE_ERROR
        result.Stderr.ShouldContain("< 550");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_wrong_password_ends_curl_with_exit_67()
    {
        await using var server = await TestServer.StartAsync();

        var result = await Tools.RunAsync(curl, ["-sS", "-v", "--max-time", "30", "-u", "demo:wrong", Url(server)], timeout: TimeSpan.FromSeconds(40));

        result.ExitCode.ShouldBe(67, result.Output); // CURLE_LOGIN_DENIED
        result.Stderr.ShouldContain("< 530");
        server.ShouldHaveLoggedNoErrors();
    }
}
