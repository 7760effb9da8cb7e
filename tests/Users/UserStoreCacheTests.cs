using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Users;

/// <summary>The store's verification cache: what a login remembers, and every change to a user that forgets it.</summary>
public class UserStoreCacheTests
{
    private TempSetup _setup = null!;

    [SetUp]
    public void SetUp() => _setup = new TempSetup();

    [TearDown]
    public void TearDown() => _setup.Dispose();

    private UserStore OpenWithDemo(string extra = "") =>
        _setup.OpenWithAdmin($"[users.demo]\npassword = \"{TestHashes.Of("demopw")}\"\n{extra}");

    [Test]
    public async Task A_success_is_remembered_and_answers_the_next_login_without_a_hash()
    {
        var store = OpenWithDemo();
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Ok);
        store.RememberedCount.ShouldBe(1);

        // Answered on the calling thread, before any hash could run on the pool.
        var again = store.AuthenticateAsync("demo", "demopw", CancellationToken.None);
        again.IsCompletedSuccessfully.ShouldBeTrue();
        (await again).Status.ShouldBe(AuthStatus.Ok);
        (await again).User.ShouldBe(store.Users["demo"]);
    }

    [Test]
    public async Task A_wrong_password_or_unknown_user_is_never_remembered()
    {
        var store = OpenWithDemo();
        store.Authenticate("demo", "wrong").Status.ShouldBe(AuthStatus.BadCredentials);
        store.Authenticate("nobody", "demopw").Status.ShouldBe(AuthStatus.BadCredentials);
        store.RememberedCount.ShouldBe(0);

        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Ok);
        (await store.AuthenticateAsync("demo", "wrong", CancellationToken.None)).ShouldBe((AuthStatus.BadCredentials, (UserAccount?)null));
        store.Authenticate("demo", "demopw ").Status.ShouldBe(AuthStatus.BadCredentials);
        store.RememberedCount.ShouldBe(1);
        store.AuthenticateAsync("demo", "demopw", CancellationToken.None).IsCompletedSuccessfully.ShouldBeTrue();
    }

    [Test]
    public async Task A_ban_forgets_the_user_and_the_right_password_then_says_banned()
    {
        var store = OpenWithDemo();
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Ok);

        (await store.BanAsync("root", "demo")).Ok.ShouldBeTrue();

        store.RememberedCount.ShouldBe(0);
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Banned);
        (await store.UnbanAsync("root", "demo")).Ok.ShouldBeTrue();
        store.RememberedCount.ShouldBe(0);
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Ok);
    }

    [Test]
    public async Task Deleting_and_adding_the_user_again_forgets_the_old_password()
    {
        var store = OpenWithDemo();
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Ok);

        (await store.DeleteUserAsync("root", "demo")).Ok.ShouldBeTrue();
        store.RememberedCount.ShouldBe(0);
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.BadCredentials);

        (await store.AddUserAsync("root", "demo", "newpw")).Ok.ShouldBeTrue();
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.BadCredentials);
        store.Authenticate("demo", "newpw").Status.ShouldBe(AuthStatus.Ok);
    }

    [Test]
    public async Task A_change_to_another_user_keeps_what_is_remembered()
    {
        var store = OpenWithDemo();
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Ok);

        (await store.AddUserAsync("root", "carol", "carolpw")).Ok.ShouldBeTrue();

        store.RememberedCount.ShouldBe(1);
        store.AuthenticateAsync("demo", "demopw", CancellationToken.None).IsCompletedSuccessfully.ShouldBeTrue();
    }

    [Test]
    public async Task A_password_changed_by_hand_forgets_the_old_one_at_the_reload()
    {
        var store = OpenWithDemo();
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Ok);
        var changed = TestHashes.Of("changedpw");

        _setup.Write(_setup.Text.Replace(TestHashes.Of("demopw"), changed, StringComparison.Ordinal));

        (await Tools.EventuallyAsync(() => store.Users["demo"].PasswordHash == changed)).ShouldBeTrue();
        store.RememberedCount.ShouldBe(0);
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.BadCredentials);
        store.Authenticate("demo", "changedpw").Status.ShouldBe(AuthStatus.Ok);
    }

    [Test]
    public async Task A_rehash_forgets_the_entry_of_the_replaced_password()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"plainpw\"\n");
        store.Authenticate("demo", "plainpw").Status.ShouldBe(AuthStatus.Ok);
        store.RememberedCount.ShouldBe(1);

        (await store.RehashAsync("demo", "plainpw")).Ok.ShouldBeTrue();

        store.Users["demo"].PasswordHash.ShouldStartWith(Passwords.Prefix);
        store.RememberedCount.ShouldBe(0);
        store.Authenticate("demo", "plainpw").Status.ShouldBe(AuthStatus.Ok);
        store.Authenticate("demo", "other").Status.ShouldBe(AuthStatus.BadCredentials);
    }
}
