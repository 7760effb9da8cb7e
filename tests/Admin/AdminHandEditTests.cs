using Serilog.Events;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Admin.Admin;

using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Admin;

/// <summary>Editing users.toml by hand while the server runs, observed over sockets.</summary>
[TestFixture]
public sealed class AdminHandEditTests
{
    private static readonly TimeSpan PickUp = TimeSpan.FromSeconds(5);

    [Test]
    public async Task HandAddedUser_CanLogInWithinAFewSeconds()
    {
        await using var server = await StartAsync();
        File.AppendAllText(server.UsersFile, $"""


            # added by hand
            [users.frank]
            password = "{TestHashes.Of("frank-pass")}"
            """);

        (await Tools.EventuallyAsync(async () => (await TryLoginAsync(server.Port, "frank", "frank-pass")).Code == 230, PickUp))
            .ShouldBeTrue("a user added by hand must be able to log in within a few seconds");
        Directory.Exists(Path.Combine(server.Root, "frank")).ShouldBeTrue();
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(230);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task HandChangedPassword_StopsTheOldOneAtOnce_ThoughALoginRememberedIt()
    {
        await using var server = await StartAsync();
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(230);
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(230); // the second one from the verification cache

        var text = File.ReadAllText(server.UsersFile);
        text.ShouldContain(TestHashes.Of(DemoPass));
        File.WriteAllText(server.UsersFile, text.Replace(TestHashes.Of(DemoPass), TestHashes.Of("demo-changed"), StringComparison.Ordinal));

        // Once the edit is in force, the old password is refused from the very next login on.
        (await Tools.EventuallyAsync(async () => (await TryLoginAsync(server.Port, Demo, "demo-changed")).Code == 230, PickUp))
            .ShouldBeTrue("the new password must work within a few seconds");
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(530);
        (await TryLoginAsync(server.Port, Demo, "demo-changed")).Code.ShouldBe(230);
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(530);
    }

    [Test]
    public async Task HandEditedPlainTextPassword_Works_IsHashedAtLogin_AndALaterAdminChangeKeepsTheHandEdit()
    {
        await using var server = await StartAsync();
        File.AppendAllText(server.UsersFile, "\n\n[users.grace]\npassword = \"plain-grace\" # set by hand\nread_only = true\n");
        (await Tools.EventuallyAsync(async () => (await TryLoginAsync(server.Port, "grace", "plain-grace")).Code == 230, PickUp)).ShouldBeTrue();
        server.Log.Contains("plain-text password").ShouldBeTrue();

        var hashed = File.ReadAllText(server.UsersFile);
        hashed.ShouldNotContain("plain-grace");
        hashed.ShouldContain("# set by hand");
        UsersTable(server.UsersFile)["grace"].ShouldBeOfType<ScriptFtp.Toml.TomlTable>()["password"].ShouldBeOfType<string>().ShouldStartWith(Passwords.Prefix);

        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        (await admin.SendAsync("ADDUSER henry henry-pass")).Code.ShouldBe(200);

        var text = File.ReadAllText(server.UsersFile);
        text.ShouldContain("# set by hand\nread_only = true");
        (await TryLoginAsync(server.Port, "grace", "plain-grace")).Code.ShouldBe(230);
        (await TryLoginAsync(server.Port, "grace", "wrong-pass")).Code.ShouldBe(530);
        (await TryLoginAsync(server.Port, "henry", "henry-pass")).Code.ShouldBe(230);
    }

    [Test]
    public async Task PlainTextLogin_StillSucceeds_WhenTheUsersFileCannotBeRewritten()
    {
        await using var server = await StartAsync(TestServer.DefaultUsersToml() + "\n[users.grace]\npassword = \"plain-grace\"\n");
        // A broken hand edit on disk: the server keeps the users it had and refuses to write over the edit.
        var broken = File.ReadAllText(server.UsersFile) + "\n[users.oops\n";
        File.WriteAllText(server.UsersFile, broken);

        (await TryLoginAsync(server.Port, "grace", "plain-grace")).Code.ShouldBe(230);
        (await TryLoginAsync(server.Port, "grace", "plain-grace")).Code.ShouldBe(230);

        File.ReadAllText(server.UsersFile).ShouldBe(broken);
    }

    [Test]
    public async Task AdminCommandRightAfterAHandEdit_DoesNotOverwriteIt()
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);

        // No waiting for the watcher: the command itself must see the edit.
        File.AppendAllText(server.UsersFile, $"\n\n[users.ivy]\npassword = \"{TestHashes.Of("ivy-pass")}\"\n");
        (await admin.SendAsync("ADDUSER jack jack-pass")).Code.ShouldBe(200);

        var users = UsersTable(server.UsersFile);
        users.ContainsKey("ivy").ShouldBeTrue();
        users.ContainsKey("jack").ShouldBeTrue();
        (await TryLoginAsync(server.Port, "ivy", "ivy-pass")).Code.ShouldBe(230);
    }

    [Test]
    public async Task HandBan_EndsTheLiveSession()
    {
        await using var server = await StartAsync();
        await using var demo = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);

        var text = File.ReadAllText(server.UsersFile);
        File.WriteAllText(server.UsersFile, text.Replace($"home = \"{Demo}\"", $"home = \"{Demo}\"\nbanned = true", StringComparison.Ordinal));

        var ended = await demo.ReadAsync(PickUp);
        ended.Code.ShouldBe(421, ended.Text);
        ended.Text.ShouldContain("banned");
        (await demo.ClosedAsync()).ShouldBeTrue();
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Text.ShouldContain("banned");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task HandDelete_EndsTheLiveSession()
    {
        await using var server = await StartAsync();
        await using var demo = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);

        var text = File.ReadAllText(server.UsersFile);
        var start = text.IndexOf($"[users.{Demo}]", StringComparison.Ordinal);
        var end = text.IndexOf("# the administrator", StringComparison.Ordinal);
        File.WriteAllText(server.UsersFile, text[..start] + text[end..]);

        var ended = await demo.ReadAsync(PickUp);
        ended.Code.ShouldBe(421, ended.Text);
        ended.Text.ShouldContain("deleted");
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(530);
        (await admin.SendAsync("NOOP")).Code.ShouldBe(200, "other sessions stay");
        Directory.Exists(server.DemoHome).ShouldBeTrue();
    }

    [Test]
    public async Task HandEditWithASyntaxError_IsLogged_TheLastGoodUsersStay_AndAdminChangesWaitForAFix()
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        await using var demo = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);
        var good = File.ReadAllText(server.UsersFile);
        var broken = good + "\n\n[users.kate\npassword = \"kate-pass\"\n";

        File.WriteAllText(server.UsersFile, broken);

        (await Tools.EventuallyAsync(() => server.Log.Events.Any(e => e.Level >= LogEventLevel.Error
            && e.RenderMessage().Contains("keeping the last good users", StringComparison.Ordinal)), PickUp))
            .ShouldBeTrue("the broken file must be reported in the log");
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(230, "old users keep working");
        (await TryLoginAsync(server.Port, Adm, AdmPass)).Code.ShouldBe(230);
        (await TryLoginAsync(server.Port, "kate", "kate-pass")).Code.ShouldBe(530);
        (await demo.SendAsync("NOOP")).Code.ShouldBe(200, "live sessions are not ended by a broken file");

        // An admin change would overwrite the hand edit: it is refused until the file is fixed.
        var refused = await admin.SendAsync("ADDUSER leo leo-pass");
        refused.Code.ShouldBe(550, refused.Text);
        refused.Text.ShouldContain("users file has an error");
        File.ReadAllText(server.UsersFile).ShouldBe(broken);

        File.WriteAllText(server.UsersFile, good + "\n\n[users.kate]\npassword = \"kate-pass\"\n");
        (await Tools.EventuallyAsync(async () => (await TryLoginAsync(server.Port, "kate", "kate-pass")).Code == 230, PickUp)).ShouldBeTrue();
        (await admin.SendAsync("ADDUSER leo leo-pass")).Code.ShouldBe(200);
        (await TryLoginAsync(server.Port, "leo", "leo-pass")).Code.ShouldBe(230);
    }

    [Test]
    public async Task HandEditWithAnInvalidEntry_IsRejectedLikeASyntaxError()
    {
        await using var server = await StartAsync();
        File.AppendAllText(server.UsersFile, "\n\n[users.\"bad name\"]\npassword = \"x\"\n\n[users.mike]\npassword = \"mike-pass\"\n");

        (await Tools.EventuallyAsync(() => server.Log.Contains("keeping the last good users"), PickUp)).ShouldBeTrue();
        (await TryLoginAsync(server.Port, "mike", "mike-pass")).Code.ShouldBe(530, "a file with one bad entry is ignored as a whole");
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(230);
    }
}
