using System.Collections.Immutable;
using System.Net;
using ScriptFtp.Security;

namespace ScriptFtp;

/// <summary>What <see cref="LoginGuard.Begin"/> decided for a login attempt.</summary>
internal abstract record LoginVerdict
{
    private LoginVerdict()
    {
    }

    /// <summary>The shared <see cref="Allowed"/> instance.</summary>
    public static LoginVerdict Allow { get; } = new Allowed();

    /// <summary>Go ahead and check the password: the attempt already holds a failure slot until it succeeds.</summary>
    public sealed record Allowed : LoginVerdict;

    /// <summary>Refused without checking the password; <paramref name="Address"/> tells an address ban from a user lockout.</summary>
    public sealed record Refused(TimeSpan Remaining, bool Address) : LoginVerdict;

    /// <summary>The slots are all held by checks still running: ask again once one of them has ended.</summary>
    public sealed record Busy : LoginVerdict;

    /// <summary>The shared <see cref="Busy"/> instance.</summary>
    public static LoginVerdict Wait { get; } = new Busy();
}

/// <summary>What <see cref="LoginGuard.BanChanged"/> reports: each ban and each lift, once.</summary>
internal abstract record BanChange
{
    private BanChange()
    {
    }

    /// <summary>An address was banned after too many failed logins.</summary>
    public sealed record Started(AddressBan Ban) : BanChange;

    /// <summary>An administrator lifted the ban of an address.</summary>
    public sealed record Lifted(IPAddress Address, string By) : BanChange;
}

/// <summary>The thresholds of the <see cref="LoginGuard"/>.</summary>
/// <param name="MaxFailures">Failed checks of one user name from one address within the window before that pair is locked out.</param>
/// <param name="MaxAddressFailures">Failed checks from one address, all names together, before the address is banned.</param>
/// <param name="Window">How long a failure counts.</param>
/// <param name="Lockout">How long a user name is locked out for one address.</param>
/// <param name="Ban">The first ban of an address; each further ban within a day doubles it (at most a week).</param>
/// <param name="Trusted">Addresses never counted nor banned.</param>
internal sealed record LoginPolicy(int MaxFailures, int MaxAddressFailures, TimeSpan Window, TimeSpan Lockout, TimeSpan Ban,
    ImmutableArray<AddressRange> Trusted)
{
    /// <summary>The policy of a configuration.</summary>
    public static LoginPolicy From(ServerConfig config) => new(config.MaxFailedLogins,
        Math.Max(config.MaxFailedLoginsPerAddress, config.MaxFailedLogins), config.FailureWindow, config.Lockout, config.Ban,
        config.TrustedNetworks);
}

/// <summary>
/// Brute-force defence in two levels, learnt from OpenSSH's per-source penalties and the SFTPGo defender:
/// <list type="bullet">
/// <item>a user name mistyped <c>MaxFailures</c> times from one address is locked out briefly, for that address only, so
/// a neighbour behind the same NAT keeps working;</item>
/// <item>an address that fails <c>MaxAddressFailures</c> times (many passwords or many names) is banned, longer each time.</item>
/// </list>
/// Each check takes its failure slot before it runs (<see cref="Begin"/>) and gives it back on success, so parallel
/// connections cannot run more checks than the limits allow. Only failures that have happened punish: while the slots are
/// held by checks still running, a further attempt waits (<see cref="LoginVerdict.Busy"/>), so a client that opens many
/// connections at once with the right password is never locked out. Trusted networks are never counted. Memory is bounded by
/// pruning stale entries and by <c>maxTracked</c>. Thread-safe.
/// </summary>
internal sealed class LoginGuard(LoginPolicy policy, TimeProvider time, int maxTracked = 100_000)
{
    private static readonly TimeSpan _offenceMemory = TimeSpan.FromDays(1);
    private static readonly TimeSpan _longestBan = TimeSpan.FromDays(7);
    private readonly object _lock = new();
    private readonly Dictionary<IPAddress, Failures> _addresses = [];
    private readonly Dictionary<(IPAddress, string), Failures> _users = [];
    private readonly Dictionary<IPAddress, AddressBan> _bans = [];

    /// <summary>A ban started or was lifted (raised outside the lock, once per change).</summary>
    public event Action<BanChange>? BanChanged;

    /// <summary>Number of addresses and (address, user) pairs currently remembered (for tests and diagnostics).</summary>
    public int Tracked
    {
        get
        {
            lock (_lock) return _addresses.Count + _users.Count;
        }
    }

    /// <summary>Whether <paramref name="address"/> is trusted (never counted).</summary>
    public bool IsTrusted(IPAddress address) => AddressRange.AnyContains(policy.Trusted, Addresses.Normalize(address));

    /// <summary>How long the ban of <paramref name="address"/> lasts still; null when it is not banned.</summary>
    public TimeSpan? BannedFor(IPAddress address)
    {
        var key = Addresses.Normalize(address);
        lock (_lock)
        {
            var now = time.GetUtcNow();
            return _bans.TryGetValue(key, out var ban) && ban.Until > now ? ban.Until - now : null;
        }
    }

    /// <summary>A login attempt is about to be checked: refuse it, or let it run holding one failure slot.</summary>
    public LoginVerdict Begin(IPAddress address, string user)
    {
        var key = Addresses.Normalize(address);
        if (IsTrusted(key)) return LoginVerdict.Allow;
        AddressBan? started = null;
        LoginVerdict verdict;
        lock (_lock)
        {
            var now = time.GetUtcNow();
            Prune(now);
            var byAddress = Get(_addresses, key, now);
            var byUser = Get(_users, (key, user), now);
            if (_bans.TryGetValue(key, out var ban) && ban.Until > now) verdict = new LoginVerdict.Refused(ban.Until - now, true);
            else if (byUser.LockedUntil is { } until && until > now) verdict = new LoginVerdict.Refused(until - now, false);
            else if (byAddress.Failed(now, policy.Window) >= policy.MaxAddressFailures)
            {
                started = StartBan(key, now);
                byAddress.Clear();
                verdict = new LoginVerdict.Refused(started.Until - now, true);
            }
            else if (byUser.Failed(now, policy.Window) >= policy.MaxFailures)
            {
                byUser.Clear();
                byUser.LockedUntil = now + policy.Lockout;
                verdict = new LoginVerdict.Refused(policy.Lockout, false);
            }
            else if (byAddress.Count(now, policy.Window) >= policy.MaxAddressFailures
                     || byUser.Count(now, policy.Window) >= policy.MaxFailures)
                verdict = LoginVerdict.Wait;
            else
            {
                byAddress.Add(now, user);
                byUser.Add(now, user);
                verdict = LoginVerdict.Allow;
            }
        }
        if (started is not null) BanChanged?.Invoke(new BanChange.Started(started));
        return verdict;
    }

    /// <summary>The check that <see cref="Begin"/> allowed succeeded: the user's failures from this address are forgotten.</summary>
    /// <remarks>Only that user's: otherwise anyone with one valid account could reset the count between guesses at another.</remarks>
    public void Succeeded(IPAddress address, string user)
    {
        var key = Addresses.Normalize(address);
        lock (_lock)
        {
            _users.Remove((key, user));
            if (_addresses.TryGetValue(key, out var failures) && failures.Forget(user) == 0) _addresses.Remove(key);
        }
    }

    /// <summary>The check that <see cref="Begin"/> allowed failed: its slot now counts as a failure that punishes.</summary>
    public void Failed(IPAddress address, string user)
    {
        var key = Addresses.Normalize(address);
        if (IsTrusted(key)) return;
        lock (_lock)
        {
            // After a success of the same user its slots are gone: the failure goes with them.
            if (_users.TryGetValue((key, user), out var byUser)) byUser.Settle(user);
            if (_addresses.TryGetValue(key, out var byAddress)) byAddress.Settle(user);
        }
    }

    /// <summary>The addresses banned now, soonest to end first.</summary>
    public ImmutableArray<AddressBan> Bans()
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            return [.. _bans.Values.Where(b => b.Until > now).OrderBy(b => b.Until)];
        }
    }

    /// <summary>Lifts the ban of <paramref name="address"/> for the admin <paramref name="by"/>; false when it was not banned.</summary>
    public bool Unban(IPAddress address, string by)
    {
        var key = Addresses.Normalize(address);
        bool lifted;
        lock (_lock)
        {
            var now = time.GetUtcNow();
            lifted = _bans.TryGetValue(key, out var ban) && ban.Until > now;
            // The offence count stays: lifting a ban is mercy, not amnesty.
            if (lifted) _bans[key] = ban! with { Until = now };
            _addresses.Remove(key);
        }
        if (lifted) BanChanged?.Invoke(new BanChange.Lifted(key, by));
        return lifted;
    }

    private AddressBan StartBan(IPAddress key, DateTimeOffset now)
    {
        var offences = _bans.TryGetValue(key, out var last) && now - last.Until < _offenceMemory ? last.Offences + 1 : 1;
        var seconds = Math.Min(policy.Ban.TotalSeconds * Math.Pow(2, offences - 1), _longestBan.TotalSeconds);
        var ban = new AddressBan(key, now + TimeSpan.FromSeconds(seconds), offences);
        _bans[key] = ban;
        return ban;
    }

    private Failures Get<TKey>(Dictionary<TKey, Failures> table, TKey key, DateTimeOffset now) where TKey : notnull
    {
        if (table.TryGetValue(key, out var failures)) return failures;
        if (table.Count >= maxTracked) Evict(table, now);
        return table[key] = new Failures();
    }

    // Pruning runs at most once per second, so its cost is spread thin however fast attempts come.
    private DateTimeOffset _lastPrune;

    private void Prune(DateTimeOffset now)
    {
        if (now - _lastPrune < TimeSpan.FromSeconds(1)) return;
        _lastPrune = now;
        Drop(_addresses, f => f.IsStale(now, policy.Window));
        Drop(_users, f => f.IsStale(now, policy.Window));
        Drop(_bans, b => now - b.Until > _offenceMemory);
    }

    private static void Drop<TKey, TValue>(Dictionary<TKey, TValue> table, Func<TValue, bool> stale) where TKey : notnull
    {
        foreach (var key in table.Where(e => stale(e.Value)).Select(e => e.Key).ToList()) table.Remove(key);
    }

    /// <summary>Table full: the least recently active entries go, a batch at once so this does not run on every attempt.</summary>
    private void Evict<TKey>(Dictionary<TKey, Failures> table, DateTimeOffset now) where TKey : notnull
    {
        Drop(table, f => f.IsStale(now, policy.Window));
        var excess = table.Count - maxTracked + 1;
        if (excess <= 0) return;
        foreach (var key in table.OrderBy(e => e.Value.LastActivity).Take(Math.Max(excess, maxTracked / 10)).Select(e => e.Key).ToList())
            table.Remove(key);
    }

    private sealed class Failures
    {
        // Oldest first. A slot is taken when a check begins and punishes only once the check has failed.
        private readonly Queue<Slot> _slots = new();

        public DateTimeOffset? LockedUntil { get; set; }

        public DateTimeOffset LastActivity { get; private set; }

        public void Add(DateTimeOffset now, string user)
        {
            _slots.Enqueue(new Slot(now, user));
            LastActivity = now;
        }

        /// <summary>A running check of <paramref name="user"/> ended in failure; false when none was running.</summary>
        public bool Settle(string user)
        {
            var slot = _slots.FirstOrDefault(s => s.Running && s.User == user);
            if (slot is null) return false;
            slot.Running = false;
            return true;
        }

        /// <summary>Slots held within the window, running checks included.</summary>
        public int Count(DateTimeOffset now, TimeSpan window)
        {
            while (_slots.Count > 0 && _slots.Peek().At <= now - window) _slots.Dequeue();
            return _slots.Count;
        }

        /// <summary>Failures that have happened within the window.</summary>
        public int Failed(DateTimeOffset now, TimeSpan window)
        {
            Count(now, window);
            return _slots.Count(s => !s.Running);
        }

        public bool IsStale(DateTimeOffset now, TimeSpan window) =>
            (LockedUntil is not { } until || until <= now) && Count(now, window) == 0;

        /// <summary>Drops the slots of <paramref name="user"/>, its successful check's included; returns how many remain.</summary>
        public int Forget(string user)
        {
            var kept = _slots.Where(f => f.User != user).ToList();
            _slots.Clear();
            foreach (var slot in kept) _slots.Enqueue(slot);
            return _slots.Count;
        }

        public void Clear() => _slots.Clear();

        private sealed class Slot(DateTimeOffset at, string user)
        {
            public DateTimeOffset At { get; } = at;
            public string User { get; } = user;
            public bool Running { get; set; } = true;
        }
    }
}
