using System.Diagnostics;
using System.Text;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Admin.Admin;

namespace ScriptFtp.Tests.Admin;

/// <summary>ADDUSER, DELUSER, BAN and UNBAN (and their SITE forms) as an admin, over real sockets.</summary>
[TestFixture]
public sealed class AdminCommandTests
{
    private static readonly string[] Forms = ["", "SITE "];

    [TestCaseSource(nameof(Forms))]
    public async Task AddUser_NewUserLogsInAtOnce_GetsAHomeFolder_FileHoldsASaltedHashAndTheOriginalComments(string form)
    {
        await using var server = await StartAsync();
        var before = File.ReadAllText(server.UsersFile);
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);

        var reply = await admin.SendAsync($"{form}ADDUSER carol s3cret-Pw");

        reply.Code.ShouldBe(200, reply.Text);
        reply.Text.ShouldContain("carol");
        await using (var carol = await RawFtp.LoginAsync(server.Port, "carol", "s3cret-Pw"))
        {
            (await carol.SendAsync("PWD")).Text.ShouldContain("\"/\"");
            await carol.UploadAsync("hello.txt", "hi"u8.ToArray());
        }
        Directory.Exists(Path.Combine(server.Root, "carol")).ShouldBeTrue();
        File.ReadAllText(Path.Combine(server.Root, "carol", "hello.txt")).ShouldBe("hi");

        var after = File.ReadAllText(server.UsersFile);
        after.ShouldNotContain("s3cret-Pw");
        after.ShouldStartWith(before, Case.Sensitive, "the untouched part of the file (comments, other users) must stay byte for byte");
        foreach (var comment in Comments(before)) after.ShouldContain(comment);
        var carolTable = (ScriptFtp.Toml.TomlTable)UsersTable(server.UsersFile)["carol"];
        var hash = (string)carolTable["password"];
        hash.ShouldStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
        hash.Split('$').Length.ShouldBe(6);
        Passwords.Verify(hash, "s3cret-Pw").ShouldBeTrue();

        // A second user with the same password gets a different salt.
        (await admin.SendAsync($"{form}ADDUSER dave s3cret-Pw")).Code.ShouldBe(200);
        var daveHash = (string)((ScriptFtp.Toml.TomlTable)UsersTable(server.UsersFile)["dave"])["password"];
        daveHash.Split('$')[4].ShouldNotBe(hash.Split('$')[4]); // the salt
        daveHash.ShouldNotBe(hash);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task AddUser_PasswordWithTomlSpecialCharacters_IsStoredSafely()
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        const string password = "p\"a\\s#s]=[x'y";

        (await admin.SendAsync($"ADDUSER odd {password}")).Code.ShouldBe(200);

        (await TryLoginAsync(server.Port, "odd", password)).Code.ShouldBe(230);
        UsersTable(server.UsersFile).ContainsKey("odd").ShouldBeTrue();
        File.ReadAllText(server.UsersFile).ShouldNotContain(password);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task AddUser_ThePasswordNeverAppearsInTheLog()
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);

        (await admin.SendAsync("ADDUSER carol Never-Log-Me")).Code.ShouldBe(200);
        (await admin.SendAsync("SITE ADDUSER erin Never-Log-Me-Either")).Code.ShouldBe(200);

        server.Log.Events.Select(e => e.RenderMessage()).ShouldAllBe(m => !m.Contains("Never-Log-Me"));
    }

    [TestCaseSource(nameof(Forms))]
    public async Task DelUser_KeepsTheFiles_EndsLiveSessionsWith421_RefusesNewLogins(string form)
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        await using var demo = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);
        await demo.UploadAsync("keep.txt", "keep me"u8.ToArray());
        var before = File.ReadAllText(server.UsersFile);

        var reply = await admin.SendAsync($"{form}DELUSER {Demo}");

        reply.Code.ShouldBe(200, reply.Text);
        reply.Text.ShouldContain("kept");
        var ended = await demo.ReadAsync(TimeSpan.FromSeconds(5));
        ended.Code.ShouldBe(421, ended.Text);
        ended.Text.ShouldContain("deleted");
        (await demo.ClosedAsync()).ShouldBeTrue("the session must be closed after the 421");

        File.ReadAllText(Path.Combine(server.DemoHome, "keep.txt")).ShouldBe("keep me");
        var login = await TryLoginAsync(server.Port, Demo, DemoPass);
        login.Code.ShouldBe(530, login.Text);
        UsersTable(server.UsersFile).ContainsKey(Demo).ShouldBeFalse();
        var after = File.ReadAllText(server.UsersFile);
        after.ShouldContain("# Test users (this comment must survive rewrites)");
        after.ShouldContain("# the administrator");
        after.ShouldContain(before[before.IndexOf("[users.admin]", StringComparison.Ordinal)..], Case.Sensitive, "the admin's table must stay byte for byte");
        // The admin's own session is untouched.
        (await admin.SendAsync("NOOP")).Code.ShouldBe(200);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task DelUser_ThenAddUserAgain_ReusesTheKeptFolder()
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        await using (var demo = await RawFtp.LoginAsync(server.Port, Demo, DemoPass))
            await demo.UploadAsync("old.txt", "old"u8.ToArray());
        (await admin.SendAsync($"DELUSER {Demo}")).Code.ShouldBe(200);

        var again = await admin.SendAsync($"ADDUSER {Demo} new-pass");

        again.Code.ShouldBe(200, again.Text);
        again.Text.ShouldContain("reused");
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(530);
        await using var back = await RawFtp.LoginAsync(server.Port, Demo, "new-pass");
        (await back.SendAsync("SIZE old.txt")).ShouldBe((213, "213 3"));
    }

    [TestCaseSource(nameof(Forms))]
    public async Task Ban_EndsEveryLiveSessionAtOnce_AndNewLoginsGet530Banned(string form)
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        await using var first = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);
        await using var second = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);
        await using var pending = await RawFtp.ConnectAsync(server.Port);
        (await pending.SendAsync($"USER {Demo}")).Code.ShouldBe(331);

        var watch = Stopwatch.StartNew();
        var reply = await admin.SendAsync($"{form}BAN {Demo}");
        reply.Code.ShouldBe(200, reply.Text);
        foreach (var session in new[] { first, second })
        {
            var ended = await session.ReadAsync(TimeSpan.FromSeconds(5));
            ended.Code.ShouldBe(421, ended.Text);
            ended.Text.ShouldContain("banned");
            (await session.ClosedAsync()).ShouldBeTrue();
        }
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3), "banned sessions must end at once, not at their next command");

        // A login that was half-way (USER sent) is refused at PASS.
        var late = await pending.SendAsync($"PASS {DemoPass}");
        late.Code.ShouldBe(530, late.Text);
        late.Text.ShouldContain("banned");
        var login = await TryLoginAsync(server.Port, Demo, DemoPass);
        login.Code.ShouldBe(530, login.Text);
        login.Text.ShouldContain("banned");
        // A wrong password does not reveal the ban.
        var guess = await TryLoginAsync(server.Port, Demo, "wrong");
        guess.Code.ShouldBe(530);
        guess.Text.ShouldNotContain("banned");

        ((bool)((ScriptFtp.Toml.TomlTable)UsersTable(server.UsersFile)[Demo])["banned"]).ShouldBeTrue();
        Directory.Exists(server.DemoHome).ShouldBeTrue();
        (await admin.SendAsync("NOOP")).Code.ShouldBe(200);
        server.ShouldHaveLoggedNoErrors();
    }

    [TestCaseSource(nameof(Forms))]
    public async Task Unban_LetsTheUserLogInAgain(string form)
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        (await admin.SendAsync($"{form}BAN {Demo}")).Code.ShouldBe(200);
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(530);

        var reply = await admin.SendAsync($"{form}UNBAN {Demo}");

        reply.Code.ShouldBe(200, reply.Text);
        reply.Text.ShouldContain(Demo);
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(230);
        ((bool)((ScriptFtp.Toml.TomlTable)UsersTable(server.UsersFile)[Demo])["banned"]).ShouldBeFalse();
        foreach (var comment in Comments(TestServer.DefaultUsersToml())) File.ReadAllText(server.UsersFile).ShouldContain(comment);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task BanTwice_And_UnbanOfAUserWhoIsNotBanned_AreHarmless()
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        (await admin.SendAsync($"BAN {Demo}")).Code.ShouldBe(200);
        var bytes = File.ReadAllBytes(server.UsersFile);

        var again = await admin.SendAsync($"BAN {Demo}");
        again.Code.ShouldBe(200, again.Text);
        again.Text.ShouldContain("already");
        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);

        (await admin.SendAsync($"UNBAN {Demo}")).Code.ShouldBe(200);
        bytes = File.ReadAllBytes(server.UsersFile);
        var unbanAgain = await admin.SendAsync($"UNBAN {Demo}");
        unbanAgain.Code.ShouldBe(200, unbanAgain.Text);
        unbanAgain.Text.ShouldContain("not banned");
        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
    }

    [Test]
    public async Task Changes_SurviveARestartOnTheSameUsersFileAndRoot()
    {
        using var folder = new SharedFolder();
        await using (var first = await StartAsync(folder: folder))
        {
            await using var admin = await RawFtp.LoginAsync(first.Port, Adm, AdmPass);
            (await admin.SendAsync("ADDUSER carol carol-pass")).Code.ShouldBe(200);
            (await admin.SendAsync("ADDUSER dave dave-pass")).Code.ShouldBe(200);
            (await admin.SendAsync("SITE ADDUSER erin erin-pass")).Code.ShouldBe(200);
            (await admin.SendAsync($"BAN {Demo}")).Code.ShouldBe(200);
            (await admin.SendAsync("SITE BAN erin")).Code.ShouldBe(200);
            (await admin.SendAsync("DELUSER dave")).Code.ShouldBe(200);
            first.ShouldHaveLoggedNoErrors();
        }

        await using var second = await StartAsync(folder: folder);
        second.UsersFile.ShouldBe(folder.UsersFile);
        (await TryLoginAsync(second.Port, "carol", "carol-pass")).Code.ShouldBe(230);
        (await TryLoginAsync(second.Port, "dave", "dave-pass")).Code.ShouldBe(530);
        (await TryLoginAsync(second.Port, "erin", "erin-pass")).Text.ShouldContain("banned");
        var demo = await TryLoginAsync(second.Port, Demo, DemoPass);
        demo.Code.ShouldBe(530);
        demo.Text.ShouldContain("banned");
        Directory.Exists(Path.Combine(folder.Root, "dave")).ShouldBeTrue();

        await using var admin2 = await RawFtp.LoginAsync(second.Port, Adm, AdmPass);
        (await admin2.SendAsync($"UNBAN {Demo}")).Code.ShouldBe(200);
        (await TryLoginAsync(second.Port, Demo, DemoPass)).Code.ShouldBe(230);
        (await admin2.SendAsync("ADDUSER carol other")).Code.ShouldBe(550, "carol survived the restart, so she already exists");
        second.ShouldHaveLoggedNoErrors();
    }
}
