using System.Net;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;
using Serilog.Core;

namespace ScriptFtp.Tests.Effects;

/// <summary>The authentication interpreter over a users file and a login guard, without a connection.</summary>
public class AuthenticationTests
{
    private static readonly IPAddress From = IPAddress.Parse("203.0.113.9");
    private string _folder = "";
    private UserStore _users = null!;

    [SetUp]
    public void OpenUsers()
    {
        _folder = Tools.NewFolder("scriptftp-auth-");
        var file = Path.Combine(_folder, "users.toml");
        File.WriteAllText(file, $"[users.alice]\npassword = \"{TestHashes.Of("secret")}\"\nhome = \"alice\"\n\n" +
            $"[users.eve]\npassword = \"{TestHashes.Of("evil")}\"\nbanned = true\n");
        _users = UserStore.Open(file, Path.Combine(_folder, "root"), Logger.None);
    }

    [TearDown]
    public void CloseUsers()
    {
        _users.Dispose();
        Tools.DeleteQuietly(_folder);
    }

    // One failure per user name and two per address allowed in the window, then the address is banned; failures are not delayed.
    private Authentication Create(out LoginGuard guard)
    {
        var policy = new LoginPolicy(1, 2, TimeSpan.FromHours(1), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10), []);
        guard = new LoginGuard(policy, TimeProvider.System);
        return new Authentication(_users, guard, TimeSpan.Zero, TimeProvider.System);
    }

    private static Task<(EffectResult Result, UserFiles? Files)> LogIn(Authentication auth, string name, string password) =>
        auth.LogInAsync(new Effect.Authenticate(name, password), From, Logger.None, CancellationToken.None);

    [Test]
    public async Task The_right_password_logs_in_and_gives_the_user_their_home()
    {
        var (result, files) = await LogIn(Create(out _), "alice", "secret");
        result.ShouldBe(new EffectResult.Authenticated(new UserView("alice", false, false)));
        files!.Root.ShouldBe(Path.Combine(_folder, "root", "alice"));
        Directory.Exists(files.Root).ShouldBeTrue("the home folder is made at login");
    }

    [Test]
    public async Task A_wrong_password_or_a_ban_is_refused_and_counted_until_the_address_is_banned()
    {
        var auth = Create(out var guard);
        (await LogIn(auth, "alice", "wrong")).Result.ShouldBe(new EffectResult.LoginFailed(LoginFailure.Incorrect));
        (await LogIn(auth, "eve", "evil")).Result.ShouldBe(new EffectResult.LoginFailed(LoginFailure.Banned));
        guard.BannedFor(From).ShouldBeNull("the address has used its two checks, but is banned only by the next attempt");

        var (locked, files) = await LogIn(auth, "alice", "secret");
        locked.ShouldBeOfType<EffectResult.LoginFailed>().Reason.ShouldBe(LoginFailure.AddressBanned);
        guard.BannedFor(From).ShouldNotBeNull();
        ((EffectResult.LoginFailed)locked).LockedFor.ShouldBeGreaterThan(TimeSpan.FromMinutes(9));
        files.ShouldBeNull();
    }

    [Test]
    public void The_account_view_carries_the_ban_and_is_null_for_a_deleted_user()
    {
        Authentication.View(_users.Users, "eve").ShouldBe(new UserView("eve", false, false) { Banned = true });
        Authentication.View(_users.Users, "nobody").ShouldBeNull();
    }
}
