using System.Globalization;
using ScriptFtp.Tests.Ftps;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>
/// rclone's ftp backend over explicit FTPS: a sync up and down keeps contents and modification times (MFMT), with no
/// ERROR line, and a second sync after a change and a delete is just as clean.
/// </summary>
[Platform(Exclude = "Win")]
public class RcloneTests
{
    private string rclone = "";
    private string local = "";

    [SetUp]
    public void SetUp()
    {
        rclone = Tools.Require("rclone");
        local = Tools.NewFolder();
    }

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(local);

    /// <summary>The source tree: UTF-8 and space-containing names, an empty file and a multi-megabyte one, each with its own time.</summary>
    private static Dictionary<string, DateTime> MakeTree(string root)
    {
        var times = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        void Write(string relative, byte[] bytes, DateTime utc)
        {
            var path = Path.Combine(root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            File.SetLastWriteTimeUtc(path, utc);
            times[relative] = utc;
        }
        Write("ünïcödé/файл.txt", "привет, мир\n"u8.ToArray(), new DateTime(2021, 5, 6, 7, 8, 9, DateTimeKind.Utc));
        Write("with space/a b  c.txt", "two spaces\n"u8.ToArray(), new DateTime(2019, 12, 31, 23, 59, 59, DateTimeKind.Utc));
        Write("empty.dat", [], new DateTime(2020, 2, 29, 12, 0, 0, DateTimeKind.Utc));
        Write("big file 日本.bin", Tools.RandomBytes(5 * 1024 * 1024 + 3, seed: 21), new DateTime(2018, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        Write("top.txt", "top\n"u8.ToArray(), new DateTime(2022, 7, 8, 9, 10, 11, DateTimeKind.Utc));
        return times;
    }

    private async Task<string> ConfigAsync(TestServer server)
    {
        var obscured = await Tools.RunAsync(rclone, ["obscure", TestServer.DemoPassword], workingDirectory: local);
        obscured.ExitCode.ShouldBe(0, obscured.Output);
        var config = Path.Combine(local, "rclone.conf");
        await File.WriteAllTextAsync(config, $"""
            [scriptftp]
            type = ftp
            host = 127.0.0.1
            port = {server.Port}
            user = {TestServer.DemoUser}
            pass = {obscured.Stdout.Trim()}
            explicit_tls = true
            no_check_certificate = true

            """);
        return config;
    }

    private Task<ProcessResult> Rclone(string config, params string[] arguments) =>
        Tools.RunAsync(rclone, ["--config", config, "--retries", "1", "--low-level-retries", "1", "--contimeout", "10s",
            "--timeout", "60s", "-v", .. arguments], timeout: TimeSpan.FromSeconds(180), workingDirectory: local);

    private static void ShouldBeClean(ProcessResult result)
    {
        result.ExitCode.ShouldBe(0, result.Output);
        Tools.Lines(result.Stderr + "\n" + result.Stdout).Where(l => l.Contains("ERROR")).ShouldBeEmpty(result.Output);
    }

    /// <summary><c>rclone lsl</c> lines as "size local-time-to-the-second path".</summary>
    private static string[] Listed(ProcessResult lsl) =>
        [.. Tools.Lines(lsl.Stdout).Select(l => l.Trim().Split(' ', 4, StringSplitOptions.RemoveEmptyEntries))
            .Select(p => $"{p[0]} {p[1]} {p[2][..8]} {p[3]}").Order(StringComparer.Ordinal)];

    private static string[] Expected(string root, Dictionary<string, DateTime> times) =>
        [.. times.Select(t => $"{new FileInfo(Path.Combine(root, t.Key)).Length} " +
            $"{t.Value.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} {t.Key}").Order(StringComparer.Ordinal)];

    [Test]
    public async Task Sync_up_and_down_over_ftps_keeps_contents_and_times_with_no_error_line()
    {
        await using var server = await FtpsTests.StartTlsAsync(c => c with { AllowOverwrite = true });
        Directory.CreateDirectory(server.DemoHome);
        var config = await ConfigAsync(server);
        var source = Path.Combine(local, "source");
        var times = MakeTree(source);

        ShouldBeClean(await Rclone(config, "sync", source, "scriptftp:backup"));
        var remote = Path.Combine(server.DemoHome, "backup");
        Tools.Tree(remote).ShouldBe(Tools.Tree(source), Tools.Show(Tools.Tree(remote)));
        foreach (var (name, utc) in times) File.GetLastWriteTimeUtc(Path.Combine(remote, name)).ShouldBe(utc, name);

        // The ftp backend has no hash to compare (rclone would log "ERROR : No common hash found"): --download compares bytes.
        var check = await Rclone(config, "check", "--download", source, "scriptftp:backup");
        ShouldBeClean(check);
        check.Stderr.ShouldContain("0 differences found");
        Listed(await Rclone(config, "lsl", "scriptftp:backup")).ShouldBe(Expected(source, times));

        var down = Path.Combine(local, "down");
        ShouldBeClean(await Rclone(config, "sync", "scriptftp:backup", down));
        Tools.Tree(down).ShouldBe(Tools.Tree(source));
        foreach (var (name, utc) in times) File.GetLastWriteTimeUtc(Path.Combine(down, name)).ShouldBe(utc, name);

        // A change and a delete: the second sync replaces one file and removes the other, again without an error.
        await File.WriteAllTextAsync(Path.Combine(source, "top.txt"), "top, changed and longer\n");
        var changed = new DateTime(2023, 3, 3, 3, 3, 3, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(Path.Combine(source, "top.txt"), changed);
        times["top.txt"] = changed;
        File.Delete(Path.Combine(source, "with space", "a b  c.txt"));
        times.Remove("with space/a b  c.txt");
        ShouldBeClean(await Rclone(config, "sync", source, "scriptftp:backup"));
        File.ReadAllText(Path.Combine(remote, "top.txt")).ShouldBe("top, changed and longer\n");
        File.GetLastWriteTimeUtc(Path.Combine(remote, "top.txt")).ShouldBe(changed);
        File.Exists(Path.Combine(remote, "with space", "a b  c.txt")).ShouldBeFalse();
        var again = await Rclone(config, "check", "--download", source, "scriptftp:backup");
        ShouldBeClean(again);
        again.Stderr.ShouldContain("0 differences found");
        Listed(await Rclone(config, "lsl", "scriptftp:backup")).ShouldBe(Expected(source, times));
        Tools.PartialFiles(server.Root).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }
}
