using System.Collections.Concurrent;

namespace ScriptFtp.Tests.Support;

/// <summary>
/// Ready-made hashes for the users files of tests: an Argon2id hash takes a fifth of a second of processor time, and
/// hundreds of test servers start with the same few passwords. Each password is hashed once per run, at full strength.
/// </summary>
internal static class TestHashes
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> _made = new(StringComparer.Ordinal);

    /// <summary>A current hash of <paramref name="password"/> (the same string every time within one run).</summary>
    public static string Of(string password) => _made.GetOrAdd(password, p => new Lazy<string>(() => Passwords.Hash(p))).Value;
}
