using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ScriptFtp;

/// <summary>Password hashing (PBKDF2-HMAC-SHA256) and constant-time verification.</summary>
internal static class Passwords
{
    public const string Prefix = "pbkdf2-sha256$";
    public const int Iterations = 100_000;
    public const int SaltBytes = 16;
    public const int HashBytes = 32;
    private const int MaxIterations = 10_000_000; // a hand-edited absurd value must not stall logins forever
    private const int MaxHashBytes = 64;

    private static readonly Lazy<string> _dummy = new(() => Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(18))));

    /// <summary>A valid hash of a random password, used to spend the same time on unknown user names.</summary>
    public static string DummyHash => _dummy.Value;

    /// <summary>Hashes <paramref name="password"/> with a fresh random salt.</summary>
    public static string Hash(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Prefix}{Iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>True when <paramref name="stored"/> is not in the hashed format (a hand-written plain-text password).</summary>
    public static bool IsPlainText(string stored) => !stored.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>True when <paramref name="stored"/> is a hash this class can verify.</summary>
    public static bool IsWellFormedHash(string stored) => TryParse(stored, out _, out _, out _);

    /// <summary>
    /// Checks <paramref name="password"/> against <paramref name="stored"/> in constant time (with respect to the
    /// content of both). A malformed hash never matches.
    /// </summary>
    public static bool Verify(string stored, string password)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(password);
        if (IsPlainText(stored))
        {
            // Compare fixed-length digests so that neither the content nor the length of the stored
            // password leaks through timing.
            var a = SHA256.HashData(Encoding.UTF8.GetBytes(stored));
            var b = SHA256.HashData(Encoding.UTF8.GetBytes(password));
            return CryptographicOperations.FixedTimeEquals(a, b);
        }
        if (!TryParse(stored, out var iterations, out var salt, out var expected))
            return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        var parts = stored.Split('$');
        if (parts.Length != 4 || parts[0] + "$" != Prefix)
            return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations)
            || iterations < 1 || iterations > MaxIterations)
            return false;
        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            return false;
        }
        return salt.Length > 0 && hash.Length > 0 && hash.Length <= MaxHashBytes;
    }
}
