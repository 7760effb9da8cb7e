using System.Text.RegularExpressions;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>lftp's mirror, both ways, over a tree of UTF-8 names, spaces, nested and empty folders and empty files.</summary>
public class LftpTests
{
    private string lftp = "";
    private string local = "";

    [SetUp]
    public void SetUp()
    {
        lftp = Tools.Require("lftp");
        local = Tools.NewFolder();
    }

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(local);

    /// <summary>The data-connection settings under test, and the command lftp must then use.</summary>
    public static IEnumerable<TestCaseData> Modes()
    {
        yield return new TestCaseData("set ftp:passive-mode on; set ftp:prefer-epsv yes", "EPSV").SetArgDisplayNames("EPSV");
        yield return new TestCaseData("set ftp:passive-mode on; set ftp:prefer-epsv no", "PASV").SetArgDisplayNames("PASV");
        yield return new TestCaseData("set ftp:passive-mode off", "PORT").SetArgDisplayNames("PORT");
    }

    /// <summary>Writes the test tree under <paramref name="root"/>.</summary>
    private static void MakeTree(string root)
    {
        void Write(string relative, byte[] bytes)
        {
            var path = Path.Combine(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
        }
        Write("ünïcödé/файл.txt", "привет, мир\n"u8.ToArray());
        Write("ünïcödé/sub dir/ελληνικά 🎉.txt", "emoji in the name\n"u8.ToArray());
        Write("日本語.bin", Tools.RandomBytes(300_000, seed: 10));
        Write("with space/a b  c.txt", "two spaces\r\nand CRLF\r\n"u8.ToArray());
        Write("with space/nested/deeper/empty.dat", []);
        Write("top.txt", "top\n"u8.ToArray());
        Write("quote's & [brackets] #hash%+semi;colon.bin", Tools.RandomBytes(70_001, seed: 11));
        Write(".hidden", "dot file\n"u8.ToArray());
        Directory.CreateDirectory(Path.Combine(root, "empty folder"));
        Directory.CreateDirectory(Path.Combine(root, "with space/nested/empty too"));
    }

    private Task<ProcessResult> Lftp(TestServer server, string settings, string commands) =>
        Tools.RunAsync(lftp, ["-d", "-c",
            $"set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1; set cmd:fail-exit yes; {settings}; " +
            $"open -u {TestServer.DemoUser},{TestServer.DemoPassword} ftp://127.0.0.1:{server.Port}; {commands}"],
            timeout: TimeSpan.FromSeconds(90), workingDirectory: local);

    [TestCaseSource(nameof(Modes))]
    public async Task Mirror_R_uploads_a_tree_with_utf8_names_spaces_and_empty_entries(string settings, string dataCommand)
    {
        await using var server = await TestServer.StartAsync();
        var source = Path.Combine(local, "src");
        MakeTree(source);

        var result = await Lftp(server, settings, $"mirror -R '{source}' /dst");

        result.ExitCode.ShouldBe(0, result.Output);
        result.Stderr.ShouldContain("---> " + dataCommand);
        var uploaded = Path.Combine(server.DemoHome, "dst");
        Tools.Show(Tools.Tree(uploaded)).ShouldBe(Tools.Show(Tools.Tree(source)));
        Tools.Tree(uploaded).ShouldBe(Tools.Tree(source));
        Tools.PartialFiles(server.DemoHome).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [TestCaseSource(nameof(Modes))]
    public async Task Mirror_downloads_a_tree_with_utf8_names_spaces_and_empty_entries(string settings, string dataCommand)
    {
        await using var server = await TestServer.StartAsync();
        var remote = Path.Combine(server.DemoHome, "tree");
        MakeTree(remote);
        var target = Path.Combine(local, "back");

        var result = await Lftp(server, settings, $"mirror /tree '{target}'");

        result.ExitCode.ShouldBe(0, result.Output);
        result.Stderr.ShouldContain("---> " + dataCommand);
        Tools.Show(Tools.Tree(target)).ShouldBe(Tools.Show(Tools.Tree(remote)));
        Tools.Tree(target).ShouldBe(Tools.Tree(remote));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Mirror_round_trip_up_then_down_gives_the_same_tree()
    {
        await using var server = await TestServer.StartAsync();
        var source = Path.Combine(local, "src");
        MakeTree(source);
        var back = Path.Combine(local, "back");

        var result = await Lftp(server, "set ftp:prefer-epsv yes", $"mirror -R '{source}' '/round trip'; mirror '/round trip' '{back}'");

        result.ExitCode.ShouldBe(0, result.Output);
        Tools.Tree(back).ShouldBe(Tools.Tree(source));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Put_get_rm_and_cls_work_on_a_single_utf8_name()
    {
        await using var server = await TestServer.StartAsync();
        var file = Path.Combine(local, "naïve résumé.bin");
        File.WriteAllBytes(file, Tools.RandomBytes(123_456, seed: 12));

        var result = await Lftp(server, "set ftp:prefer-epsv yes",
            $"put '{file}' -o 'naïve résumé.bin'; cls -1; get 'naïve résumé.bin' -o '{local}/copy.bin'; rm 'naïve résumé.bin'; cls -1");

        result.ExitCode.ShouldBe(0, result.Output);
        Tools.Lines(result.Stdout).ShouldBe(["naïve résumé.bin"]);
        Tools.Sha256(Path.Combine(local, "copy.bin")).ShouldBe(Tools.Sha256(file));
        result.Stderr.ShouldContain("---> DELE naïve résumé.bin");
        Directory.EnumerateFileSystemEntries(server.DemoHome).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_second_mirror_R_transfers_only_what_changed()
    {
        await using var server = await TestServer.StartAsync();
        var source = Path.Combine(local, "src");
        MakeTree(source);

        var first = await Lftp(server, "", $"mirror -R '{source}' /dst");
        first.ExitCode.ShouldBe(0, first.Output);
        var second = await Lftp(server, "", $"mirror -R '{source}' /dst");
        second.ExitCode.ShouldBe(0, second.Output);
        second.Stderr.ShouldNotContain("---> STOR");

        // lftp replaces a changed file by DELE then STOR, so it works with overwriting off.
        var changed = Path.Combine(source, "top.txt");
        File.WriteAllText(changed, "changed and longer\n");
        File.SetLastWriteTimeUtc(changed, DateTime.UtcNow.AddMinutes(5));
        var third = await Lftp(server, "", $"mirror -R '{source}' /dst");

        third.ExitCode.ShouldBe(0, third.Output);
        third.Stderr.ShouldContain("---> DELE top.txt");
        third.Stderr.ShouldContain("---> STOR top.txt");
        Regex.Matches(third.Stderr, "---> STOR ").Count.ShouldBe(1);
        Tools.Tree(Path.Combine(server.DemoHome, "dst")).ShouldBe(Tools.Tree(source));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Put_onto_an_existing_name_fails_with_550_and_keeps_the_remote_file()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        var remote = Path.Combine(server.DemoHome, "taken.bin");
        File.WriteAllBytes(remote, Tools.RandomBytes(50_000, seed: 13));
        var before = Tools.Sha256(remote);
        var file = Path.Combine(local, "new.bin");
        File.WriteAllBytes(file, Tools.RandomBytes(60_000, seed: 14));

        var result = await Lftp(server, "", $"put '{file}' -o taken.bin");

        result.ExitCode.ShouldNotBe(0, result.Output);
        result.Stderr.ShouldContain("<--- 550 taken.bin: File exists; overwriting is disabled on this server.");
        Tools.Sha256(remote).ShouldBe(before);
        Tools.PartialFiles(server.DemoHome).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }
}
