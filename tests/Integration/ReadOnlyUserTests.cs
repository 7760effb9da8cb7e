using System.Text;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Plugins.PluginTestServer;

namespace ScriptFtp.Tests.Integration;

/// <summary>A users.toml account with <c>read_only = true</c>, over a real socket: every write is refused, reads work.</summary>
public class ReadOnlyUserTests
{
    private const string Reader = "reader", ReaderPassword = "reader-pass";

    /// <summary>The default users plus a read-only user sharing the demo user's home, so the demo user can show the folder is writable.</summary>
    private static string UsersToml() => TestServer.DefaultUsersToml() + $"""


        [users.{Reader}]
        password = "{TestHashes.Of(ReaderPassword)}"
        home = "{TestServer.DemoUser}"
        read_only = true
        """;

    [Test]
    public async Task A_read_only_user_is_refused_every_write_with_550_and_nothing_changes_on_disk_while_RETR_and_LIST_work()
    {
        await using var server = await TestServer.StartAsync(usersToml: UsersToml());
        var content = Tools.RandomBytes(70_000, seed: 7);
        Directory.CreateDirectory(Path.Combine(server.DemoHome, "sub"));
        await File.WriteAllBytesAsync(Path.Combine(server.DemoHome, "keep.bin"), content);

        // The same folder takes writes from a user who is not read-only: the refusals below are the read_only flag's doing.
        await using (var demo = await RawFtp.LoginAsync(server.Port))
        {
            (await demo.SendAsync("MKD probe")).Code.ShouldBe(257);
            (await demo.SendAsync("RMD probe")).Code.ShouldBe(250);
        }
        var before = Tools.Tree(server.Root);

        await using var ftp = await RawFtp.LoginAsync(server.Port, Reader, ReaderPassword);
        var refusals = new List<(string Command, (int Code, string Text) Reply)>
        {
            ("STOR new.bin", await UploadAsync(ftp, "new.bin", Encoding.ASCII.GetBytes("not stored"))),
            ("STOR keep.bin", await UploadAsync(ftp, "keep.bin", Encoding.ASCII.GetBytes("not stored"))),
            ("APPE keep.bin", await UploadAsync(ftp, "keep.bin", Encoding.ASCII.GetBytes("not appended"), verb: "APPE")),
            ("DELE keep.bin", await ftp.SendAsync("DELE keep.bin")),
            ("MKD newdir", await ftp.SendAsync("MKD newdir")),
            ("RMD sub", await ftp.SendAsync("RMD sub")),
            ("RNFR keep.bin", await ftp.SendAsync("RNFR keep.bin")),
        };
        foreach (var (command, (code, text)) in refusals)
        {
            code.ShouldBe(550, $"{command}: {text}");
            text.ShouldContain("read-only", customMessage: command);
        }
        // After the refused RNFR there is nothing to rename to.
        (await ftp.SendAsync("RNTO renamed.bin")).Code.ShouldBe(503);

        Tools.Tree(server.Root).ShouldBe(before, "the read-only user changed something on disk:\n" + Tools.Show(Tools.Tree(server.Root)));
        Tools.PartialFiles(server.Root).ShouldBeEmpty();

        var (retr, downloaded) = await DownloadAsync(ftp, "keep.bin");
        retr.ShouldBe(226);
        downloaded.ShouldBe(content);

        string listing;
        using (var data = await ftp.EpsvAsync())
        {
            (await ftp.SendAsync("LIST")).Code.ShouldBe(150);
            using var reader = new StreamReader(data.GetStream(), Encoding.UTF8);
            listing = await reader.ReadToEndAsync();
        }
        (await ftp.ReadAsync()).Code.ShouldBe(226);
        var names = Tools.Lines(listing).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1]).Order(StringComparer.Ordinal).ToArray();
        names.ShouldBe(["keep.bin", "sub"], listing);
        server.ShouldHaveLoggedNoErrors();
    }
}
