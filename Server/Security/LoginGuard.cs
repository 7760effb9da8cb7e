using System.Net;

namespace ScriptFtp;

/// <summary>What <see cref="LoginGuard.Check"/> decided for a login attempt.</summary>
internal abstract record LoginVerdict
{
    private LoginVerdict()
    {
    }

    /// <summary>The shared <see cref="Allowed"/> instance.</summary>
    public static LoginVerdict Allow { get; } = new Allowed();

    /// <summary>Go ahead and check the password.</summary>
    public sealed record Allowed : LoginVerdict;

    /// <summary>Too many failures: wait <paramref name="Duration"/> before checking the password and answering.</summary>
    public sealed record Delay(TimeSpan Duration) : LoginVerdict;

    /// <summary>Locked out: refuse without checking the password; the lockout ends in <paramref name="Remaining"/>.</summary>
    public sealed record Refused(TimeSpan Remaining) : LoginVerdict;
}

/// <summary>
/// Brute-force defence, counted per remote address (never per user name, so an attacker elsewhere cannot lock a
/// legitimate user out). Failures are counted in a sliding <c>window</c>:
/// <list type="bullet">
/// <item>fewer than <c>maxFailures</c> failures: <see cref="LoginVerdict.Allowed"/>;</item>
/// <item><c>maxFailures</c> failures: each further attempt is answered only after <c>delay</c>
/// (<see cref="LoginVerdict.Delay"/>);</item>
/// <item>one more failure after that: the address is refused for <c>lockout</c>
/// (<see cref="LoginVerdict.Refused"/>), after which it starts afresh.</item>
/// </list>
/// A successful login clears the address. Memory is bounded: stale entries are pruned, and at most
/// <c>maxTrackedAddresses</c> addresses are remembered. Thread-safe.
/// </summary>
internal sealed class LoginGuard
{
    private readonly int _maxFailures;
    private readonly TimeSpan _window;
    private readonly TimeSpan _delay;
    private readonly TimeSpan _lockout;
    private readonly TimeProvider _time;
    private readonly int _maxTracked;
    private readonly TimeSpan _sweepInterval;
    private readonly object _lock = new();
    private readonly Dictionary<IPAddress, Entry> _entries = [];
    private DateTimeOffset _lastSweep;

    public LoginGuard(int maxFailures, TimeSpan window, TimeSpan delay, TimeSpan lockout, TimeProvider time,
        int maxTrackedAddresses = 100_000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFailures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(lockout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTrackedAddresses, 1);
        ArgumentNullException.ThrowIfNull(time);
        _maxFailures = maxFailures;
        _window = window;
        _delay = delay;
        _lockout = lockout;
        _time = time;
        _maxTracked = maxTrackedAddresses;
        var shorter = window < lockout ? window : lockout;
        _sweepInterval = shorter < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : shorter;
        _lastSweep = time.GetUtcNow();
    }

    /// <summary>Number of addresses currently remembered (for tests and diagnostics).</summary>
    public int TrackedAddresses
    {
        get
        {
            lock (_lock)
                return _entries.Count;
        }
    }

    /// <summary>Decides how to treat a login attempt from <paramref name="address"/>; call before checking the password.</summary>
    public LoginVerdict Check(IPAddress address)
    {
        var key = Addresses.Normalize(address);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            MaybeSweep(now);
            if (!_entries.TryGetValue(key, out var entry))
                return LoginVerdict.Allow;
            if (entry.IsStale(now, _window))
            {
                _entries.Remove(key); // start afresh
                return LoginVerdict.Allow;
            }
            if (entry.LockedUntil is { } until)
                return new LoginVerdict.Refused(until - now);
            return entry.Count >= _maxFailures ? new LoginVerdict.Delay(_delay) : LoginVerdict.Allow;
        }
    }

    /// <summary>Records a failed login (wrong user name or password) from <paramref name="address"/> for the name tried.</summary>
    public void RecordFailure(IPAddress address, string userName = "")
    {
        var key = Addresses.Normalize(address);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            MaybeSweep(now);
            if (!_entries.TryGetValue(key, out var entry))
            {
                if (_entries.Count >= _maxTracked)
                    Evict(now);
                entry = new Entry();
                _entries[key] = entry;
            }
            else if (entry.IsStale(now, _window))
            {
                entry.LockedUntil = null; // start afresh
                entry.Clear();
            }
            else if (entry.LockedUntil is not null)
            {
                return; // already locked out: do not extend
            }
            if (entry.Count >= _maxFailures)
            {
                // Failed again although the attempts were already being delayed: lock the address out.
                entry.Clear();
                entry.LockedUntil = now + _lockout;
                entry.LastActivity = now;
                return;
            }
            entry.Add(now, userName);
        }
    }

    /// <summary>
    /// Records a successful login. Only the failures for that user name are forgotten: otherwise anyone with one valid
    /// account could reset the count between guesses at another account's password. Without a name, all are forgotten.
    /// </summary>
    public void RecordSuccess(IPAddress address, string? userName = null)
    {
        var key = Addresses.Normalize(address);
        lock (_lock)
        {
            if (userName is null || !_entries.TryGetValue(key, out var entry)) _entries.Remove(key);
            else if (entry.LockedUntil is null && entry.Forget(userName) == 0) _entries.Remove(key);
        }
    }

    private void MaybeSweep(DateTimeOffset now)
    {
        if (now - _lastSweep < _sweepInterval)
            return;
        _lastSweep = now;
        Sweep(now);
    }

    private void Sweep(DateTimeOffset now)
    {
        var stale = new List<IPAddress>();
        foreach (var (key, entry) in _entries)
        {
            if (entry.IsStale(now, _window))
                stale.Add(key);
        }
        foreach (var key in stale)
            _entries.Remove(key);
    }

    /// <summary>Table full: drop stale entries, then the least recently active ones (locked-out addresses last).</summary>
    private void Evict(DateTimeOffset now)
    {
        Sweep(now);
        var excess = _entries.Count - _maxTracked + 1;
        if (excess <= 0)
            return;
        var victims = _entries
            .OrderBy(e => e.Value.LockedUntil is null ? 0 : 1)
            .ThenBy(e => e.Value.LastActivity)
            .Take(Math.Max(excess, _maxTracked / 10)) // free a batch so this does not run on every failure
            .Select(e => e.Key)
            .ToList();
        foreach (var key in victims)
            _entries.Remove(key);
    }

    private sealed class Entry
    {
        // Failures (time and the name tried), oldest first; never more than maxFailures of them.
        private readonly Queue<(DateTimeOffset At, string User)> _failures = new();

        public DateTimeOffset? LockedUntil { get; set; }

        public DateTimeOffset LastActivity { get; set; }

        public int Count => _failures.Count;

        // RecordFailure locks the address out instead of adding a failure beyond maxFailures.
        public void Add(DateTimeOffset now, string user)
        {
            _failures.Enqueue((now, user));
            LastActivity = now;
        }

        /// <summary>
        /// Whether the entry can be forgotten: its lockout is over or, when not locked out, no failure is left after
        /// pruning those older than <paramref name="window"/> (which this does).
        /// </summary>
        public bool IsStale(DateTimeOffset now, TimeSpan window)
        {
            if (LockedUntil is { } until)
                return now >= until;
            Prune(now - window);
            return Count == 0;
        }

        private void Prune(DateTimeOffset cutoff)
        {
            while (_failures.Count > 0 && _failures.Peek().At <= cutoff)
                _failures.Dequeue();
        }

        /// <summary>Drops the failures for one user name; returns how many remain.</summary>
        public int Forget(string user)
        {
            var kept = _failures.Where(f => f.User != user).ToList();
            _failures.Clear();
            foreach (var failure in kept) _failures.Enqueue(failure);
            return _failures.Count;
        }

        public void Clear() => _failures.Clear();
    }
}
