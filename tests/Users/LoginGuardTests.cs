using System.Net;

namespace ScriptFtp.Tests.Users;

public class LoginGuardTests
{
    private static readonly IPAddress Attacker = IPAddress.Parse("203.0.113.7");
    private static readonly IPAddress Other = IPAddress.Parse("198.51.100.20");

    private static (LoginGuard Guard, FakeTimeProvider Time) Create(int maxTracked = 100_000)
    {
        var time = new FakeTimeProvider();
        var guard = new LoginGuard(3, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5), time, maxTracked);
        return (guard, time);
    }

    [Test]
    public void Delay_then_refusal_then_expiry_and_other_address_unaffected()
    {
        var (guard, time) = Create();

        guard.Check(Attacker).ShouldBeOfType<LoginVerdict.Allowed>();
        guard.RecordFailure(Attacker);
        guard.RecordFailure(Attacker);
        guard.Check(Attacker).ShouldBeOfType<LoginVerdict.Allowed>();
        guard.RecordFailure(Attacker); // third failure: threshold reached

        guard.Check(Attacker).ShouldBe(new LoginVerdict.Delay(TimeSpan.FromSeconds(2)));
        guard.Check(Other).ShouldBe(LoginVerdict.Allow);

        time.Advance(TimeSpan.FromSeconds(2));
        guard.RecordFailure(Attacker); // failed again despite the delay: locked out

        guard.Check(Attacker).ShouldBe(new LoginVerdict.Refused(TimeSpan.FromMinutes(5)));
        guard.Check(Other).ShouldBe(LoginVerdict.Allow);

        time.Advance(TimeSpan.FromMinutes(4));
        guard.Check(Attacker).ShouldBe(new LoginVerdict.Refused(TimeSpan.FromMinutes(1)));
        guard.RecordFailure(Attacker); // does not extend the lockout
        guard.Check(Attacker).ShouldBe(new LoginVerdict.Refused(TimeSpan.FromMinutes(1)));

        time.Advance(TimeSpan.FromMinutes(1));
        guard.Check(Attacker).ShouldBe(LoginVerdict.Allow);

        // After expiry the address starts afresh: it takes the full count again.
        guard.RecordFailure(Attacker);
        guard.RecordFailure(Attacker);
        guard.Check(Attacker).ShouldBe(LoginVerdict.Allow);
    }

    [Test]
    public void Other_address_can_fail_independently()
    {
        var (guard, _) = Create();
        for (var i = 0; i < 4; i++)
            guard.RecordFailure(Attacker);
        guard.Check(Attacker).ShouldBeOfType<LoginVerdict.Refused>();

        guard.RecordFailure(Other);
        guard.RecordFailure(Other);
        guard.Check(Other).ShouldBe(LoginVerdict.Allow);
    }

    [Test]
    public void Failures_outside_the_window_are_forgotten()
    {
        var (guard, time) = Create();
        guard.RecordFailure(Attacker);
        guard.RecordFailure(Attacker);
        time.Advance(TimeSpan.FromSeconds(61));
        guard.RecordFailure(Attacker);
        guard.Check(Attacker).ShouldBe(LoginVerdict.Allow);

        // Sliding window: the three most recent failures within a minute count.
        time.Advance(TimeSpan.FromSeconds(30));
        guard.RecordFailure(Attacker);
        guard.RecordFailure(Attacker);
        guard.Check(Attacker).ShouldBeOfType<LoginVerdict.Delay>();

        // The delayed state ends when the failures age out of the window.
        time.Advance(TimeSpan.FromSeconds(61));
        guard.Check(Attacker).ShouldBe(LoginVerdict.Allow);
    }

    [Test]
    public void Success_clears_the_address()
    {
        var (guard, _) = Create();
        guard.RecordFailure(Attacker);
        guard.RecordFailure(Attacker);
        guard.RecordFailure(Attacker);
        guard.Check(Attacker).ShouldBeOfType<LoginVerdict.Delay>();
        guard.RecordSuccess(Attacker);
        guard.Check(Attacker).ShouldBe(LoginVerdict.Allow);
        guard.RecordFailure(Attacker);
        guard.RecordFailure(Attacker);
        guard.Check(Attacker).ShouldBe(LoginVerdict.Allow);
    }

    [Test]
    public void Ipv4_mapped_ipv6_counts_as_the_ipv4_address()
    {
        var (guard, _) = Create();
        var mapped = Attacker.MapToIPv6();
        mapped.IsIPv4MappedToIPv6.ShouldBeTrue();
        guard.RecordFailure(mapped);
        guard.RecordFailure(Attacker);
        guard.RecordFailure(mapped);
        guard.Check(Attacker).ShouldBeOfType<LoginVerdict.Delay>();
        guard.Check(mapped).ShouldBeOfType<LoginVerdict.Delay>();
        guard.RecordSuccess(mapped);
        guard.Check(Attacker).ShouldBe(LoginVerdict.Allow);
    }

    [Test]
    public void Memory_is_bounded_and_old_entries_are_pruned()
    {
        var (guard, time) = Create(maxTracked: 100);
        for (var i = 0; i < 1000; i++)
            guard.RecordFailure(new IPAddress(new byte[] { 10, 0, (byte)(i / 256), (byte)(i % 256) }));
        guard.TrackedAddresses.ShouldBeLessThanOrEqualTo(100);

        time.Advance(TimeSpan.FromMinutes(2));
        guard.Check(Other);
        guard.TrackedAddresses.ShouldBe(0);
    }

    [Test]
    public void Locked_out_addresses_are_pruned_after_the_lockout()
    {
        var (guard, time) = Create();
        for (var i = 0; i < 4; i++)
            guard.RecordFailure(Attacker);
        guard.TrackedAddresses.ShouldBe(1);
        time.Advance(TimeSpan.FromMinutes(5));
        guard.Check(Other);
        guard.TrackedAddresses.ShouldBe(0);
    }
}
