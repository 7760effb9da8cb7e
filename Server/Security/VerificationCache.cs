using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;

namespace ScriptFtp;

/// <summary>
/// Remembers the last password proved right for each user, so that a user logging in again pays a keyed digest (about a
/// microsecond) instead of a full Argon2id hash (a fifth of a second). Learnt from SFTPGo's <c>password_caching</c>.
/// <list type="bullet">
/// <item>The password itself is never kept: only HMAC-SHA256 of it under a random key made for this process, compared in
/// constant time. A memory dump gives digests that no other process can check guesses against.</item>
/// <item>An entry belongs to the account record it was verified against: when the record changes in any way (a new
/// password, a ban, a rehash, the user deleted and added again) the entry no longer matches, and <see cref="Retain"/>
/// drops it when the new users are installed.</item>
/// <item>Only successes are remembered; a wrong password is a miss, and the caller pays the full hash as before.</item>
/// <item>One entry per user, and at most <c>capacity</c> users (the least recently used go first).</item>
/// </list>
/// Thread-safe.
/// </summary>
internal sealed class VerificationCache
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly int _capacity;
    private readonly object _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recent = new(); // most recently used first

    private sealed record Entry(UserAccount Account, byte[] Digest);

    /// <summary>Remembers at most <paramref name="capacity"/> users.</summary>
    public VerificationCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    /// <summary>How many users are remembered.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _entries.Count;
        }
    }

    /// <summary>
    /// True when <paramref name="password"/> was proved right for exactly this <paramref name="account"/> record (equal
    /// in every field) and is still remembered.
    /// </summary>
    public bool IsVerified(UserAccount account, string password)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(password);
        var digest = Digest(account.Name, password);
        lock (_lock)
        {
            if (!_entries.TryGetValue(account.Name, out var node) || node.Value.Account != account
                || !CryptographicOperations.FixedTimeEquals(node.Value.Digest, digest))
                return false;
            _recent.Remove(node);
            _recent.AddFirst(node);
            return true;
        }
    }

    /// <summary>
    /// Remembers that <paramref name="password"/> is right for <paramref name="account"/>, replacing what was remembered for
    /// the user. Call it only after a full verification succeeded.
    /// </summary>
    public void Remember(UserAccount account, string password)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(password);
        var entry = new Entry(account, Digest(account.Name, password));
        lock (_lock)
        {
            if (_entries.Remove(account.Name, out var old))
                _recent.Remove(old);
            else if (_entries.Count >= _capacity && _recent.Last is { } oldest)
            {
                _recent.RemoveLast();
                _entries.Remove(oldest.Value.Account.Name);
            }
            _entries[account.Name] = _recent.AddFirst(entry);
        }
    }

    /// <summary>Forgets every user whose record in <paramref name="users"/> differs from the one remembered, or is gone.</summary>
    public void Retain(ImmutableDictionary<string, UserAccount> users)
    {
        ArgumentNullException.ThrowIfNull(users);
        lock (_lock)
        {
            for (var node = _recent.First; node is not null;)
            {
                var next = node.Next;
                var account = node.Value.Account;
                if (!users.TryGetValue(account.Name, out var current) || current != account)
                {
                    _recent.Remove(node);
                    _entries.Remove(account.Name);
                }
                node = next;
            }
        }
    }

    // The name is part of the message so that a digest says nothing about another user's password. Names hold no NUL.
    private byte[] Digest(string name, string password) => HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes($"{name}\0{password}"));
}
