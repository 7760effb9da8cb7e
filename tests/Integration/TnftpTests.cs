using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>tnftp (the BSD ftp) driven by a script on stdin, as shell scripts use it.</summary>
public class TnftpTests
{
    private string tnftp = "";
    private string local = "";

    [SetUp]
    public void SetUp()
    {
        tnftp = Tools.Require("tnftp");
        local = Tools.NewFolder();
    }

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(local);

    /// <summary>Runs tnftp -n -v -d with the login lines followed by <paramref name="script"/>; -d echoes the commands sent as "---> CMD".</summary>
    private Task<ProcessResult> Tnftp(TestServer server, string script) =>
        Tools.RunAsync(tnftp, ["-n", "-v", "-d"],
            stdin: $"open 127.0.0.1 {server.Port}\nuser {TestServer.DemoUser} {TestServer.DemoPassword}\n{script}\nbye\n",
            timeout: TimeSpan.FromSeconds(60), workingDirectory: local);

    [TestCase("", "EPSV", "229 Entering Extended Passive Mode")]
    [TestCase("epsv4 off", "PASV", "227 Entering Passive Mode (127,0,0,1,")]
    [TestCase("passive off", "EPRT |1|127.0.0.1|", "200 EPRT command successful")]
    [TestCase("passive off\nepsv4 off", "PORT 127,0,0,1,", "200 PORT command successful")]
    public async Task Put_get_and_ls_move_the_exact_bytes(string mode, string dataCommand, string dataReply)
    {
        await using var server = await TestServer.StartAsync();
        File.WriteAllBytes(Path.Combine(local, "up.bin"), Tools.RandomBytes(777_777, seed: 20));

        var result = await Tnftp(server, $"{mode}\nbinary\nput up.bin remote.bin\nget remote.bin back.bin\nls\n");

        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldContain("230 User demo logged in.");
        result.Stdout.ShouldContain("---> " + dataCommand);
        result.Stdout.ShouldContain(dataReply);
        result.Stdout.ShouldContain("777777 bytes sent");
        result.Stdout.ShouldContain("777777 bytes received");
        Tools.Lines(result.Stdout).ShouldContain(l => l.StartsWith("-rw") && l.EndsWith(" remote.bin"));
        Tools.Lines(result.Stdout).ShouldNotContain(l => System.Text.RegularExpressions.Regex.IsMatch(l, "^[45][0-9][0-9] "), result.Output); // no 4xx or 5xx reply
        Tools.Sha256(Path.Combine(server.DemoHome, "remote.bin")).ShouldBe(Tools.Sha256(Path.Combine(local, "up.bin")));
        Tools.Sha256(Path.Combine(local, "back.bin")).ShouldBe(Tools.Sha256(Path.Combine(local, "up.bin")));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Utf8_names_and_ascii_mode_round_trip()
    {
        await using var server = await TestServer.StartAsync();
        // Unix line endings locally; ASCII mode sends CRLF on the wire and the server stores LF again.
        File.WriteAllText(Path.Combine(local, "текст.txt"), "line one\nline two\nлиния три\n");

        var result = await Tnftp(server, "ascii\nput текст.txt 日本語.txt\nget 日本語.txt back.txt\nbinary\nget 日本語.txt raw.txt\n");

        result.ExitCode.ShouldBe(0, result.Output);
        File.ReadAllText(Path.Combine(server.DemoHome, "日本語.txt")).ShouldBe("line one\nline two\nлиния три\n");
        File.ReadAllText(Path.Combine(local, "back.txt")).ShouldBe("line one\nline two\nлиния три\n");
        File.ReadAllText(Path.Combine(local, "raw.txt")).ShouldBe("line one\nline two\nлиния три\n");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Folders_rename_and_delete()
    {
        await using var server = await TestServer.StartAsync();
        File.WriteAllText(Path.Combine(local, "a.txt"), "a");

        var result = await Tnftp(server, "mkdir d\ncd d\npwd\nput a.txt\nrename a.txt b.txt\nls\nsize b.txt\nmodtime b.txt\ndelete b.txt\ncd ..\nrmdir d\nls\n");

        result.ExitCode.ShouldBe(0, result.Output);
        result.Stdout.ShouldContain("257 \"/d\" created.");
        result.Stdout.ShouldContain("257 \"/d\" is the current directory.");
        result.Stdout.ShouldContain("350 Ready for RNTO.");
        result.Stdout.ShouldContain("250 Rename successful.");
        result.Stdout.ShouldContain("213 1");
        result.Stdout.ShouldContain("250 File deleted.");
        result.Stdout.ShouldContain("250 Directory removed.");
        Directory.EnumerateFileSystemEntries(server.DemoHome).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [TestCase("cd d\nmget *.txt", "NLST *.txt", "")]
    [TestCase("mget d/*.txt", "NLST d/*.txt", "d")]
    public async Task Mget_with_a_wildcard_downloads_the_matching_files(string script, string nlst, string into)
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(Path.Combine(server.DemoHome, "d"));
        File.WriteAllText(Path.Combine(server.DemoHome, "d", "one.txt"), "one");
        File.WriteAllText(Path.Combine(server.DemoHome, "d", "two.txt"), "two");
        File.WriteAllText(Path.Combine(server.DemoHome, "d", "skip.bin"), "not matched");

        var target = Directory.CreateDirectory(Path.Combine(local, into)).FullName; // mget saves under the name NLST gave
        var result = await Tnftp(server, $"prompt off\nbinary\n{script}\n");

        // tnftp expands the pattern with NLST, as BSD ftp does; vsftpd, ProFTPD and wu-ftpd match * and ? in NLST.
        result.Stdout.ShouldContain("---> " + nlst);
        File.Exists(Path.Combine(target, "one.txt")).ShouldBeTrue(result.Output);
        File.ReadAllText(Path.Combine(target, "two.txt")).ShouldBe("two");
        File.Exists(Path.Combine(target, "skip.bin")).ShouldBeFalse();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Mget_of_a_folder_downloads_its_files()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(Path.Combine(server.DemoHome, "d"));
        File.WriteAllText(Path.Combine(server.DemoHome, "d", "one.txt"), "one");
        Directory.CreateDirectory(Path.Combine(local, "d"));

        var result = await Tnftp(server, "prompt off\nbinary\nmget d\n");

        // "NLST d" must name the files as "d/one.txt" (as vsftpd does) for the client to RETR them; a bare "one.txt" is looked up in "/".
        result.Stdout.ShouldContain("---> NLST d");
        Tools.Lines(result.Stdout).ShouldNotContain(l => l.StartsWith("550 "), result.Output);
        File.ReadAllText(Path.Combine(local, "d", "one.txt")).ShouldBe("one");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Getting_a_missing_file_shows_550_and_creates_nothing()
    {
        await using var server = await TestServer.StartAsync();

        var result = await Tnftp(server, "binary\nget missing.bin\n");

        result.Stdout.ShouldContain("550 missing.bin: No such file.");
        File.Exists(Path.Combine(local, "missing.bin")).ShouldBeFalse();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_wrong_password_is_refused_with_530()
    {
        await using var server = await TestServer.StartAsync();

        var result = await Tools.RunAsync(tnftp, ["-n", "-v"], stdin: $"open 127.0.0.1 {server.Port}\nuser demo wrong\nls\nbye\n",
            timeout: TimeSpan.FromSeconds(60), workingDirectory: local);

        result.Stdout.ShouldContain("530 Login incorrect.");
        result.Stdout.ShouldContain("530 Please login with USER and PASS.");
        server.ShouldHaveLoggedNoErrors();
    }
}
