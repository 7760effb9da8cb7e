using System.Collections.Immutable;
using System.Net;
using ScriptFtp.Security;

namespace ScriptFtp.Tests.Users;

public class LoginGuardTests
{
    private static readonly IPAddress Attacker = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress Other = IPAddress.Parse("198.51.100.20");

    // 3 failures per user name, 6 per address, in a minute; user lockout 5 minutes, first ban 10 minutes.
    private static (LoginGuard Guard, FakeTimeProvider Time) Create(int maxTracked = 100_000, params string[] trusted)
    {
        var time = new FakeTimeProvider();
        var policy = new LoginPolicy(3, 6, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10),
            [.. trusted.Select(AddressRange.Parse)]);
        return (new LoginGuard(policy, time, maxTracked), time);
    }

    private static void Fail(LoginGuard guard, IPAddress address, string user, int times)
    {
        for (var i = 0; i < times; i++)
        {
            guard.Begin(address, user).ShouldBe(LoginVerdict.Allow);
            guard.Failed(address, user);
        }
    }

    [Test]
    public void A_user_is_locked_out_for_that_address_only_and_briefly()
    {
        var (guard, time) = Create();
        Fail(guard, Attacker, "alice", 3);

        guard.Begin(Attacker, "alice").ShouldBe(new LoginVerdict.Refused(TimeSpan.FromMinutes(5), false));
        guard.Begin(Attacker, "bob").ShouldBe(LoginVerdict.Allow, "a neighbour behind the same address keeps working");
        guard.Begin(Other, "alice").ShouldBe(LoginVerdict.Allow, "the user from elsewhere keeps working");
        guard.BannedFor(Attacker).ShouldBeNull();

        time.Advance(TimeSpan.FromMinutes(5));
        guard.Begin(Attacker, "alice").ShouldBe(LoginVerdict.Allow);
    }

    [Test]
    public void Each_check_takes_its_slot_before_it_runs()
    {
        var (guard, _) = Create();
        // Parallel attempts that have not failed yet hold their slots: the fourth waits although none has finished.
        var verdicts = Enumerable.Range(0, 40).Select(_ => guard.Begin(Attacker, "alice")).ToList();
        verdicts.Count(v => v is LoginVerdict.Allowed).ShouldBe(3);
        verdicts.Skip(3).ShouldAllBe(v => v is LoginVerdict.Busy);
        // Once they have failed, the next attempt is refused and locks the user out for that address.
        for (var i = 0; i < 3; i++) guard.Failed(Attacker, "alice");
        guard.Begin(Attacker, "alice").ShouldBe(new LoginVerdict.Refused(TimeSpan.FromMinutes(5), false));
    }

    [Test]
    public void Many_connections_with_the_right_password_at_once_wait_for_a_slot_and_never_lock_the_user_out()
    {
        var (guard, time) = Create();
        for (var round = 0; round < 4; round++)
        {
            for (var i = 0; i < 3; i++) guard.Begin(Attacker, "alice").ShouldBe(LoginVerdict.Allow);
            guard.Begin(Attacker, "alice").ShouldBeOfType<LoginVerdict.Busy>("all slots are held by running checks");
            guard.Succeeded(Attacker, "alice");
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        guard.Begin(Attacker, "alice").ShouldBe(LoginVerdict.Allow);
        guard.BannedFor(Attacker).ShouldBeNull();
    }

    [Test]
    public void A_running_check_of_another_user_at_the_address_is_not_taken_for_a_failure()
    {
        var (guard, _) = Create();
        for (var i = 0; i < 5; i++) guard.Begin(Attacker, $"user{i}").ShouldBe(LoginVerdict.Allow);
        guard.Failed(Attacker, "user0");
        guard.Succeeded(Attacker, "user1");
        // 6 per address: 3 still running, 1 failed, 1 given back by the success; two more may begin, the next waits.
        guard.Begin(Attacker, "user5").ShouldBe(LoginVerdict.Allow);
        guard.Begin(Attacker, "user6").ShouldBe(LoginVerdict.Allow);
        guard.Begin(Attacker, "user7").ShouldBeOfType<LoginVerdict.Busy>();
        guard.BannedFor(Attacker).ShouldBeNull("only one check has failed");
    }

    [Test]
    public void An_address_trying_many_names_is_banned_and_bans_grow()
    {
        var (guard, time) = Create();
        for (var i = 0; i < 6; i++) Fail(guard, Attacker, $"user{i}", 1);
        BanChanges(guard, out var changes);

        guard.Begin(Attacker, "another").ShouldBe(new LoginVerdict.Refused(TimeSpan.FromMinutes(10), true));
        guard.BannedFor(Attacker).ShouldBe(TimeSpan.FromMinutes(10));
        guard.Begin(Other, "another").ShouldBe(LoginVerdict.Allow);
        changes.ShouldHaveSingleItem().ShouldBeOfType<BanChange.Started>().Ban.Offences.ShouldBe(1);

        time.Advance(TimeSpan.FromMinutes(10));
        guard.BannedFor(Attacker).ShouldBeNull();
        for (var i = 0; i < 6; i++) Fail(guard, Attacker, $"again{i}", 1);
        guard.Begin(Attacker, "another").ShouldBe(new LoginVerdict.Refused(TimeSpan.FromMinutes(20), true), "a repeat offender waits longer");
    }

    [Test]
    public void An_admin_lifts_a_ban_and_sees_the_bans()
    {
        var (guard, _) = Create();
        for (var i = 0; i < 6; i++) Fail(guard, Attacker, $"user{i}", 1);
        guard.Begin(Attacker, "user6").ShouldBeOfType<LoginVerdict.Refused>();
        guard.Bans().ShouldHaveSingleItem().Address.ShouldBe(Attacker);
        BanChanges(guard, out var changes);

        guard.Unban(Attacker.MapToIPv6(), "root").ShouldBeTrue("an IPv4-mapped address is the IPv4 address");
        guard.Unban(Attacker, "root").ShouldBeFalse();
        guard.Bans().ShouldBeEmpty();
        changes.ShouldHaveSingleItem().ShouldBe(new BanChange.Lifted(Attacker, "root"));
        guard.Begin(Attacker, "alice").ShouldBe(LoginVerdict.Allow);
    }

    [Test]
    public void Success_gives_back_the_slot_of_that_user_only()
    {
        var (guard, _) = Create();
        Fail(guard, Attacker, "admin", 2);
        guard.Begin(Attacker, "demo").ShouldBe(LoginVerdict.Allow);
        guard.Succeeded(Attacker, "demo");
        Fail(guard, Attacker, "admin", 1);
        guard.Begin(Attacker, "admin").ShouldBeOfType<LoginVerdict.Refused>("the valid login to another account reset nothing");
    }

    [Test]
    public void Trusted_networks_are_never_counted()
    {
        var (guard, _) = Create(trusted: ["127.0.0.0/8", "::1/128"]);
        for (var i = 0; i < 100; i++) guard.Begin(IPAddress.Loopback, "alice").ShouldBe(LoginVerdict.Allow);
        for (var i = 0; i < 100; i++) guard.Begin(IPAddress.Loopback.MapToIPv6(), $"u{i}").ShouldBe(LoginVerdict.Allow);
        guard.Tracked.ShouldBe(0);
    }

    [Test]
    public void Ipv4_mapped_ipv6_counts_as_the_ipv4_address()
    {
        var (guard, _) = Create();
        var mapped = Attacker.MapToIPv6();
        Fail(guard, mapped, "alice", 1);
        Fail(guard, Attacker, "alice", 1);
        Fail(guard, mapped, "alice", 1);
        guard.Begin(Attacker, "alice").ShouldBeOfType<LoginVerdict.Refused>();
        guard.Begin(mapped, "alice").ShouldBeOfType<LoginVerdict.Refused>();
    }

    [Test]
    public void Memory_is_bounded_and_old_entries_are_pruned()
    {
        var (guard, time) = Create(maxTracked: 100);
        for (var i = 0; i < 1000; i++) guard.Begin(new IPAddress(new byte[] { 10, 0, (byte)(i / 256), (byte)(i % 256) }), "x");
        guard.Tracked.ShouldBeLessThanOrEqualTo(200);

        time.Advance(TimeSpan.FromMinutes(2));
        guard.Begin(Other, "x");
        guard.Tracked.ShouldBe(2);
    }

    private static void BanChanges(LoginGuard guard, out List<BanChange> changes)
    {
        var seen = new List<BanChange>();
        guard.BanChanged += seen.Add;
        changes = seen;
    }
}
