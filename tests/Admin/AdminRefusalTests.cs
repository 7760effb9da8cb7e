using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Admin.Admin;

using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Admin;

/// <summary>Everything the admin commands refuse, over real sockets: the file on disk never changes.</summary>
[TestFixture]
public sealed class AdminRefusalTests
{
    private static readonly string[] AdminCommands =
    [
        "ADDUSER mallory mallory-pass", "DELUSER admin", "BAN admin", "UNBAN demo",
        "SITE ADDUSER mallory mallory-pass", "SITE DELUSER admin", "SITE BAN admin", "SITE UNBAN demo",
        "adduser mallory mallory-pass", "site ban admin",
    ];

    [Test]
    public async Task NonAdmin_Gets550ForEveryAdminCommand_AndNothingChangesOnDisk()
    {
        await using var server = await StartAsync();
        var bytes = File.ReadAllBytes(server.UsersFile);
        await using var demo = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);

        foreach (var command in AdminCommands)
        {
            var reply = await demo.SendAsync(command);
            reply.Code.ShouldBe(550, $"{command}: {reply.Text}");
            reply.Text.ShouldContain("administrators only");
        }

        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
        Directory.Exists(Path.Combine(server.Root, "mallory")).ShouldBeFalse();
        (await TryLoginAsync(server.Port, "mallory", "mallory-pass")).Code.ShouldBe(530);
        (await TryLoginAsync(server.Port, Adm, AdmPass)).Code.ShouldBe(230);
        (await demo.SendAsync("NOOP")).Code.ShouldBe(200, "a refused admin command does not end the session");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task NotLoggedIn_Gets530ForEveryAdminCommand_AndNothingChangesOnDisk()
    {
        await using var server = await StartAsync();
        var bytes = File.ReadAllBytes(server.UsersFile);
        await using var anonymous = await RawFtp.ConnectAsync(server.Port);

        foreach (var command in AdminCommands)
            (await anonymous.SendAsync(command)).Code.ShouldBe(530, command);

        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
    }

    [TestCase("ADDUSER", "ADDUSER <user> <password>")]
    [TestCase("ADDUSER onlyname", "ADDUSER <user> <password>")]
    [TestCase("ADDUSER a b c", "ADDUSER <user> <password>")]
    [TestCase("ADDUSER    ", "ADDUSER <user> <password>")]
    [TestCase("DELUSER", "DELUSER <user>")]
    [TestCase("DELUSER demo extra", "DELUSER <user>")]
    [TestCase("BAN", "BAN <user>")]
    [TestCase("BAN demo now", "BAN <user>")]
    [TestCase("UNBAN", "UNBAN <user>")]
    [TestCase("UNBAN demo please", "UNBAN <user>")]
    [TestCase("SITE ADDUSER", "ADDUSER <user> <password>")]
    [TestCase("SITE ADDUSER onlyname", "ADDUSER <user> <password>")]
    [TestCase("SITE DELUSER", "DELUSER <user>")]
    [TestCase("SITE BAN demo now", "BAN <user>")]
    [TestCase("SITE UNBAN", "UNBAN <user>")]
    public async Task BadArity_Gets501WithTheUsageLine(string command, string usage)
    {
        await using var server = await StartAsync();
        var bytes = File.ReadAllBytes(server.UsersFile);
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);

        var reply = await admin.SendAsync(command);

        reply.Code.ShouldBe(501, reply.Text);
        reply.Text.ShouldContain("Usage:");
        reply.Text.ShouldContain(usage);
        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
        (await TryLoginAsync(server.Port, Demo, DemoPass)).Code.ShouldBe(230, "a bad command must not ban or delete anyone");
    }

    [TestCase("../escape")]
    [TestCase(".hidden")]
    [TestCase("-dash")]
    [TestCase("has/slash")]
    [TestCase("back\\slash")]
    [TestCase("quote\"d")]
    [TestCase("brack]et")]
    [TestCase("ümlaut")]
    [TestCase("abcdefghijklmnopqrstuvwxyz0123456")] // 33 characters
    public async Task AddUser_InvalidName_IsRefusedWithTheNamingRule(string name)
    {
        await using var server = await StartAsync();
        var bytes = File.ReadAllBytes(server.UsersFile);
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);

        var reply = await admin.SendAsync($"ADDUSER {name} some-pass");
        var site = await admin.SendAsync($"SITE ADDUSER {name} some-pass");

        foreach (var r in new[] { reply, site })
        {
            // Issue 4: an invalid name is a syntax error (501) with the usage line.
            r.Code.ShouldBe(501, r.Text);
            r.Text.ShouldContain("Usage:");
            r.Text.ShouldContain("Invalid user name");
            r.Text.ShouldContain("1 to 32 characters from A-Z, a-z, 0-9");
        }
        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
        Directory.GetFileSystemEntries(server.Root).Select(Path.GetFileName).Order().ShouldBe(new[] { Adm, Demo }.Order());
        Directory.Exists(Path.Combine(server.Folder, "escape")).ShouldBeFalse();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task AddUser_LongestValidName_IsAccepted()
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        const string name = "Abc_def.ghi-jklmnopqrstuvwxyz012"; // 32 characters

        (await admin.SendAsync($"ADDUSER {name} long-pass")).Code.ShouldBe(200);

        (await TryLoginAsync(server.Port, name, "long-pass")).Code.ShouldBe(230);
    }

    [TestCase("DELUSER")]
    [TestCase("BAN")]
    [TestCase("UNBAN")]
    [TestCase("SITE DELUSER")]
    [TestCase("SITE BAN")]
    [TestCase("SITE UNBAN")]
    public async Task UnknownUser_Gets550(string verb)
    {
        await using var server = await StartAsync();
        var bytes = File.ReadAllBytes(server.UsersFile);
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);

        var reply = await admin.SendAsync($"{verb} nobody");
        reply.Code.ShouldBe(550, reply.Text);
        reply.Text.ShouldContain("No such user: nobody");

        // Names are case-sensitive: "Demo" is not "demo".
        var cased = await admin.SendAsync($"{verb} Demo");
        cased.Code.ShouldBe(550, cased.Text);

        // An invalid name is not echoed back.
        var invalid = await admin.SendAsync($"{verb} ../../etc");
        invalid.Code.ShouldBe(501, invalid.Text);
        invalid.Text.ShouldNotContain("../");

        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task DuplicateAddUser_Gets550_AndKeepsTheOldPassword()
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        var bytes = File.ReadAllBytes(server.UsersFile);

        var existing = await admin.SendAsync($"ADDUSER {Demo} hijacked");
        existing.Code.ShouldBe(550, existing.Text);
        existing.Text.ShouldContain("already exists");
        (await admin.SendAsync($"SITE ADDUSER {Adm} hijacked")).Code.ShouldBe(550);
        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);

        (await admin.SendAsync("ADDUSER carol first")).Code.ShouldBe(200);
        bytes = File.ReadAllBytes(server.UsersFile);
        (await admin.SendAsync("ADDUSER carol second")).Code.ShouldBe(550);
        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
        (await TryLoginAsync(server.Port, "carol", "first")).Code.ShouldBe(230);
        (await TryLoginAsync(server.Port, "carol", "second")).Code.ShouldBe(530);
        (await TryLoginAsync(server.Port, Demo, "hijacked")).Code.ShouldBe(530);
    }

    [Test]
    public async Task SelfBan_And_SelfDelete_Get550()
    {
        await using var server = await StartAsync(TwoAdminsToml());
        var bytes = File.ReadAllBytes(server.UsersFile);
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);

        foreach (var command in new[] { $"BAN {Adm}", $"DELUSER {Adm}", $"SITE BAN {Adm}", $"SITE DELUSER {Adm}" })
        {
            var reply = await admin.SendAsync(command);
            reply.Code.ShouldBe(550, $"{command}: {reply.Text}");
            reply.Text.ShouldContain("You cannot");
        }

        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
        (await admin.SendAsync("NOOP")).Code.ShouldBe(200, "the admin's session is still alive");
        (await TryLoginAsync(server.Port, Adm, AdmPass)).Code.ShouldBe(230);
    }

    [Test]
    public async Task SecondAdmin_CanBeBannedAndDeleted_WhileAnotherAdminRemains()
    {
        await using var server = await StartAsync(TwoAdminsToml());
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        await using var boss = await RawFtp.LoginAsync(server.Port, "boss", "boss-pass");

        (await admin.SendAsync("BAN boss")).Code.ShouldBe(200);
        (await boss.ReadAsync(TimeSpan.FromSeconds(5))).Code.ShouldBe(421);
        (await TryLoginAsync(server.Port, "boss", "boss-pass")).Text.ShouldContain("banned");

        // The banned admin is not an active admin any more, so deleting them does not remove the last admin.
        (await admin.SendAsync("DELUSER boss")).Code.ShouldBe(200);
        UsersTable(server.UsersFile).ContainsKey("boss").ShouldBeFalse();
        UsersTable(server.UsersFile).ContainsKey(Adm).ShouldBeTrue();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task AdminDemotedMidSession_IsRefusedBanAndDeleteOfTheRemainingAdmin_AsAdministratorsOnly()
    {
        // Over the network the store's "last admin" rule cannot be reached: the only way to act on the last admin is a
        // session whose account stopped being an admin after it logged in (here: demoted by a hand edit), and the server
        // re-reads the rights before every command, so it refuses the command as admin-only before the store is asked.
        // What this checks is that refusal, and that the remaining admin survives. (The store's own "last admin" message
        // is covered by tests/Users.)
        await using var server = await StartAsync(TwoAdminsToml());
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        File.WriteAllText(server.UsersFile, DemoteFirstAdmin(File.ReadAllText(server.UsersFile)));
        (await Tools.EventuallyAsync(() => !server.Users.Users[Adm].Admin, TimeSpan.FromSeconds(5))).ShouldBeTrue();
        var bytes = File.ReadAllBytes(server.UsersFile);

        foreach (var command in new[] { "BAN boss", "DELUSER boss", "SITE BAN boss", "SITE DELUSER boss" })
        {
            var reply = await admin.SendAsync(command);
            reply.Code.ShouldBe(550, $"{command}: {reply.Text}");
            reply.Text.ShouldContain("administrators only");
        }

        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
        (await TryLoginAsync(server.Port, "boss", "boss-pass")).Code.ShouldBe(230);
    }

    [Test]
    public async Task DemotedAdmin_LosesAdminRightsInTheLiveSession()
    {
        await using var server = await StartAsync(TwoAdminsToml());
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        File.WriteAllText(server.UsersFile, DemoteFirstAdmin(File.ReadAllText(server.UsersFile)));
        (await Tools.EventuallyAsync(() => !server.Users.Users[Adm].Admin, TimeSpan.FromSeconds(5))).ShouldBeTrue();
        var bytes = File.ReadAllBytes(server.UsersFile);

        // Either the session is ended, or the command is refused as for any non-admin.
        var reply = await admin.SendAsync("ADDUSER mallory mallory-pass");

        reply.Code.ShouldBeOneOf([421, 550, 0], reply.Text);
        if (reply.Code == 550) reply.Text.ShouldContain("administrators only");
        File.ReadAllBytes(server.UsersFile).ShouldBe(bytes);
        (await TryLoginAsync(server.Port, "mallory", "mallory-pass")).Code.ShouldBe(530);
    }

    /// <summary>Turns the first <c>admin = true</c> (the user <c>admin</c>) into <c>admin = false</c>.</summary>
    private static string DemoteFirstAdmin(string text)
    {
        var at = text.IndexOf("admin = true", StringComparison.Ordinal);
        at.ShouldBeGreaterThan(text.IndexOf("[users.admin]", StringComparison.Ordinal));
        return text[..at] + "admin = false" + text[(at + "admin = true".Length)..];
    }

    [Test]
    public async Task Help_ListsTheAdminVerbsForAdminsOnly()
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        await using var demo = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);
        await using var anonymous = await RawFtp.ConnectAsync(server.Port);
        string[] verbs = ["ADDUSER", "DELUSER", "BAN", "UNBAN"];

        var adminHelp = await admin.SendAsync("HELP");
        adminHelp.Code.ShouldBe(214);
        var words = adminHelp.Text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        foreach (var verb in verbs) words.ShouldContain(verb);

        foreach (var other in new[] { demo, anonymous })
        {
            var help = await other.SendAsync("HELP");
            help.Code.ShouldBe(214);
            var listed = help.Text.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            foreach (var verb in verbs) listed.ShouldNotContain(verb);
            listed.ShouldContain("RETR");
        }

        var siteHelp = await admin.SendAsync("SITE HELP");
        siteHelp.Code.ShouldBe(214);
        foreach (var verb in verbs) siteHelp.Text.ShouldContain($"SITE {verb} <user>");
        var demoSiteHelp = await demo.SendAsync("SITE HELP");
        demoSiteHelp.Code.ShouldBe(214);
        foreach (var verb in verbs) demoSiteHelp.Text.ShouldNotContain(verb);

        var one = await admin.SendAsync("HELP ADDUSER");
        one.Code.ShouldBe(214);
        one.Text.ShouldContain("ADDUSER <user> <password>");
        (await demo.SendAsync("HELP ADDUSER")).Code.ShouldBe(502);
        (await demo.SendAsync("HELP BAN")).Code.ShouldBe(502);
    }
}
