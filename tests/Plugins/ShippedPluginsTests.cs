using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Plugins.PluginTestServer;

namespace ScriptFtp.Tests.Plugins;

/// <summary>The plugins in the repository's plugins/ folder, as shipped.</summary>
[TestFixture]
public sealed class ShippedPluginsTests
{
    private static readonly byte[] Known = Encoding.UTF8.GetBytes("The quick brown fox jumps over the lazy dog\n");

    private PluginTestServer server = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var quota = ScriptFtp.Toml.Toml.Parse("""
            default_mb = 1024
            [users]
            demo = 1
            """, "ftp.toml");
        server = await PluginTestServer.StartAsync(ShippedPlugins(),
            c => c with { PluginSettings = c.PluginSettings.SetItem("quota", quota) });
        Directory.CreateDirectory(server.Server.DemoHome);
        Directory.CreateDirectory(server.Server.AdminHome);
        await File.WriteAllBytesAsync(Path.Combine(server.Server.DemoHome, "fox.txt"), Known);
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await server.DisposeAsync();

    [Test]
    public void They_all_load_without_errors()
    {
        server.Plugins.Errors.ShouldBeEmpty();
        server.Plugins.Loaded.ShouldBe(["echo", "hash", "quota", "who"]);
        server.Server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Hash_commands_give_the_checksum_of_a_known_file()
    {
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(Known));
        (await ftp.SendAsync("XSHA256 fox.txt")).Text.ShouldBe($"250 {sha256}");
        (await ftp.SendAsync("XMD5 /fox.txt")).Text.ShouldBe($"250 {Convert.ToHexStringLower(MD5.HashData(Known))}");
        (await ftp.SendAsync("HASH fox.txt")).Text.ShouldBe($"213 SHA-256 0-{Known.Length} {sha256} fox.txt");
        (await ftp.SendAsync("XSHA256 missing.txt")).Code.ShouldBe(550);
        (await ftp.SendAsync("XSHA256 ../../users.toml")).Code.ShouldBe(550);
        (await ftp.SendAsync("XSHA256")).Code.ShouldBe(501);
        server.Server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Feat_announces_hash_and_opts_hash_answers_while_other_options_reach_the_built_in()
    {
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        (await ftp.SendAsync("FEAT")).Text.Split('\n').ShouldContain(" HASH SHA-1;SHA-256*;SHA-512;MD5;CRC32");
        (await ftp.SendAsync("OPTS HASH")).Text.ShouldBe("200 SHA-256");
        (await ftp.SendAsync("OPTS hash sha-256")).Text.ShouldBe("200 SHA-256");
        (await ftp.SendAsync("OPTS HASH WHIRLPOOL")).Code.ShouldBe(501);
        (await ftp.SendAsync("OPTS HASH sha-512")).Text.ShouldBe("200 SHA-512");
        (await ftp.SendAsync("OPTS HASH")).Text.ShouldBe("200 SHA-512");
        (await ftp.SendAsync("FEAT")).Text.Split('\n').ShouldContain(" HASH SHA-1;SHA-256;SHA-512*;MD5;CRC32");
        var sha512 = Convert.ToHexStringLower(SHA512.HashData(Known));
        (await ftp.SendAsync("HASH fox.txt")).Text.ShouldBe($"213 SHA-512 0-{Known.Length} {sha512} fox.txt");
        (await ftp.SendAsync("OPTS HASH CRC32")).Text.ShouldBe("200 CRC32");
        (await ftp.SendAsync("HASH fox.txt")).Text.ShouldBe($"213 CRC32 0-{Known.Length} {System.IO.Hashing.Crc32.HashToUInt32(Known):x8} fox.txt");

        // The choice belongs to the session: another one still hashes with SHA-256.
        await using var other = await RawFtp.LoginAsync(server.Port);
        (await other.SendAsync("FEAT")).Text.Split('\n').ShouldContain(" HASH SHA-1;SHA-256*;SHA-512;MD5;CRC32");
        (await other.SendAsync("OPTS HASH")).Text.ShouldBe("200 SHA-256");
        (await ftp.SendAsync("OPTS UTF8 ON")).Code.ShouldBe(200);
        (await ftp.SendAsync("OPTS MLST type;size;")).Text.ShouldBe("200 MLST OPTS type;size;");
        (await ftp.SendAsync("OPTS BOGUS")).Code.ShouldBe(501);
        (await ftp.SendAsync("OPTS")).Code.ShouldBe(501);
        server.Server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Checksums_match_pythons_zlib_and_hashlib_for_a_multi_megabyte_file_and_a_range()
    {
        var python = ScriptFtp.Tests.Integration.Tools.Require("python3");
        const string name = "big file é.bin";
        var path = Path.Combine(server.Server.DemoHome, name);
        ScriptFtp.Tests.Integration.Tools.WriteRandomFile(path, 3 * 1024 * 1024 + 7, seed: 13);
        try
        {
            // Python's own answers: the CRC as zlib prints it, upper case, whole and for bytes 1000..2_000_000-1.
            var script = """
                import hashlib, sys, zlib
                data = open(sys.argv[1], 'rb').read()
                print('%08X' % zlib.crc32(data))
                print('%08X' % zlib.crc32(data[1000:2000000]))
                print('%08X' % zlib.crc32(data[5:]))
                print(hashlib.sha1(data).hexdigest())
                print(hashlib.sha512(data).hexdigest())
                """;
            var result = await ScriptFtp.Tests.Integration.Tools.RunAsync(python, ["-c", script, path]);
            result.ExitCode.ShouldBe(0, result.Output);
            var expected = ScriptFtp.Tests.Integration.Tools.Lines(result.Stdout);

            await using var ftp = await RawFtp.LoginAsync(server.Port);
            (await ftp.SendAsync($"XCRC {name}")).Text.ShouldBe($"250 {expected[0]}");
            (await ftp.SendAsync($"XCRC {name} 1000 2000000")).Text.ShouldBe($"250 {expected[1]}");
            (await ftp.SendAsync($"XCRC {name} 5")).Text.ShouldBe($"250 {expected[2]}");
            (await ftp.SendAsync($"XSHA1 {name}")).Text.ShouldBe($"250 {expected[3]}");
            (await ftp.SendAsync($"XSHA512 {name}")).Text.ShouldBe($"250 {expected[4]}");
            (await ftp.SendAsync($"XCRC {name} 10 5")).Code.ShouldBe(501);
            (await ftp.SendAsync($"XCRC {name} 0 999999999")).Code.ShouldBe(501);
            (await ftp.SendAsync("XCRC missing.bin 0 10")).Code.ShouldBe(550);
            (await ftp.SendAsync("XSHA1 ../../users.toml")).Code.ShouldBe(550);
            (await ftp.SendAsync("XCRC")).Code.ShouldBe(501);
            server.Server.ShouldHaveLoggedNoErrors();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task Who_lists_sessions_for_an_admin_and_is_refused_to_others()
    {
        await using var demo = await RawFtp.LoginAsync(server.Port);
        (await demo.SendAsync("CLNT WinSCP-release-6.3.5")).Code.ShouldBe(200);
        await using var admin = await RawFtp.LoginAsync(server.Port, TestServer.AdminUser, TestServer.AdminPassword);
        var (code, text) = await admin.SendAsync("WHO");
        code.ShouldBe(211);
        var lines = text.Split('\n');
        lines[0].ShouldStartWith("211-");
        lines[^1].ShouldBe("211 End");
        lines.ShouldContain(l => l.Contains(" demo ") && l.Contains("127.0.0.1") && l.Contains(" WinSCP-release-6.3.5 "));
        lines.ShouldContain(l => l.Contains(" admin ") && l.Contains(" - "));
        lines[1].ShouldContain(" CLIENT ");
        (await demo.SendAsync("WHO")).Code.ShouldBe(550);
    }

    [Test]
    public async Task Quota_refuses_an_upload_over_the_limit_and_leaves_no_file()
    {
        await File.WriteAllBytesAsync(Path.Combine(server.Server.DemoHome, "big.bin"), new byte[1024 * 1024 + 1]);
        try
        {
            await using var demo = await RawFtp.LoginAsync(server.Port);
            var (code, text) = await UploadAsync(demo, "more.bin", [1, 2, 3]);
            code.ShouldBe(552);
            text.ShouldContain("Quota exceeded");
            File.Exists(Path.Combine(server.Server.DemoHome, "more.bin")).ShouldBeFalse();
            (await demo.SendAsync("SITE QUOTA")).Text.ShouldBe("200 You use 1.0 MB of 1.0 MB.");

            // The admin falls under default_mb and may upload.
            await using var admin = await RawFtp.LoginAsync(server.Port, TestServer.AdminUser, TestServer.AdminPassword);
            (await UploadAsync(admin, "ok.bin", [1, 2, 3])).Code.ShouldBe(226);
        }
        finally
        {
            File.Delete(Path.Combine(server.Server.DemoHome, "big.bin"));
        }
    }

    [Test]
    public async Task Quota_cuts_off_an_upload_that_would_pass_the_limit_and_keeps_nothing_of_it()
    {
        // A server of its own: the quota plugin remembers usage, which would leak into the other quota test.
        var quota = ScriptFtp.Toml.Toml.Parse("default_mb = 1", "ftp.toml");
        await using var server = await PluginTestServer.StartAsync(
            ShippedPlugins().Where(p => p.Key == "quota.csx").ToDictionary(),
            c => c with { PluginSettings = c.PluginSettings.SetItem("quota", quota) });
        Directory.CreateDirectory(server.Server.DemoHome);
        var fox = Path.Combine(server.Server.DemoHome, "fox.txt");
        await File.WriteAllBytesAsync(fox, Known);
        await using var demo = await RawFtp.LoginAsync(server.Port);
        var tooBig = new byte[2 * 1024 * 1024];

        var (code, text) = await UploadAsync(demo, "huge.bin", tooBig);
        code.ShouldBe(552);
        text.ShouldContain("Exceeded storage allocation");
        File.Exists(Path.Combine(server.Server.DemoHome, "huge.bin")).ShouldBeFalse();
        ScriptFtp.Tests.Integration.Tools.PartialFiles(server.Server.Root).ShouldBeEmpty();

        (await UploadAsync(demo, "fox.txt", tooBig, verb: "APPE")).Code.ShouldBe(552);
        File.ReadAllBytes(fox).ShouldBe(Known, "an append cut off by the quota must be undone");

        // What is left is exactly 1 MiB less fox.txt: one byte more is cut off, the exact amount is stored.
        var left = 1024 * 1024 - Known.Length;
        (await UploadAsync(demo, "over.bin", new byte[left + 1])).Code.ShouldBe(552);
        (await UploadAsync(demo, "exact.bin", new byte[left])).Code.ShouldBe(226);
        new FileInfo(Path.Combine(server.Server.DemoHome, "exact.bin")).Length.ShouldBe(left);
        File.Exists(Path.Combine(server.Server.DemoHome, "over.bin")).ShouldBeFalse();
        (await demo.SendAsync("NOOP")).Code.ShouldBe(200);
        server.Server.ShouldHaveLoggedNoErrors();
    }

    /// <summary>A server with only the quota plugin, 1 MB for everyone, overwrites allowed, and the demo home holding fox.txt.</summary>
    private static async Task<PluginTestServer> QuotaServerAsync()
    {
        var quota = ScriptFtp.Toml.Toml.Parse("default_mb = 1", "ftp.toml");
        var server = await PluginTestServer.StartAsync(
            ShippedPlugins().Where(p => p.Key == "quota.csx").ToDictionary(),
            c => c with { PluginSettings = c.PluginSettings.SetItem("quota", quota), AllowOverwrite = true });
        Directory.CreateDirectory(server.Server.DemoHome);
        await File.WriteAllBytesAsync(Path.Combine(server.Server.DemoHome, "fox.txt"), Known);
        return server;
    }

    private static int Counts(PluginTestServer server) =>
        server.Server.Log.Events.Count(e => e.RenderMessage().StartsWith("Counted the home of", StringComparison.Ordinal));

    [Test]
    public async Task Quota_counts_a_home_of_20000_files_once_for_50_uploads()
    {
        await using var server = await QuotaServerAsync();
        var many = Path.Combine(server.Server.DemoHome, "many");
        Directory.CreateDirectory(many);
        for (var i = 0; i < 20_000; i++) File.WriteAllBytes(Path.Combine(many, $"{i}.txt"), [1]);
        await using var demo = await RawFtp.LoginAsync(server.Port);

        for (var i = 0; i < 50; i++) (await UploadAsync(demo, $"up{i}.bin", new byte[100])).Code.ShouldBe(226);

        Counts(server).ShouldBe(1, "the home is counted on the first upload only");
        // 20,000 + 44 + 5,000 bytes: what is left is exact, so one byte more is cut off.
        var left = 1024 * 1024 - 20_000 - Known.Length - 5_000;
        (await UploadAsync(demo, "over.bin", new byte[left + 1])).Code.ShouldBe(552);
        (await UploadAsync(demo, "exact.bin", new byte[left])).Code.ShouldBe(226);
        Counts(server).ShouldBe(1);
        server.Server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Quota_keeps_usage_right_after_overwrites_appends_and_deletes_without_counting_again()
    {
        await using var server = await QuotaServerAsync();
        await using var demo = await RawFtp.LoginAsync(server.Port);
        const int K = 1024;

        (await UploadAsync(demo, "a.bin", new byte[600 * K])).Code.ShouldBe(226);
        // Replacing 600 KiB with 100 KiB gives 500 KiB back: 800 KiB more fits only if it did.
        (await UploadAsync(demo, "a.bin", new byte[100 * K])).Code.ShouldBe(226);
        (await UploadAsync(demo, "b.bin", new byte[800 * K])).Code.ShouldBe(226);
        (await demo.SendAsync("SITE QUOTA")).Text.ShouldBe("200 You use 0.9 MB of 1.0 MB.");
        (await demo.SendAsync("DELE b.bin")).Code.ShouldBe(250);
        // The delete reaches the plugin in the background.
        for (var i = 0; i < 100 && (await demo.SendAsync("SITE QUOTA")).Text.Contains("0.9 MB"); i++) await Task.Delay(50);
        (await demo.SendAsync("SITE QUOTA")).Text.ShouldBe("200 You use 0.1 MB of 1.0 MB.");
        (await UploadAsync(demo, "fox.txt", new byte[1000], verb: "APPE")).Code.ShouldBe(226);

        var left = 1024 * K - Known.Length - 1000 - 100 * K;
        (await UploadAsync(demo, "over.bin", new byte[left + 1])).Code.ShouldBe(552);
        (await UploadAsync(demo, "exact.bin", new byte[left])).Code.ShouldBe(226);
        Counts(server).ShouldBe(1, "the count was kept up to date, not made again");
        Directory.EnumerateFiles(server.Server.DemoHome).Sum(f => new FileInfo(f).Length).ShouldBe(1024 * K);
        server.Server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Quota_uploads_running_at_once_cannot_together_pass_the_limit()
    {
        await using var server = await QuotaServerAsync();
        await using var one = await RawFtp.LoginAsync(server.Port);
        await using var two = await RawFtp.LoginAsync(server.Port);
        (await one.SendAsync("SITE QUOTA")).Code.ShouldBe(200);

        // Both have passed the check (150) before either sends a byte: each alone would fit.
        var uploads = new List<(RawFtp Ftp, TcpClient Data)>();
        foreach (var (ftp, name) in new[] { (one, "one.bin"), (two, "two.bin") })
        {
            var data = await ftp.EpsvAsync();
            (await ftp.SendAsync($"STOR {name}")).Code.ShouldBe(150);
            uploads.Add((ftp, data));
        }
        var codes = await Task.WhenAll(uploads.Select(async u =>
        {
            try
            {
                await u.Data.GetStream().WriteAsync(new byte[700 * 1024]);
                u.Data.Client.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is IOException or SocketException) { }
            u.Data.Close();
            return (await u.Ftp.ReadAsync()).Code;
        }));

        codes.ShouldContain(552);
        Directory.EnumerateFiles(server.Server.DemoHome).Sum(f => new FileInfo(f).Length).ShouldBeLessThanOrEqualTo(1024 * 1024);
        ScriptFtp.Tests.Integration.Tools.PartialFiles(server.Server.Root).ShouldBeEmpty();
        // What the cut-off upload took is given back: exactly what is left still fits.
        var left = 1024 * 1024 - Directory.EnumerateFiles(server.Server.DemoHome).Sum(f => new FileInfo(f).Length);
        (await UploadAsync(one, "exact.bin", new byte[left])).Code.ShouldBe(226);
        server.Server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Site_echo_answers_with_the_text()
    {
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        (await ftp.SendAsync("SITE ECHO hello there")).Text.ShouldBe("200 hello there");
        (await ftp.SendAsync("SITE ECHO")).Code.ShouldBe(501);
        var help = (await ftp.SendAsync("SITE HELP")).Text;
        help.ShouldContain("SITE ECHO <text>");
        help.ShouldContain("SITE QUOTA");
    }
}
