using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Admin.Admin;

namespace ScriptFtp.Tests.Client;

// The admin verbs typed into the REPL reach ScriptFtp as they are, the replies are shown, and users.toml follows.
// ScriptFtp only: a standard server has no such verbs (ReplTests checks the refusals on both kinds of server).
public class ReplAdminTests
{
    [Test]
    public async Task An_admin_adds_bans_unbans_and_deletes_a_user_through_the_client()
    {
        await using var server = await StartAsync();
        var comments = Comments(File.ReadAllText(server.UsersFile)).ToList();
        var local = Tools.NewFolder("scriptftp-client-");
        bool? Banned(string name) =>
            UsersTable(server.UsersFile).TryGetValue(name, out var user) ? (bool)((ScriptFtp.Toml.TomlTable)user)["banned"] : null;
        async Task<int> LoginCode() => (await TryLoginAsync(server.Port, "carol", "carol-pass")).Code;
        var checks = new List<string>();
        // Each check runs when the client asks for its next line, i.e. once the previous command's reply is in.
        Func<Task> Check(string after, bool? banned, int login) => async () =>
        {
            Banned("carol").ShouldBe(banned, $"users.toml after {after}");
            (await LoginCode()).ShouldBe(login, $"carol's login after {after}");
            checks.Add(after);
        };
        try
        {
            Banned("carol").ShouldBeNull();
            // The admin test server has no TLS.
            var result = await ReplTests.RunReplAsync("127.0.0.1", server.Port, local, ["--plain"], new ScriptReader(
                TestServer.AdminUser, TestServer.AdminPassword,
                "ADDUSER carol carol-pass", Check("ADDUSER", banned: false, login: 230),
                "ban carol", Check("BAN", banned: true, login: 530),
                "UNBAN carol", Check("UNBAN", banned: false, login: 230),
                "DelUser carol", Check("DELUSER", banned: null, login: 530)));

            result.ShouldSucceed();
            checks.ShouldBe(["ADDUSER", "BAN", "UNBAN", "DELUSER"]);
            Tools.Lines(result.Output).ShouldBe(
            [
                "200 User carol added with home folder carol.",
                "200 User carol banned.",
                "200 User carol unbanned.",
                "200 User carol deleted; their files in carol were kept.",
            ]);
            result.Error.ShouldBeEmpty();
            var text = File.ReadAllText(server.UsersFile);
            foreach (var comment in comments) text.ShouldContain(comment);
            server.ShouldHaveLoggedNoErrors();
        }
        finally
        {
            Tools.DeleteQuietly(local);
        }
    }
}
