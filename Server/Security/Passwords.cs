using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

namespace ScriptFtp;

/// <summary>
/// Password hashing: Argon2id in the standard PHC string format, constant-time verification, and the older formats
/// (PBKDF2-HMAC-SHA256, hand-written plain text) that still verify until the user's next login replaces them.
/// </summary>
internal static class Passwords
{
    /// <summary>How every hash made here begins.</summary>
    public const string Prefix = "$argon2id$";

    /// <summary>The format of a hash, for error messages.</summary>
    public const string Format = "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<base64 salt>$<base64 hash>";

    /// <summary>The hashes of earlier versions: they verify, and are replaced at the next successful login.</summary>
    public const string LegacyPrefix = "pbkdf2-sha256$";

    /// <summary>Argon2id cost of a new hash: 19 MiB, 2 passes, 1 lane (the first choice of OWASP's password storage sheet).</summary>
    public const int MemoryKiB = 19 * 1024, Passes = 2, Lanes = 1;

    public const int SaltBytes = 16;
    public const int HashBytes = 32;

    private const int Version = 0x13; // Argon2 1.3, written v=19
    private const string ArgonFamily = "$argon2"; // $argon2i$, $argon2d$: hashes, though not ones this server makes or reads

    // A hand-edited or pasted hash is read within these bounds, so that an absurd cost can neither stall a login for
    // minutes nor take gigabytes: the costliest accepted hash takes 64 MiB and about 14 times the time of ours.
    private const int MaxMemoryKiB = 64 * 1024, MaxPasses = 8, MaxLanes = 16;
    private const int MinSaltBytes = 8, MaxSaltBytes = 64, MinHashBytes = 16, MaxHashBytes = 64;
    private const int MaxPbkdf2Iterations = 10_000_000;

    /// <summary>The bounds of a hash read from the users file, for error messages.</summary>
    public static readonly string Bounds = string.Create(CultureInfo.InvariantCulture,
        $"m <= {MaxMemoryKiB}, t <= {MaxPasses}, p <= {MaxLanes}, salt {MinSaltBytes}-{MaxSaltBytes} bytes")
        + string.Create(CultureInfo.InvariantCulture, $", hash {MinHashBytes}-{MaxHashBytes} bytes");

    private static readonly Lazy<string> _dummy = new(() => Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(18))));

    /// <summary>A valid hash of a random password, used to spend the same time on unknown user names.</summary>
    public static string DummyHash => _dummy.Value;

    /// <summary>The parts of an Argon2id PHC string.</summary>
    private sealed record Argon2Hash(int MemoryKiB, int Passes, int Lanes, byte[] Salt, byte[] Hash);

    /// <summary>
    /// Hashes <paramref name="password"/> with Argon2id and a fresh random salt. Costs 19 MiB and, with this managed
    /// implementation, about a fifth of a second of processor time (bench/HashBench).
    /// </summary>
    /// <exception cref="ArgumentException">The password is empty.</exception>
    public static string Hash(string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Argon2id(password, new Argon2Hash(MemoryKiB, Passes, Lanes, salt, []), HashBytes);
        return string.Create(CultureInfo.InvariantCulture,
            $"{Prefix}v={Version}$m={MemoryKiB},t={Passes},p={Lanes}${ToPhcBase64(salt)}${ToPhcBase64(hash)}");
    }

    /// <summary>True when <paramref name="stored"/> is not in a hashed format (a hand-written plain-text password).</summary>
    public static bool IsPlainText(string stored) =>
        !stored.StartsWith(ArgonFamily, StringComparison.Ordinal) && !stored.StartsWith(LegacyPrefix, StringComparison.Ordinal);

    /// <summary>True when <paramref name="stored"/> is a hash this class can verify (within its bounds).</summary>
    public static bool IsWellFormedHash(string stored) => ParseArgon2id(stored) is not null || ParsePbkdf2(stored) is not null;

    /// <summary>
    /// True when <paramref name="stored"/> should be replaced by a new hash once the password is known: plain text, an
    /// older format, or Argon2id below the current cost. A hash made with a higher cost (by another tool, say) is kept.
    /// </summary>
    public static bool NeedsRehash(string stored) =>
        ParseArgon2id(stored) is not { } argon || argon.MemoryKiB < MemoryKiB || argon.Passes < Passes;

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
        if (ParseArgon2id(stored) is { } argon)
        {
            // No password here is empty, and the library refuses to hash one: an empty guess costs a hash all the same.
            var tag = Argon2id(password.Length == 0 ? "\0" : password, argon, argon.Hash.Length);
            return CryptographicOperations.FixedTimeEquals(tag, argon.Hash) && password.Length > 0;
        }
        if (ParsePbkdf2(stored) is not { } pbkdf2)
            return false;
        var (iterations, salt, expected) = pbkdf2;
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static byte[] Argon2id(string password, Argon2Hash parameters, int length)
    {
        using var argon = new Argon2id(Encoding.UTF8.GetBytes(password))
        {
            Salt = parameters.Salt,
            MemorySize = parameters.MemoryKiB,
            Iterations = parameters.Passes,
            DegreeOfParallelism = parameters.Lanes,
        };
        return argon.GetBytes(length);
    }

    /// <summary>
    /// Reads <c>$argon2id$v=19$m=M,t=T,p=P$salt$hash</c> strictly (numbers and unpadded base64 in their one canonical
    /// spelling, no optional fields), within the bounds above; null for anything else.
    /// </summary>
    private static Argon2Hash? ParseArgon2id(string stored)
    {
        var parts = stored.Split('$');
        if (parts is not ["", "argon2id", "v=19", var costs, var salt64, var hash64])
            return null;
        var cost = costs.Split(',');
        if (cost is not [['m', '=', ..] m, ['t', '=', ..] t, ['p', '=', ..] p])
            return null;
        var memory = Number(m[2..]);
        var passes = Number(t[2..]);
        var lanes = Number(p[2..]);
        var salt = FromPhcBase64(salt64);
        var hash = FromPhcBase64(hash64);
        var fits = lanes is >= 1 and <= MaxLanes && memory >= 8 * lanes && memory <= MaxMemoryKiB && passes is >= 1 and <= MaxPasses
                   && salt?.Length is >= MinSaltBytes and <= MaxSaltBytes && hash?.Length is >= MinHashBytes and <= MaxHashBytes;
        return fits ? new Argon2Hash(memory, passes, lanes, salt!, hash!) : null;
    }

    private static (int Iterations, byte[] Salt, byte[] Hash)? ParsePbkdf2(string stored)
    {
        var parts = stored.Split('$');
        if (parts is not ["pbkdf2-sha256", var count, var salt64, var hash64])
            return null;
        if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var iterations)
            || iterations < 1 || iterations > MaxPbkdf2Iterations)
            return null;
        try
        {
            var salt = Convert.FromBase64String(salt64);
            var hash = Convert.FromBase64String(hash64);
            return salt.Length > 0 && hash.Length > 0 && hash.Length <= MaxHashBytes ? (iterations, salt, hash) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>A decimal number in its canonical spelling (no sign, no leading zero); -1 otherwise.</summary>
    private static int Number(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
        && value.ToString(CultureInfo.InvariantCulture) == text
            ? value
            : -1;

    private static string ToPhcBase64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=');

    /// <summary>
    /// PHC strings use standard base64 without padding. Only the one canonical spelling is read: Convert would also
    /// skip whitespace and ignore stray low bits, so the decoded bytes are encoded again and compared.
    /// </summary>
    private static byte[]? FromPhcBase64(string text)
    {
        if (text.Length % 4 == 1 || text.Contains('=', StringComparison.Ordinal))
            return null;
        try
        {
            var bytes = Convert.FromBase64String(text + new string('=', (4 - text.Length % 4) % 4));
            return ToPhcBase64(bytes) == text ? bytes : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
