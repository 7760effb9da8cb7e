using System.Globalization;
using System.Text;

namespace ScriptFtp;

/// <summary>
/// One FTP account as read from <c>users.toml</c>. Instances are immutable snapshots;
/// a change to the file produces new instances rather than mutating these.
/// </summary>
/// <param name="Name">The login name (case-sensitive), see the <c>[users.NAME]</c> table header.</param>
/// <param name="PasswordHash">
/// The stored password: normally <c>pbkdf2-sha256$&lt;iterations&gt;$&lt;base64 salt&gt;$&lt;base64 hash&gt;</c>,
/// or plain text when an administrator wrote it by hand. Never shown by <see cref="ToString"/>.
/// </param>
/// <param name="Home">The home folder relative to the server root folder, as written in the file.</param>
/// <param name="Admin">Whether the user may run administrative commands.</param>
/// <param name="Banned">Whether the user is banned (cannot log in).</param>
/// <param name="ReadOnly">Whether the user may only read (no uploads, deletes or renames).</param>
public sealed record UserAccount(string Name, string PasswordHash, string Home, bool Admin, bool Banned, bool ReadOnly)
{
    /// <summary>The account's own TLS rule (<c>tls = "required"</c> or <c>"optional"</c>), if it overrides the server's.</summary>
    public TlsRequirement Tls { get; init; }

    // Keeps the password hash out of log messages and debugger output.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture,
            $"Name = {Name}, Home = {Home}, Admin = {Admin}, Banned = {Banned}, ReadOnly = {ReadOnly}, Tls = {Tls}");
        return true;
    }
}

/// <summary>The rule for user names (they become TOML keys, folder names and log text).</summary>
internal static class UserNames
{
    public const int MaxLength = 32;

    /// <summary>Human-readable rule, used in error messages.</summary>
    public const string Rule =
        "a user name is 1 to 32 characters from A-Z, a-z, 0-9, '.', '_' and '-', and must not start with '.' or '-'";

    public static bool IsValid(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || name[0] is '.' or '-')
            return false;
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
                return false;
        }
        return true;
    }

    /// <summary>The name if it is safe to echo in a reply or log line, otherwise a placeholder.</summary>
    public static string Display(string? name) => IsValid(name) ? name! : "(invalid name)";
}

/// <summary>Outcome of <see cref="UserStore.Authenticate"/>.</summary>
internal enum AuthStatus
{
    Ok,
    BadCredentials,
    Banned,
}

/// <summary>Outcome of an administrative command; <see cref="Message"/> is meant for the FTP reply.</summary>
internal sealed record AdminResult(bool Ok, string Message);
