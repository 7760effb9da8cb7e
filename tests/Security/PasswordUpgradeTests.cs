using System.Net;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Security;

/// <summary>Hashes of earlier versions keep working over a real connection, and the first login replaces them.</summary>
[TestFixture]
public sealed class PasswordUpgradeTests
{
    // The demo user's hash in the users.toml that earlier versions shipped (PBKDF2-SHA256, 100,000 iterations; password "demo").
    private const string OldHash = "pbkdf2-sha256$100000$Ffg9d+TyKYLMRjNZSya/Vg==$1+QbviDwYTLZbgzgw4uKoQFjfny8QEG+Zo/znnIL0KA=";
    private static readonly IPAddress Client = IPAddress.Parse("127.0.0.2");

    private static string UsersToml() => $"""
        # Users from an earlier version (this comment must survive the upgrade)

        [users.old]
        password = "{OldHash}"   # made by hash-password long ago
        home = "old"
        read_only = true

        # the administrator, already current
        [users.{TestServer.AdminUser}]
        password = "{TestHashes.Of(TestServer.AdminPassword)}"
        admin = true
        """;

    [Test]
    public async Task Hash_upgrade_on_login_rewrites_only_that_password_and_the_same_password_still_logs_in()
    {
        var original = UsersToml();
        await using var server = await TestServer.StartAsync(usersToml: original);

        await using (var first = await RawFtp.ConnectAsync(server.Port, from: Client))
        {
            (await first.LoginAsync("old", "wrong")).Code.ShouldBe(530);
            File.ReadAllText(server.UsersFile).ShouldBe(original, "a failed login changes nothing");
            var login = await first.LoginAsync("old", "demo");
            login.Code.ShouldBe(230, login.Text);
        }

        // The 230 comes after the rewrite: the file on disk already holds the new hash.
        var upgraded = File.ReadAllText(server.UsersFile);
        var users = ScriptFtp.Toml.Toml.Parse(upgraded, "users.toml")["users"].ShouldBeOfType<ScriptFtp.Toml.TomlTable>();
        var hash = users["old"].ShouldBeOfType<ScriptFtp.Toml.TomlTable>()["password"].ShouldBeOfType<string>();
        hash.ShouldMatch(@"^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$");
        upgraded.ShouldBe(original.Replace(OldHash, hash), "only the one password changed: comments, layout, other users kept");
        server.Log.Contains("The password of old is now stored as an Argon2id hash.").ShouldBeTrue();

        await using (var again = await RawFtp.ConnectAsync(server.Port, from: Client))
        {
            (await again.LoginAsync("old", "demo!")).Code.ShouldBe(530);
            var login = await again.LoginAsync("old", "demo");
            login.Code.ShouldBe(230, login.Text);
            var mkd = await again.SendAsync("MKD new");
            mkd.Code.ShouldBe(550, mkd.Text);
            mkd.Text.ShouldContain("read-only", customMessage: "still the read-only user it was");
        }
        File.ReadAllText(server.UsersFile).ShouldBe(upgraded, "a current hash is not rewritten");
        await using (await RawFtp.LoginAsync(server.Port, TestServer.AdminUser, TestServer.AdminPassword, from: Client)) { }
        server.ShouldHaveLoggedNoErrors();
    }
}
