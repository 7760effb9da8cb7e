using System.Net.Sockets;
using System.Text;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>
/// Attempts to leave the user's root over a real socket: dot-dot, absolute paths, backslashes, NUL, overlong names
/// and links planted on disk. None may read or write outside; what lies outside is compared before and after.
/// </summary>
/// <remarks>
/// Layout: <c>{Folder}/users.toml</c>, <c>{Folder}/outside/secret.txt</c>, <c>{Root}/admin/admin-secret.txt</c> are outside
/// demo's root <c>{Root}/demo</c>, which holds <c>mine.txt</c>, <c>sub/inner.txt</c> and the links
/// <c>link-out</c> → outside folder, <c>link-file</c> → users.toml, <c>dangling</c> → outside/new.txt (not there yet),
/// <c>link-in</c> → sub (inside, allowed).
/// </remarks>
public class PathEscapeTests
{
    private const string Secret = "outside secret";

    private static async Task<TestServer> StartWithPlantedLinksAsync()
    {
        var server = await TestServer.StartAsync();
        var outside = Directory.CreateDirectory(Path.Combine(server.Folder, "outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "secret.txt"), Secret);
        Directory.CreateDirectory(server.AdminHome);
        File.WriteAllText(Path.Combine(server.AdminHome, "admin-secret.txt"), "admin only");
        Directory.CreateDirectory(Path.Combine(server.DemoHome, "sub"));
        File.WriteAllText(Path.Combine(server.DemoHome, "mine.txt"), "mine");
        File.WriteAllText(Path.Combine(server.DemoHome, "sub", "inner.txt"), "inner");
        File.CreateSymbolicLink(Path.Combine(server.DemoHome, "link-out"), outside);
        File.CreateSymbolicLink(Path.Combine(server.DemoHome, "link-file"), server.UsersFile);
        File.CreateSymbolicLink(Path.Combine(server.DemoHome, "dangling"), Path.Combine(outside, "new.txt"));
        File.CreateSymbolicLink(Path.Combine(server.DemoHome, "link-in"), Path.Combine(server.DemoHome, "sub"));
        File.CreateSymbolicLink(Path.Combine(server.DemoHome, "link-up"), "..");
        return server;
    }

    /// <summary>Everything under the server folder except demo's root, without following links: path → content hash, "dir" or "link → target".</summary>
    private static SortedDictionary<string, string> Outside(TestServer server)
    {
        var snapshot = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Walk(string folder)
        {
            foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos())
            {
                if (entry.FullName == server.DemoHome) continue;
                var key = Path.GetRelativePath(server.Folder, entry.FullName);
                if (entry.LinkTarget is not null) snapshot[key] = "link → " + entry.LinkTarget;
                else if (entry is DirectoryInfo) { snapshot[key] = "dir"; Walk(entry.FullName); }
                else snapshot[key] = Tools.Sha256(entry.FullName);
            }
        }
        Walk(server.Folder);
        return snapshot;
    }

    private static readonly string LongSegment = new('a', 300);
    private static readonly string LongPath = string.Join('/', Enumerable.Repeat("abcdefghi", 500)); // 4999 characters

    /// <summary>Paths that must not be read: the argument and the reply code (550 not found/refused, 553 name not allowed).</summary>
    public static IEnumerable<TestCaseData> Reads()
    {
        TestCaseData Case(string path, int code, string name) => new TestCaseData(path, code).SetArgDisplayNames(name);
        yield return Case("../../users.toml", 550, "dot-dot to users.toml");
        yield return Case("/../../users.toml", 550, "absolute dot-dot");
        yield return Case("/../../etc/passwd", 550, "etc passwd");
        yield return Case("../../../../../../../../etc/passwd", 550, "many dot-dots");
        yield return Case("..\\..\\users.toml", 550, "backslashes");
        yield return Case("sub\\..\\..\\..\\users.toml", 550, "mixed backslashes");
        yield return Case("../admin/admin-secret.txt", 550, "other user's home");
        yield return Case("/../admin/admin-secret.txt", 550, "other user's home absolute");
        yield return Case("../../outside/secret.txt", 550, "outside folder");
        yield return Case("%2e%2e/%2e%2e/users.toml", 550, "percent-encoded dots");
        yield return Case("~/../users.toml", 550, "tilde");
        yield return Case("mine.txt\0../../users.toml", 553, "NUL");
        yield return Case("a\0", 553, "trailing NUL");
        yield return Case(LongSegment, 553, "300-char segment");
        yield return Case(LongPath, 553, "5000-char path");
        yield return Case("link-out/secret.txt", 550, "link to outside folder");
        yield return Case("link-file", 550, "link to outside file");
        yield return Case("dangling", 550, "dangling link");
        yield return Case("link-up/users.toml", 550, "relative link to parent");
        yield return Case("link-in/../../users.toml", 550, "dot-dot after inside link");
    }

    [TestCaseSource(nameof(Reads))]
    public async Task Retr_outside_the_root_is_refused(string path, int code)
    {
        await using var server = await StartWithPlantedLinksAsync();
        var before = Outside(server);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        using var data = await ftp.EpsvAsync();
        var reply = await ftp.SendAsync("RETR " + path);

        reply.Code.ShouldBe(code, reply.Text);
        reply.Text.ShouldNotContain(Secret);
        // Nothing was sent: the data connection gets no bytes before the server drops it or the session goes on.
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        data.Available.ShouldBe(0, "the data connection must not carry anything");
        foreach (var probe in new[] { "SIZE", "MDTM", "MLST", "STAT" })
            (await ftp.SendAsync($"{probe} {path}")).Code.ShouldBe(code, probe);
        Outside(server).ShouldBe(before);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Links_pointing_inside_work_and_listings_hide_links_pointing_outside()
    {
        await using var server = await StartWithPlantedLinksAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        (await ftp.SendAsync("SIZE link-in/inner.txt")).ShouldBe((213, "213 5"));
        using (var data = await ftp.EpsvAsync())
        {
            (await ftp.SendAsync("NLST")).Code.ShouldBe(150);
            var names = await new StreamReader(data.GetStream(), Encoding.UTF8).ReadToEndAsync();
            (await ftp.ReadAsync()).Code.ShouldBe(226);
            Tools.Lines(names).Order(StringComparer.Ordinal).ShouldBe(["link-in", "mine.txt", "sub"]);
        }
        (await ftp.SendAsync("CWD link-out")).Code.ShouldBe(550);
        (await ftp.SendAsync("CWD link-up")).Code.ShouldBe(550);
        (await ftp.SendAsync("CWD link-in")).Code.ShouldBe(250);
        server.ShouldHaveLoggedNoErrors();
    }

    [TestCase("../../..")]
    [TestCase("/../../..")]
    [TestCase("..\\..\\..")]
    [TestCase("sub/../../../..")]
    public async Task Cwd_above_the_root_stays_at_the_root(string path)
    {
        await using var server = await StartWithPlantedLinksAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        (await ftp.SendAsync("CWD " + path)).Code.ShouldBe(250);
        (await ftp.SendAsync("PWD")).Text.ShouldBe("257 \"/\" is the current directory.");
        (await ftp.SendAsync("CDUP")).Code.ShouldBe(250);
        (await ftp.SendAsync("PWD")).Text.ShouldBe("257 \"/\" is the current directory.");
        (await ftp.SendAsync("SIZE mine.txt")).ShouldBe((213, "213 4")); // still demo's root, not the server folder
        (await ftp.SendAsync("SIZE users.toml")).Code.ShouldBe(550);
        (await ftp.SendAsync("CWD ../admin")).Code.ShouldBe(550);
        server.ShouldHaveLoggedNoErrors();
    }

    /// <summary>Writes aimed outside: the command, then either the reply code or where inside demo's root the write may land.</summary>
    public static IEnumerable<TestCaseData> Writes()
    {
        TestCaseData Case(string command, int code, string? landsInside, string name) => new TestCaseData(command, code, landsInside).SetArgDisplayNames(name);
        yield return Case("STOR ../../evil.txt", 226, "evil.txt", "STOR dot-dot lands in root");
        yield return Case("STOR ..\\..\\evil.txt", 226, "evil.txt", "STOR backslashes land in root");
        yield return Case("STOR /../outside/evil.txt", 550, null, "STOR into missing folder");
        yield return Case("STOR link-out/evil.txt", 550, null, "STOR through link");
        yield return Case("STOR link-up/evil.txt", 550, null, "STOR through relative link");
        yield return Case("STOR dangling", 550, null, "STOR onto dangling link");
        yield return Case("STOR link-file", 550, null, "STOR onto link to file");
        yield return Case("APPE link-file", 550, null, "APPE onto link to file");
        yield return Case("APPE dangling", 550, null, "APPE onto dangling link");
        yield return Case("APPE link-out/secret.txt", 550, null, "APPE through link");
        yield return Case("STOU link-out/evil.txt", 550, null, "STOU through link");
        yield return Case("STOR evil\0.txt", 553, null, "STOR NUL");
        yield return Case("STOR " + LongSegment, 553, null, "STOR 300-char segment");
        yield return Case("STOR " + LongPath, 553, null, "STOR 5000-char path");
    }

    [TestCaseSource(nameof(Writes))]
    public async Task Uploads_never_land_outside_the_root(string command, int code, string? landsInside)
    {
        await using var server = await StartWithPlantedLinksAsync();
        var before = Outside(server);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        using (var data = await ftp.EpsvAsync())
        {
            var reply = await ftp.SendAsync(command);
            if (reply.Code == 150)
            {
                await data.GetStream().WriteAsync("payload"u8.ToArray());
                data.Close();
                reply = await ftp.ReadAsync();
            }
            reply.Code.ShouldBe(code, reply.Text);
        }

        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        Outside(server).ShouldBe(before);
        if (landsInside is not null) File.ReadAllText(Path.Combine(server.DemoHome, landsInside)).ShouldBe("payload");
        File.Exists(Path.Combine(server.Folder, "outside", "new.txt")).ShouldBeFalse();
        File.ReadAllText(Path.Combine(server.Folder, "outside", "secret.txt")).ShouldBe(Secret);
        Tools.PartialFiles(server.Folder).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    /// <summary>File-system commands aimed outside: the commands in order and the reply code each must get.</summary>
    public static IEnumerable<TestCaseData> Changes()
    {
        TestCaseData Case(string name, params (string Command, int Code)[] steps) => new TestCaseData((object)steps).SetArgDisplayNames(name);
        yield return Case("DELE dot-dot", ("DELE ../../users.toml", 550));
        yield return Case("DELE backslash", ("DELE ..\\..\\users.toml", 550));
        yield return Case("DELE through link", ("DELE link-out/secret.txt", 550));
        yield return Case("DELE other user's file", ("DELE ../admin/admin-secret.txt", 550));
        yield return Case("RMD outside", ("RMD ../../outside", 550));
        yield return Case("RMD through link", ("RMD link-out", 550));
        yield return Case("MKD through link", ("MKD link-out/new", 550));
        yield return Case("MKD dot-dot lands inside", ("MKD ../../made", 257), ("RMD /made", 250));
        yield return Case("RNFR outside file", ("RNFR ../../users.toml", 550));
        yield return Case("RNFR through link", ("RNFR link-out/secret.txt", 550));
        yield return Case("RNFR link to file", ("RNFR link-file", 550));
        yield return Case("RNTO through link", ("RNFR mine.txt", 350), ("RNTO link-out/stolen.txt", 550));
        yield return Case("RNTO onto dangling link", ("RNFR mine.txt", 350), ("RNTO dangling", 550));
        yield return Case("RNTO dot-dot lands inside", ("RNFR mine.txt", 350), ("RNTO ../../moved.txt", 250), ("SIZE /moved.txt", 213));
        yield return Case("RNTO NUL", ("RNFR mine.txt", 350), ("RNTO a\0b", 553));
        yield return Case("LIST outside", ("EPSV", 229), ("LIST ../..", 150));
        yield return Case("LIST through link", ("EPSV", 229), ("LIST link-out", 550));
        yield return Case("MLSD through link", ("EPSV", 229), ("MLSD link-out", 550));
        yield return Case("NLST other user's home", ("EPSV", 229), ("NLST ../admin", 550));
    }

    [TestCaseSource(nameof(Changes))]
    public async Task File_commands_never_touch_anything_outside_the_root((string Command, int Code)[] steps)
    {
        await using var server = await StartWithPlantedLinksAsync();
        var before = Outside(server);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        TcpClient? data = null;
        try
        {
            foreach (var (command, code) in steps)
            {
                if (command == "EPSV")
                {
                    data = await ftp.EpsvAsync();
                    continue;
                }
                var reply = await ftp.SendAsync(command);
                reply.Code.ShouldBe(code, $"{command}: {reply.Text}");
                if (reply.Code == 150)
                {
                    // A listing of "../.." is the root's listing: demo's names, nothing from outside.
                    var listing = await new StreamReader(data!.GetStream(), Encoding.UTF8).ReadToEndAsync();
                    (await ftp.ReadAsync()).Code.ShouldBe(226);
                    listing.ShouldContain("mine.txt");
                    listing.ShouldNotContain("users.toml");
                    listing.ShouldNotContain("outside");
                    listing.ShouldNotContain("admin");
                }
            }
        }
        finally
        {
            data?.Dispose();
        }
        Outside(server).ShouldBe(before);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Paths_longer_than_the_file_system_allows_are_refused_cleanly()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        var segment = new string('d', 250);

        // Nest 250-character folders until the server says no: the physical path (home + virtual path) passes PATH_MAX (4096) first.
        var path = "";
        (int Code, string Text) reply;
        while (true)
        {
            var next = path + "/" + segment;
            reply = await ftp.SendAsync("MKD " + next);
            if (reply.Code != 257) break;
            path = next;
        }
        reply.Code.ShouldBeOneOf([550, 553], reply.Text);
        (server.DemoHome.Length + path.Length).ShouldBeGreaterThan(4096 - 260, "the nesting should have gone close to PATH_MAX");

        var deep = path + "/" + new string('f', 250);
        foreach (var command in new[] { "CWD " + deep, "SIZE " + deep, "MDTM " + deep, "DELE " + deep, "RMD " + deep, "MLST " + deep, "RNFR " + deep })
            (await ftp.SendAsync(command)).Code.ShouldBeOneOf([550, 553], command[..4]);
        (await ftp.SendAsync("CWD " + path)).Code.ShouldBe(250);
        using (var data = await ftp.EpsvAsync())
        {
            var stored = await ftp.SendAsync("STOR " + new string('f', 250));
            if (stored.Code == 150)
            {
                data.Close();
                stored = await ftp.ReadAsync();
            }
            stored.Code.ShouldBeOneOf([226, 550, 553], stored.Text);
        }
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task An_overlong_command_line_is_refused_and_the_connection_closed()
    {
        await using var server = await StartWithPlantedLinksAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var reply = await ftp.SendAsync("RETR " + new string('x', 20_000));

        reply.Code.ShouldBe(500, reply.Text);
        (await ftp.ClosedAsync()).ShouldBeTrue("issue 12: the rest of an overlong line is never read");
        server.ShouldHaveLoggedNoErrors();
    }
}
