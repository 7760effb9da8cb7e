using System.Collections.Immutable;

namespace ScriptFtp.Tests.Security;

/// <summary>The verification cache on its own: what it remembers, what it never does, and its bound.</summary>
public class VerificationCacheTests
{
    private static readonly UserAccount Alice = Account("alice", "hash-a");
    private static readonly UserAccount Bob = Account("bob", "hash-b");

    private static UserAccount Account(string name, string hash) => new(name, hash, name, Admin: false, Banned: false, ReadOnly: false);

    private static ImmutableDictionary<string, UserAccount> Users(params UserAccount[] accounts) =>
        accounts.ToImmutableDictionary(a => a.Name, StringComparer.Ordinal);

    [Test]
    public void A_remembered_password_is_a_hit_for_the_same_record()
    {
        var cache = new VerificationCache(10);
        cache.IsVerified(Alice, "secret").ShouldBeFalse();

        cache.Remember(Alice, "secret");

        cache.IsVerified(Alice, "secret").ShouldBeTrue();
        cache.IsVerified(Alice with { }, "secret").ShouldBeTrue(); // an equal record read again from the file
        cache.Count.ShouldBe(1);
    }

    [Test]
    public void A_wrong_password_is_a_miss_and_leaves_the_entry()
    {
        var cache = new VerificationCache(10);
        cache.Remember(Alice, "secret");

        cache.IsVerified(Alice, "Secret").ShouldBeFalse();
        cache.IsVerified(Alice, "secret ").ShouldBeFalse();
        cache.IsVerified(Alice, "").ShouldBeFalse();
        cache.IsVerified(Alice, "secret").ShouldBeTrue();
    }

    [Test]
    public void A_password_remembered_for_one_user_is_a_miss_for_another()
    {
        var cache = new VerificationCache(10);
        cache.Remember(Alice, "secret");

        cache.IsVerified(Bob, "secret").ShouldBeFalse();
        cache.IsVerified(Account("alice", "hash-b"), "secret").ShouldBeFalse();
    }

    [TestCase("password")]
    [TestCase("banned")]
    [TestCase("admin")]
    [TestCase("read_only")]
    [TestCase("home")]
    [TestCase("tls")]
    public void Any_change_of_the_record_is_a_miss_and_is_forgotten_by_Retain(string field)
    {
        var cache = new VerificationCache(10);
        cache.Remember(Alice, "secret");
        cache.Remember(Bob, "other");
        var changed = field switch
        {
            "password" => Alice with { PasswordHash = "hash-new" },
            "banned" => Alice with { Banned = true },
            "admin" => Alice with { Admin = true },
            "read_only" => Alice with { ReadOnly = true },
            "home" => Alice with { Home = "elsewhere" },
            "tls" => Alice with { Tls = TlsRequirement.Required },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };

        cache.IsVerified(changed, "secret").ShouldBeFalse();
        cache.Retain(Users(changed, Bob));

        cache.Count.ShouldBe(1);
        cache.IsVerified(Alice, "secret").ShouldBeFalse(); // even if the old record came back, it was forgotten
        cache.IsVerified(Bob, "other").ShouldBeTrue();
    }

    [Test]
    public void A_deleted_user_is_forgotten_by_Retain()
    {
        var cache = new VerificationCache(10);
        cache.Remember(Alice, "secret");
        cache.Remember(Bob, "other");

        cache.Retain(Users(Bob));

        cache.Count.ShouldBe(1);
        cache.IsVerified(Alice, "secret").ShouldBeFalse();
        cache.IsVerified(Bob, "other").ShouldBeTrue();
    }

    [Test]
    public void One_entry_per_user_the_last_password_proved_right()
    {
        var cache = new VerificationCache(10);
        cache.Remember(Alice, "first");
        var renewed = Alice with { PasswordHash = "hash-2" };
        cache.Remember(renewed, "second");

        cache.Count.ShouldBe(1);
        cache.IsVerified(renewed, "second").ShouldBeTrue();
        cache.IsVerified(renewed, "first").ShouldBeFalse();
        cache.IsVerified(Alice, "first").ShouldBeFalse();
    }

    [Test]
    public void The_cache_is_bounded_and_drops_the_least_recently_used()
    {
        var cache = new VerificationCache(3);
        var users = Enumerable.Range(0, 4).Select(i => Account($"u{i}", $"h{i}")).ToArray();
        cache.Remember(users[0], "p0");
        cache.Remember(users[1], "p1");
        cache.Remember(users[2], "p2");
        cache.IsVerified(users[0], "p0").ShouldBeTrue(); // u0 used again: u1 is now the oldest

        cache.Remember(users[3], "p3");

        cache.Count.ShouldBe(3);
        cache.IsVerified(users[1], "p1").ShouldBeFalse();
        cache.IsVerified(users[0], "p0").ShouldBeTrue();
        cache.IsVerified(users[2], "p2").ShouldBeTrue();
        cache.IsVerified(users[3], "p3").ShouldBeTrue();
    }

    [Test]
    public void Ten_thousand_users_stay_within_the_bound()
    {
        var cache = new VerificationCache(1000);
        for (var i = 0; i < 10_000; i++)
            cache.Remember(Account($"user{i}", "h"), "pw");

        cache.Count.ShouldBe(1000);
        cache.IsVerified(Account("user9999", "h"), "pw").ShouldBeTrue();
        cache.IsVerified(Account("user0", "h"), "pw").ShouldBeFalse();
    }
}
