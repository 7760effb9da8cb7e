using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ScriptFtp;

// The protocol core: values in, values out. Nothing in this file touches a socket, a file or a clock.
// The shell (Hosting/Connection.cs) feeds it control lines and the results of the effects it asked for, and carries out
// what it returns: replies to send, an effect to perform, a transfer to start, a command that must wait.
//
// Contents, in order: requests and line framing; replies; the command table; session state; effects and their results;
// outcomes; paths, listings and data addresses; the dispatcher and the built-in commands (session, information,
// navigation, files, listings, transfers, data connections, administration, plugins).

/// <summary>One parsed control-channel command: an upper-cased verb and its raw argument.</summary>
/// <param name="Verb">The verb, upper case (e.g. <c>RETR</c>).</param>
/// <param name="Argument">Everything after the first space, unmodified (may be empty).</param>
public sealed record Request(string Verb, string Argument)
{
    /// <summary>True when the command had an argument.</summary>
    public bool HasArgument => Argument.Length > 0;

    /// <summary>The command as it may be logged: a password never appears.</summary>
    public override string ToString()
    {
        // Mask by the parsed words, as the handlers read them, so extra spaces cannot slip a password into a log.
        var words = Argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (Verb, words) switch
        {
            ("PASS", _) => "PASS ****",
            ("ADDUSER", [var name, ..]) => $"ADDUSER {name} ****",
            ("SITE", [var sub, var name, ..]) when sub.Equals("ADDUSER", StringComparison.OrdinalIgnoreCase) => $"SITE {sub} {name} ****",
            _ => HasArgument ? $"{Verb} {Argument}" : Verb,
        };
    }

    /// <summary>Parses one control line (without its line ending). Returns null for a blank line.</summary>
    public static Request? Parse(string line)
    {
        var trimmed = line.TrimStart(' ');
        if (trimmed.Length == 0) return null;
        var (verb, rest) = SplitFirst(trimmed);
        return new Request(verb.ToUpperInvariant(), rest);
    }

    internal static (string Head, string Tail) SplitFirst(string text)
    {
        var space = text.IndexOf(' ');
        return space < 0 ? (text, "") : (text[..space], text[(space + 1)..]);
    }
}

/// <summary>Splits the control stream into lines: CRLF or bare LF, Telnet commands removed, length capped.</summary>
public static class LineFramer
{
    private const byte Iac = 255;

    /// <summary>The result of scanning a buffer.</summary>
    /// <param name="Consumed">Bytes of the buffer used up (by a line, or by an overlong fragment being discarded).</param>
    /// <param name="Line">The decoded line, or null when no complete line is there yet.</param>
    /// <param name="TooLong">The line exceeded the limit; its bytes are being discarded.</param>
    public readonly record struct Frame(int Consumed, string? Line, bool TooLong);

    /// <summary>Finds the first complete line in <paramref name="buffer"/>.</summary>
    public static Frame Next(ReadOnlySpan<byte> buffer, int maxLength)
    {
        var lf = buffer.IndexOf((byte)'\n');
        if (lf < 0)
            // An IAC at the very end may be half a Telnet sequence: wait for the rest, unless the line is already too long.
            return buffer.Length > maxLength ? new Frame(buffer.Length, null, true) : new Frame(0, null, false);
        if (lf > maxLength) return new Frame(lf + 1, null, true);
        var raw = buffer[..lf];
        if (raw.Length > 0 && raw[^1] == (byte)'\r') raw = raw[..^1];
        return new Frame(lf + 1, Decode(StripTelnet(raw)), false);
    }

    private static byte[] StripTelnet(ReadOnlySpan<byte> raw)
    {
        if (raw.IndexOf(Iac) < 0) return raw.ToArray();
        var output = new List<byte>(raw.Length);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] != Iac) { output.Add(raw[i]); continue; }
            if (i + 1 >= raw.Length) break;
            var command = raw[i + 1];
            if (command == Iac) { output.Add(Iac); i++; }
            else if (command is >= 251 and <= 254) i += 2; // WILL/WONT/DO/DONT carry an option byte
            else if (command >= 240) i++; // IP, DM, AO, … are single-byte commands: drop them
            // Otherwise a lone IAC (its partner byte went out of band): drop just the IAC and keep the text.
        }
        return output.ToArray();
    }

    private static string Decode(byte[] bytes)
    {
        try { return StrictUtf8.GetString(bytes); }
        // Old clients send names in a legacy code page; Latin-1 maps every byte so the name round-trips.
        catch (DecoderFallbackException) { return Encoding.Latin1.GetString(bytes); }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, true);
}

/// <summary>A reply: a three-digit code and one or more lines of text.</summary>
public sealed record Reply(int Code, ImmutableArray<string> Lines)
{
    /// <summary>A single-line reply.</summary>
    public Reply(int code, string text) : this(code, [text]) { }

    /// <summary>Replies are equal when code and every line are.</summary>
    public bool Equals(Reply? other) => other is not null && Code == other.Code && Lines.SequenceEqual(other.Lines);

    /// <summary>Hash of the code and lines.</summary>
    public override int GetHashCode() => Lines.Aggregate(Code, (hash, line) => HashCode.Combine(hash, line));

    /// <summary>
    /// Formats the reply per RFC 959: single line <c>ddd text</c>, or <c>ddd-</c> first line, indented body, <c>ddd </c> last line.
    /// </summary>
    public string Format()
    {
        if (Lines.Length <= 1) return $"{Code} {(Lines.IsEmpty ? "" : Lines[0])}\r\n";
        var text = new StringBuilder();
        text.Append(Code).Append('-').Append(Lines[0]).Append("\r\n");
        for (var i = 1; i < Lines.Length - 1; i++)
        {
            var line = Lines[i];
            // A body line that starts with digits could be mistaken for the closing line: indent it.
            text.Append(line.Length > 0 && char.IsDigit(line[0]) ? " " + line : line).Append("\r\n");
        }
        text.Append(Code).Append(' ').Append(Lines[^1]).Append("\r\n");
        return text.ToString();
    }

    /// <summary>The reply to a command that needs a login first.</summary>
    public static readonly Reply NotLoggedIn = new(530, "Please login with USER and PASS.");
    /// <summary>The reply to a command sent out of order.</summary>
    public static readonly Reply BadSequence = new(503, "Bad sequence of commands.");
    /// <summary>The reply to a command whose argument is missing or malformed.</summary>
    public static Reply Syntax(string usage) => new(501, $"Syntax error in parameters or arguments. Usage: {usage}");
    /// <summary>The reply to a command only administrators may run.</summary>
    public static readonly Reply AdminOnly = new(550, "Permission denied: administrators only.");
    /// <summary>The reply to a write by a read-only user.</summary>
    public static readonly Reply ReadOnlyUser = new(550, "Permission denied: your account is read-only.");
    /// <summary>The reply to an unknown verb.</summary>
    public static Reply Unknown(string verb) => new(500, $"Unknown command \"{Sanitize(verb)}\".");
    /// <summary>The reply to a control line longer than the limit.</summary>
    public static Reply LineTooLong(int limit) => new(500, $"Command line too long (limit {limit} bytes).");
    /// <summary>The reply when no data connection could be made.</summary>
    public static readonly Reply CantOpenData = new(425, "Can't open data connection.");
    /// <summary>The reply to a plain login where TLS is required.</summary>
    public static readonly Reply EncryptionRequired = new(530, "This server requires encryption: use AUTH TLS (FTPS).");
    /// <summary>The reply to a data command without PROT P where TLS is required.</summary>
    public static readonly Reply DataProtectionRequired = new(521, "Data connections must be encrypted: use PBSZ 0 and PROT P.");
    /// <summary>The reply to a TLS data connection that did not resume the control connection's TLS session.</summary>
    public static readonly Reply SessionNotReused =
        new(522, "TLS data connection refused: it must resume the control connection's TLS session.");
    /// <summary>The reply to a TLS data connection whose handshake failed.</summary>
    public static readonly Reply DataHandshakeFailed = new(522, "TLS handshake on the data connection failed.");
    /// <summary>Closing reply for an upload whose TLS data stream ended without close_notify (possibly truncated).</summary>
    public static readonly Reply UploadNotClosed =
        new(426, "Connection closed without TLS close_notify; the upload may be truncated and was not stored.");
    /// <summary>Closing reply for a successful transfer.</summary>
    public static readonly Reply TransferComplete = new(226, "Transfer complete.");
    /// <summary>Closing reply for a transfer cut short by ABOR or a broken data connection.</summary>
    public static readonly Reply TransferAborted = new(426, "Connection closed; transfer aborted.");
    /// <summary>The answer to ABOR that stopped a running transfer.</summary>
    public static readonly Reply AbortDone = new(226, "ABOR command successful.");
    /// <summary>The answer to ABOR when nothing was running.</summary>
    public static readonly Reply NothingToAbort = new(225, "No transfer to abort.");
    /// <summary>Sent to sessions when the server shuts down or an admin ends them.</summary>
    public static Reply Closing(string why) => new(421, why);
    /// <summary>Sent to every session when the server shuts down.</summary>
    public static readonly Reply ShuttingDown = Closing("Server shutting down.");
    /// <summary>Sent to a session that sent no command for the idle timeout.</summary>
    public static Reply Idle(TimeSpan timeout) => Closing($"Idle for {timeout.TotalSeconds:0} seconds; closing the connection.");
    /// <summary>Sent to a session whose last replies were all errors.</summary>
    public static readonly Reply TooManyErrors = Closing("Too many errors; closing the connection.");

    /// <summary>Keeps a client-supplied token printable and short before echoing it.</summary>
    public static string Sanitize(string text)
    {
        var clean = new string(text.Where(c => !char.IsControl(c)).Take(64).ToArray());
        return clean.Length < text.Length ? clean + "…" : clean;
    }
}

/// <summary>
/// Why an effect failed, in the words a client reads after 550 (or 425). The interpreters report failures with these,
/// so that every text a client reads is written in this file.
/// </summary>
public static class Reasons
{
    /// <summary>A name that can never be valid here (outside the home, or reserved for uploads in flight).</summary>
    public const string NameNotAllowed = "File name not allowed.";
    /// <summary>The operating system refused.</summary>
    public const string PermissionDenied = "Permission denied.";
    /// <summary>Nothing at a path that was looked up.</summary>
    public const string NoSuchFileOrDirectory = "No such file or directory.";
    /// <summary>A name longer than the file system allows.</summary>
    public const string NameTooLong = "File name too long.";
    /// <summary>An upload's file could not be created.</summary>
    public const string CannotCreate = "Cannot create the file.";
    /// <summary>Every port of the passive range is taken.</summary>
    public const string NoPassivePort = "No passive port is free; try again later.";
    /// <summary>MKD in a folder that does not exist.</summary>
    public const string NoParent = "The parent directory does not exist.";
    /// <summary>A folder renamed into itself.</summary>
    public const string IntoItself = "Cannot move a directory into itself.";
    /// <summary>The name is taken.</summary>
    public static string Exists(string path) => $"{VirtualPath.Name(path)}: File exists.";
    /// <summary>No file at the path.</summary>
    public static string NoSuchFile(string path) => $"{VirtualPath.Name(path)}: No such file.";
    /// <summary>No folder at the path.</summary>
    public static string NoSuchDirectory(string path) => $"{VirtualPath.Name(path)}: No such directory.";
    /// <summary>Nothing at the path.</summary>
    public static string Missing(string path) => $"{VirtualPath.Name(path)}: {NoSuchFileOrDirectory}";
    /// <summary>RMD of a file.</summary>
    public static string NotADirectory(string path) => $"{VirtualPath.Name(path)}: Not a directory; use DELE for files.";
    /// <summary>DELE of a folder.</summary>
    public static string IsADirectory(string path) => $"{VirtualPath.Name(path)}: Is a directory; use RMD for directories.";
    /// <summary>RMD of a folder that still holds something.</summary>
    public static string NotEmpty(string path) => $"{VirtualPath.Name(path)}: Directory not empty.";
}

/// <summary>Who may run a command.</summary>
public enum Access
{
    /// <summary>Anyone, logged in or not.</summary>
    Anyone,
    /// <summary>Only a logged-in user.</summary>
    LoggedIn,
    /// <summary>Only a logged-in administrator.</summary>
    Admin,
}

/// <summary>What must have come just before a command.</summary>
public enum Sequence
{
    /// <summary>No ordering rule.</summary>
    Any,
    /// <summary>Only directly after USER (PASS).</summary>
    AfterUser,
    /// <summary>Only directly after RNFR (RNTO).</summary>
    AfterRenameFrom,
}

/// <summary>Whether a command takes an argument.</summary>
public enum Argument
{
    /// <summary>The argument may be given or not.</summary>
    Optional,
    /// <summary>The argument must be given; without it the reply is 501 with the usage line.</summary>
    Required,
    /// <summary>No argument is allowed.</summary>
    None,
}

/// <summary>Handles one command: the session as it is and the request, to an outcome value.</summary>
public delegate Outcome Handler(Context context, Session session, Request request);

/// <summary>An entry of the dispatch table.</summary>
/// <param name="Verb">The verb as it is listed (an alias maps to the same entry under another key).</param>
/// <param name="Access">Who may run it.</param>
/// <param name="Usage">The usage line shown by HELP and in 501 replies.</param>
/// <param name="Help">One line of help text.</param>
/// <param name="Handle">The handler.</param>
public sealed record Command(string Verb, Access Access, string Usage, string Help, Handler Handle)
{
    /// <summary>The ordering rule checked before the handler runs.</summary>
    public Sequence Sequence { get; init; } = Sequence.Any;
    /// <summary>The argument rule checked before the handler runs.</summary>
    public Argument Argument { get; init; } = Argument.Optional;
    /// <summary>True for commands that change files: refused for read-only users.</summary>
    public bool Writes { get; init; }
    /// <summary>
    /// True when the handler runs while a transfer is in progress (ABOR, STAT, QUIT); any other command waits until the
    /// transfer has ended and is answered then, in the order it came.
    /// </summary>
    public bool DuringTransfer { get; init; }
    /// <summary>The entry this one overrides, when a plugin replaced a built-in.</summary>
    public Command? Replaced { get; init; }
    /// <summary>Where the entry came from: <c>built-in</c> or the plugin's file name.</summary>
    public string Origin { get; init; } = "built-in";
    /// <summary>The line this command adds to the FEAT reply (RFC 2389), e.g. <c>HASH SHA-256*</c>; null for none.</summary>
    public string? Feature { get; init; }
}

/// <summary>The immutable, case-insensitive dispatch table. Extending it makes a new table.</summary>
public sealed record CommandTable(ImmutableDictionary<string, Command> Entries)
{
    /// <summary>
    /// Adds or replaces an entry (under its verb and any aliases). A replaced entry stays reachable through
    /// <see cref="Command.Replaced"/>, and an override keeps its place during transfers: ABOR stays ABOR.
    /// </summary>
    public CommandTable With(Command command, params string[] aliases)
    {
        var entries = Entries;
        foreach (var key in aliases.Prepend(command.Verb))
        {
            var entry = Entries.TryGetValue(key, out var previous)
                ? command with { Replaced = previous, DuringTransfer = command.DuringTransfer || previous.DuringTransfer }
                : command;
            entries = entries.SetItem(key, entry);
        }
        return new CommandTable(entries);
    }

    /// <summary>Finds the entry for a verb.</summary>
    public Command? Find(string verb) => Entries.TryGetValue(verb, out var command) ? command : null;

    /// <summary>An empty table.</summary>
    public static readonly CommandTable Empty = new(ImmutableDictionary.Create<string, Command>(StringComparer.OrdinalIgnoreCase));
}

/// <summary>What the server tells the core that is the same for every session.</summary>
/// <param name="Banner">Greeting text.</param>
/// <param name="AllowOverwrite">Whether STOR may replace an existing file.</param>
/// <param name="ServerName">Name shown by SYST/STAT.</param>
public sealed record ServerOptions(string Banner, bool AllowOverwrite, string ServerName = "ScriptFtp")
{
    /// <summary>Whether the server has a certificate: AUTH TLS, PBSZ and PROT are offered.</summary>
    public bool TlsEnabled { get; init; }
    /// <summary>Whether the file system has Unix permission bits (not on Windows): SITE CHMOD is offered.</summary>
    public bool UnixModes { get; init; } = true;
    /// <summary>The mode bits SITE CHMOD never sets (<c>[server] chmod_mask</c>, like a umask); the default is octal 7002.</summary>
    public int ChmodMask { get; init; } = DefaultChmodMask;

    /// <summary>No setuid, setgid or sticky bit, and nothing writable by others: octal 7002.</summary>
    public const int DefaultChmodMask = 0b111_000_000_010;

    /// <summary>Options with the shipped defaults.</summary>
    public static readonly ServerOptions Default = new("ScriptFtp ready.", false);
}

/// <summary>Everything a handler may read besides the session: the table in force, the options and the time.</summary>
public sealed record Context(CommandTable Commands, ServerOptions Options, DateTimeOffset Now)
{
    /// <summary>The TLS rule of an account by name (<c>tls</c> in users.toml); <see cref="TlsRequirement.Server"/> for no override.</summary>
    public Func<string, TlsRequirement> UserTls { get; init; } = _ => TlsRequirement.Server;
}

/// <summary>A user's own TLS rule, which overrides <c>[tls] plain_allowed_from</c> for that user.</summary>
public enum TlsRequirement
{
    /// <summary>No override: the client's address decides.</summary>
    Server,

    /// <summary>TLS on both channels, from every address (loopback included).</summary>
    Required,

    /// <summary>Plain FTP allowed from every address (an old device that cannot do TLS).</summary>
    Optional,
}

/// <summary>The logged-in user as sessions see it.</summary>
/// <param name="Name">User name.</param>
/// <param name="Admin">Whether the user may run admin commands.</param>
/// <param name="ReadOnly">Whether writes are refused.</param>
public sealed record UserView(string Name, bool Admin, bool ReadOnly)
{
    /// <summary>Whether the account is banned (known when the account is looked up again during a session).</summary>
    public bool Banned { get; init; }
}

/// <summary>Login progress.</summary>
public abstract record Login
{
    private Login() { }
    /// <summary>Nobody has logged in.</summary>
    public sealed record Anonymous : Login;
    /// <summary>USER was given; PASS is expected.</summary>
    public sealed record AwaitingPassword(string Name) : Login;
    /// <summary>Logged in.</summary>
    public sealed record LoggedIn(UserView User) : Login;
    /// <summary>The shared instance for no login.</summary>
    public static readonly Login None = new Anonymous();
}

/// <summary>How the next data connection will be made. The shell keeps a passive listener open exactly while the plan names it.</summary>
public abstract record DataPlan
{
    private DataPlan() { }
    /// <summary>No PORT/PASV yet.</summary>
    public sealed record Unset : DataPlan;
    /// <summary>The server listens (PASV/EPSV) at <paramref name="Listening"/>.</summary>
    public sealed record Passive(IPEndPoint Listening) : DataPlan;
    /// <summary>The server connects to the client (PORT/EPRT).</summary>
    public sealed record Active(IPEndPoint Target) : DataPlan;
    /// <summary>The shared instance for no plan.</summary>
    public static readonly DataPlan None = new Unset();
}

/// <summary>The transfer type set by TYPE.</summary>
public enum TransferType
{
    /// <summary>TYPE A: line endings become CRLF on the wire.</summary>
    Ascii,
    /// <summary>TYPE I: bytes as they are.</summary>
    Binary,
}

/// <summary>Everything one control connection remembers between commands.</summary>
/// <param name="Id">Connection id used in logs.</param>
/// <param name="Remote">The client's address and port.</param>
/// <param name="Local">The server's address and port on this connection.</param>
public sealed record Session(string Id, IPEndPoint Remote, IPEndPoint Local)
{
    /// <summary>Login progress.</summary>
    public Login Login { get; init; } = Login.None;
    /// <summary>Current directory, as a virtual absolute path.</summary>
    public string Directory { get; init; } = "/";
    /// <summary>TYPE A or I.</summary>
    public TransferType Type { get; init; } = TransferType.Binary;
    /// <summary>Offset set by REST for the next RETR/STOR.</summary>
    public long RestartOffset { get; init; }
    /// <summary>Path given by RNFR, waiting for RNTO.</summary>
    public string? RenameFrom { get; init; }
    /// <summary>How the next data connection is made.</summary>
    public DataPlan Data { get; init; } = DataPlan.None;
    /// <summary>After EPSV ALL only EPSV may set up data connections.</summary>
    public bool EpsvOnly { get; init; }
    /// <summary>The MLST facts the client asked for.</summary>
    public ImmutableArray<string> Facts { get; init; } = Listing.AllFacts;
    /// <summary>The transfer in progress (with the data plan it uses), or null.</summary>
    public Effect.Transfer? Transfer { get; init; }
    /// <summary>QUIT came during a transfer: the transfer finishes, and an upload stands, whatever the connection does.</summary>
    public bool QuitSent { get; init; }
    /// <summary>How many replies in a row were errors (5xx); too many end the session.</summary>
    public int Errors { get; init; }
    /// <summary>The control connection runs over TLS (after AUTH TLS, or on the implicit FTPS port).</summary>
    public bool Secure { get; init; }
    /// <summary>PBSZ was given on the secured connection (RFC 4217 asks for it before PROT).</summary>
    public bool BufferSizeSet { get; init; }
    /// <summary>PROT P: data connections use TLS.</summary>
    public bool ProtectData { get; init; }
    /// <summary>The client's address may log in and transfer without TLS (<c>[tls] plain_allowed_from</c>).</summary>
    public bool PlainAllowed { get; init; } = true;
    /// <summary>The TLS rule of the account named by USER.</summary>
    public TlsRequirement UserTls { get; init; }
    /// <summary>Whether this session may log in and transfer without TLS: the account's rule, else the address's.</summary>
    public bool PlainPermitted => UserTls switch
    {
        TlsRequirement.Server => PlainAllowed,
        TlsRequirement.Required => false,
        TlsRequirement.Optional => true,
        _ => throw new InvalidOperationException($"unknown TLS rule {UserTls}"),
    };
    /// <summary>Failed PASS on this connection; <see cref="Protocol.MaxFailedPasswords"/> of them end it.</summary>
    public int FailedPasswords { get; init; }
    /// <summary>The client program's name as CLNT gave it (cleaned by <see cref="Protocol.ClientName"/>), or null.</summary>
    public string? Client { get; init; }
    /// <summary>The logged-in user, if any.</summary>
    public UserView? User => Login is Login.LoggedIn l ? l.User : null;
    /// <summary>
    /// What plugins chose for this session, by FEAT name (<c>OPTS HASH SHA-512</c> makes HASH → SHA-512); FEAT moves the
    /// <c>*</c> of that feature's line to the chosen option.
    /// </summary>
    public ImmutableDictionary<string, string> Choices { get; init; } = NoChoices;

    /// <summary>No choice made.</summary>
    public static readonly ImmutableDictionary<string, string> NoChoices =
        ImmutableDictionary.Create<string, string>(StringComparer.OrdinalIgnoreCase);
}

/// <summary>A file or folder as the core sees it.</summary>
public sealed record FileEntry(string Name, bool IsDirectory, long Size, DateTimeOffset Modified)
{
    /// <summary>The Unix mode bits (permissions with setuid, setgid and sticky: at most octal 7777); null where there are none.</summary>
    public int? Mode { get; init; }
}

/// <summary>How an upload treats an existing file.</summary>
public enum WriteMode
{
    /// <summary>Create a new file; fail if the name exists (unless overwriting is allowed).</summary>
    Create,
    /// <summary>Replace an existing file.</summary>
    Overwrite,
    /// <summary>Continue at the REST offset inside an existing file.</summary>
    Resume,
    /// <summary>Append to the end (APPE).</summary>
    Append,
    /// <summary>Pick a name that does not exist yet (STOU).</summary>
    Unique,
}

/// <summary>An administrative change to the users.</summary>
public enum AdminAction
{
    /// <summary>ADDUSER name password.</summary>
    AddUser,
    /// <summary>DELUSER name.</summary>
    DeleteUser,
    /// <summary>BAN name.</summary>
    Ban,
    /// <summary>UNBAN name.</summary>
    Unban,
}

/// <summary>An address banned after too many failed logins, as the administrator sees it.</summary>
/// <param name="Address">The address (IPv4-mapped IPv6 addresses are kept as IPv4).</param>
/// <param name="Until">When the ban ends.</param>
/// <param name="Offences">How many times in a row (within a day of the last ban ending) the address was banned.</param>
public sealed record AddressBan(IPAddress Address, DateTimeOffset Until, int Offences);

/// <summary>Why a login was refused.</summary>
public enum LoginFailure
{
    /// <summary>Unknown user or wrong password.</summary>
    Incorrect,
    /// <summary>The account is banned.</summary>
    Banned,
    /// <summary>The password was right but the user's home folder cannot be used.</summary>
    HomeUnavailable,
    /// <summary>Too many failures of this user name from the address: refused without checking the password.</summary>
    LockedOut,
    /// <summary>The address is banned: refused without checking the password.</summary>
    AddressBanned,
}

/// <summary>How a transfer ended short of success.</summary>
public enum TransferFault
{
    /// <summary>It completed.</summary>
    None,
    /// <summary>ABOR, a broken or stalled data connection, or a client that went away.</summary>
    Interrupted,
    /// <summary>The file being sent could not be read.</summary>
    ReadError,
    /// <summary>The file being received could not be written.</summary>
    WriteError,
    /// <summary>The upload brought more than the limit a plugin set.</summary>
    TooLarge,
    /// <summary>The upload's name was taken while it ran, and overwriting is off.</summary>
    NameTaken,
    /// <summary>The server failed in a way it did not foresee.</summary>
    Crashed,
    /// <summary>A TLS upload ended with a bare FIN or a reset instead of close_notify: it may be truncated.</summary>
    Unterminated,
}

/// <summary>Something that happened in a session that plugins hear about (connect and disconnect come from the shell).</summary>
public abstract record PluginEvent
{
    private PluginEvent() { }
    /// <summary>The session logged in.</summary>
    public sealed record LoggedIn : PluginEvent;
    /// <summary>A login as <paramref name="User"/> failed.</summary>
    public sealed record LoginFailed(string User) : PluginEvent;
    /// <summary>A download completed.</summary>
    public sealed record FileSent(string Path, long Bytes) : PluginEvent;
    /// <summary>An upload completed and was stored under <paramref name="Path"/>.</summary>
    public sealed record FileReceived(string Path, long Bytes) : PluginEvent;
    /// <summary>DELE deleted the file at <paramref name="Path"/>, which held <paramref name="Bytes"/>.</summary>
    public sealed record FileDeleted(string Path, long Bytes) : PluginEvent;
}

/// <summary>
/// A plugin's command handler: the plugins layer makes it, the core carries it in <see cref="Effect.RunPlugin"/>, the shell
/// runs it. It answers with a reply, or none for "do what the replaced entry does", and the session's choices after it.
/// </summary>
public delegate Task<EffectResult.PluginReply> PluginHandler(SessionView session, Request request, UserFiles? files,
    ImmutableDictionary<string, string> choices, CancellationToken cancel);

/// <summary>
/// I/O a handler asks the shell to perform, in families that each have one interpreter in the shell.
/// Paths are virtual (rooted at the user's home).
/// </summary>
public abstract record Effect
{
    private Effect() { }

    /// <summary>Check USER/PASS (answered with <see cref="EffectResult.Authenticated"/> or <see cref="EffectResult.LoginFailed"/>).
    /// </summary>
    public sealed record Authenticate(string Name, string Password) : Effect;

    /// <summary>The file-system family, answered with <see cref="EffectResult.Done"/> or <see cref="EffectResult.Failed"/> unless noted.
    /// </summary>
    public abstract record FileEffect : Effect
    {
        private protected FileEffect() { }
    }
    /// <summary>Look up one path (answered with <see cref="EffectResult.Stat"/>).</summary>
    public sealed record Stat(string Path) : FileEffect;
    /// <summary>List a folder (answered with <see cref="EffectResult.Listing"/>).</summary>
    public sealed record List(string Path) : FileEffect;
    /// <summary>Create a folder.</summary>
    public sealed record MakeDirectory(string Path) : FileEffect;
    /// <summary>Remove an empty folder.</summary>
    public sealed record RemoveDirectory(string Path) : FileEffect;
    /// <summary>Delete a file (answered with <see cref="EffectResult.Deleted"/> or <see cref="EffectResult.Failed"/>).</summary>
    public sealed record DeleteFile(string Path) : FileEffect;
    /// <summary>Rename or move a file or folder.</summary>
    public sealed record Rename(string From, string To) : FileEffect;
    /// <summary>Set the modification time of a file or folder.</summary>
    public sealed record SetModified(string Path, DateTime Utc) : FileEffect;
    /// <summary>Set the Unix mode bits of a file or folder (already masked by the core).</summary>
    public sealed record SetMode(string Path, int Mode) : FileEffect;

    /// <summary>The data-connection family: passive listeners and the transfer in progress.</summary>
    public abstract record TransferEffect : Effect
    {
        private protected TransferEffect() { }
    }
    /// <summary>Open a passive listener, closing the previous one (answered with <see cref="EffectResult.Listening"/>).</summary>
    public sealed record OpenPassive : TransferEffect;
    /// <summary>
    /// What one data connection carries; started by <see cref="Outcome.StartTransfer"/>, it ends with
    /// <see cref="EffectResult.Transferred"/>, <see cref="EffectResult.Failed"/> (550) or <see cref="EffectResult.Refused"/>.
    /// </summary>
    public abstract record Transfer : TransferEffect
    {
        private protected Transfer() { }
        /// <summary>How the data connection is made: the session's plan when the transfer started.</summary>
        public DataPlan Plan { get; init; } = DataPlan.None;
    }
    /// <summary>Send a file over the data connection from an offset.</summary>
    public sealed record SendFile(string Path, long Offset, TransferType Type) : Transfer;
    /// <summary>Send text (a listing) over the data connection.</summary>
    public sealed record SendText(string Text, string What) : Transfer;
    /// <summary>
    /// List a folder over the data connection as it is read, one line per entry made by <see cref="Listing.Line"/>; entries
    /// that vanish while it is read are left out. A folder that cannot be read ends it with <see cref="EffectResult.Failed"/>.
    /// </summary>
    public sealed record SendListing(string Path, ListingFormat Format) : Transfer;
    /// <summary>Receive a file over the data connection; it is stored only by <see cref="CommitUpload"/>.</summary>
    public sealed record ReceiveFile(string Path, WriteMode Mode, long Offset, TransferType Type) : Transfer;
    /// <summary>Stop the transfer in progress and report how it ended (answered as the transfer itself).</summary>
    public sealed record AbortTransfer : TransferEffect;
    /// <summary>How far the transfer in progress got (answered with <see cref="EffectResult.Progress"/>).</summary>
    public sealed record TransferProgress : TransferEffect;
    /// <summary>Store the upload that just ended under its name (answered with <see cref="EffectResult.Transferred"/>).</summary>
    public sealed record CommitUpload : TransferEffect;
    /// <summary>Throw away the upload that just ended (a whole-file upload leaves nothing; an append stays as written).</summary>
    public sealed record DiscardUpload(string Reason) : TransferEffect;

    /// <summary>
    /// Send <paramref name="Ready"/> (234), drop anything the client sent after AUTH, and run the TLS handshake on the control
    /// connection (answered with <see cref="EffectResult.Done"/> or <see cref="EffectResult.Failed"/>).
    /// </summary>
    public sealed record StartTls(Reply Ready) : Effect;

    /// <summary>
    /// Wait up to <paramref name="Within"/> for the client to close the control connection
    /// (answered with <see cref="EffectResult.Control"/>).
    /// </summary>
    public sealed record WatchControl(TimeSpan Within) : Effect;

    /// <summary>The administration family.</summary>
    public abstract record AdminEffect : Effect
    {
        private protected AdminEffect() { }
    }
    /// <summary>Change the users (answered with <see cref="EffectResult.Done"/> or <see cref="EffectResult.Failed"/>).</summary>
    public sealed record Administer(AdminAction Action, string Name, string? Password) : AdminEffect;
    /// <summary>The server's figures for STAT (answered with <see cref="EffectResult.Status"/>).</summary>
    public sealed record ServerStatus : AdminEffect;
    /// <summary>The addresses banned now (answered with <see cref="EffectResult.Bans"/>).</summary>
    public sealed record ListBans : AdminEffect;
    /// <summary>Lift the ban of an address, for the admin logged in (answered with <see cref="EffectResult.BanLifted"/>).</summary>
    public sealed record LiftBan(IPAddress Address) : AdminEffect;

    /// <summary>The plugin family.</summary>
    public abstract record PluginEffect : Effect
    {
        private protected PluginEffect() { }
    }
    /// <summary>Run a plugin's command handler (answered with <see cref="EffectResult.PluginReply"/>).</summary>
    public sealed record RunPlugin(string Origin, Request Request, PluginHandler Handler) : PluginEffect
    {
        /// <summary>The session's choices, for the handler to read (<see cref="Session.Choices"/>).</summary>
        public ImmutableDictionary<string, string> Choices { get; init; } = Session.NoChoices;
    }
    /// <summary>Tell the plugins what happened; their handlers run in the background (answered with <see cref="EffectResult.Done"/>).
    /// </summary>
    public sealed record Notify(PluginEvent Event) : PluginEffect;
}

/// <summary>What the shell reports back after performing an <see cref="Effect"/>.</summary>
public abstract record EffectResult
{
    private EffectResult() { }
    /// <summary>The effect worked, with an optional detail for the reply.</summary>
    public sealed record Done(string Detail = "") : EffectResult;
    /// <summary>The answer to <see cref="Effect.DeleteFile"/>: the file is gone; it held <paramref name="Bytes"/>.</summary>
    public sealed record Deleted(long Bytes) : EffectResult;
    /// <summary>The effect failed; Reason is safe to show the client.</summary>
    public sealed record Failed(string Reason) : EffectResult;
    /// <summary>The answer to <see cref="Effect.Authenticate"/>.</summary>
    public sealed record Authenticated(UserView User) : EffectResult;
    /// <summary>A login was refused; <paramref name="LockedFor"/> is how long a locked-out address must wait.</summary>
    public sealed record LoginFailed(LoginFailure Reason, TimeSpan LockedFor = default) : EffectResult;
    /// <summary>Refused with a reply made elsewhere: a plugin's refusal of an upload, or no data connection.</summary>
    public sealed record Refused(Reply Reply) : EffectResult;
    /// <summary>The answer to <see cref="Effect.Stat"/>: the entry, or null when nothing is there.</summary>
    public sealed record Stat(FileEntry? Entry) : EffectResult;
    /// <summary>The answer to <see cref="Effect.List"/>.</summary>
    public sealed record Listing(ImmutableArray<FileEntry> Entries) : EffectResult;
    /// <summary>The answer to <see cref="Effect.OpenPassive"/>: where the listener is and what address to advertise.</summary>
    public sealed record Listening(IPEndPoint Endpoint, IPAddress Advertised) : EffectResult;
    /// <summary>A transfer ended after its 150: how many bytes moved in how long, and what went wrong if anything.</summary>
    public sealed record Transferred(long Bytes, TimeSpan Elapsed, TransferFault Fault = TransferFault.None) : EffectResult
    {
        /// <summary>Where a committed upload was stored (STOU picks the name).</summary>
        public string StoredAs { get; init; } = "";
        /// <summary>The limit an upload passed, for <see cref="TransferFault.TooLarge"/>.</summary>
        public long Limit { get; init; }
        /// <summary>True when nothing went wrong.</summary>
        public bool Completed => Fault == TransferFault.None;
    }
    /// <summary>The answer to <see cref="Effect.TransferProgress"/>.</summary>
    public sealed record Progress(long Bytes) : EffectResult;
    /// <summary>The answer to <see cref="Effect.WatchControl"/>: whether the client closed the control connection.</summary>
    public sealed record Control(bool Closed) : EffectResult;
    /// <summary>The answer to <see cref="Effect.ServerStatus"/>.</summary>
    public sealed record Status(int Sessions, TimeSpan Uptime) : EffectResult;
    /// <summary>The answer to <see cref="Effect.ListBans"/>: the bans in force, soonest to end first.</summary>
    public sealed record Bans(ImmutableArray<AddressBan> Active) : EffectResult;
    /// <summary>The answer to <see cref="Effect.LiftBan"/>: false when the address was not banned.</summary>
    public sealed record BanLifted(bool WasBanned) : EffectResult;
    /// <summary>A plugin answered with a reply, or asked for the built-in it replaced (Reply is null).</summary>
    public sealed record PluginReply(Reply? Reply) : EffectResult
    {
        /// <summary>The session's choices after the handler, or null when it made none.</summary>
        public ImmutableDictionary<string, string>? Choices { get; init; }
    }
}

/// <summary>What a handler decided.</summary>
public abstract record Outcome(Session Next)
{
    /// <summary>Send replies and carry on (or close).</summary>
    public sealed record Respond(Session Next, ImmutableArray<Reply> Replies, bool Close = false) : Outcome(Next);
    /// <summary>Perform an effect, then continue with its result.</summary>
    public sealed record Perform(Session Next, Effect Effect, Func<EffectResult, Outcome> Then) : Outcome(Next);
    /// <summary>
    /// Start <paramref name="Transfer"/> and go on reading commands; when it ends, the shell hands its result to
    /// <see cref="Protocol.TransferEnded"/>.
    /// </summary>
    public sealed record StartTransfer(Session Next, Effect.Transfer Transfer) : Outcome(Next);
    /// <summary>The command must wait for the transfer in progress; the shell dispatches it again once the transfer has ended.</summary>
    public sealed record Wait(Session Next, Request Request) : Outcome(Next);
}

/// <summary>Builds outcomes tersely.</summary>
public static class Out
{
    /// <summary>One reply, new state.</summary>
    public static Outcome Reply(Session next, int code, string text) => new Outcome.Respond(next, [new Reply(code, text)]);
    /// <summary>One reply, new state.</summary>
    public static Outcome Reply(Session next, Reply reply) => new Outcome.Respond(next, [reply]);
    /// <summary>One reply, then close the connection.</summary>
    public static Outcome Close(Session next, Reply reply) => new Outcome.Respond(next, [reply], true);
    /// <summary>Perform an effect and continue.</summary>
    public static Outcome Do(Session next, Effect effect, Func<EffectResult, Outcome> then) => new Outcome.Perform(next, effect, then);
    /// <summary>Wait for the transfer in progress, then dispatch <paramref name="request"/> again.</summary>
    public static Outcome Wait(Session next, Request request) => new Outcome.Wait(next, request);

    /// <summary>Applies <paramref name="f"/> to the outcome a chain of effects ends in (a reply, a transfer or a wait).</summary>
    public static Outcome Map(Outcome outcome, Func<Outcome, Outcome> f) => outcome switch
    {
        Outcome.Perform p => p with { Then = result => Map(p.Then(result), f) },
        _ => f(outcome),
    };
}

/// <summary>Virtual paths: always absolute, '/'-separated, never above '/'.</summary>
public static class VirtualPath
{
    /// <summary>Longest path accepted, in characters.</summary>
    public const int MaxLength = 4096;
    /// <summary>Longest name of one path segment.</summary>
    public const int MaxSegment = 255;

    /// <summary>Resolves a client-supplied path against the current directory. Null when the path is unusable (NUL, too long).</summary>
    public static string? Resolve(string current, string argument)
    {
        if (argument.Length > MaxLength || argument.Contains('\0')) return null;
        // Windows clients send backslashes; treating them as separators keeps every name inside the root.
        var text = argument.Replace('\\', '/');
        var parts = new List<string>();
        if (!text.StartsWith('/')) parts.AddRange(current.Split('/', StringSplitOptions.RemoveEmptyEntries));
        foreach (var segment in text.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            switch (segment)
            {
                case ".": break;
                case "..": if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); break;
                default:
                    if (segment.Length > MaxSegment || segment.Any(char.IsControl)) return null;
                    parts.Add(segment);
                    break;
            }
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>The last segment of a path ("" for the root).</summary>
    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>The parent folder of a path (the root is its own parent).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }

    /// <summary>Quotes a path for a 257 reply, doubling embedded quotes (RFC 959).</summary>
    public static string Quote(string path) => "\"" + path.Replace("\"", "\"\"") + "\"";
}

/// <summary>The three listings: <c>ls -l</c> (LIST, STAT), names (NLST), RFC 3659 facts (MLSD).</summary>
public enum ListingKind
{
    /// <summary>Unix <c>ls -l</c> lines.</summary>
    Long,
    /// <summary>Names only.</summary>
    Names,
    /// <summary>RFC 3659 facts and the name.</summary>
    Machine,
}

/// <summary>How the lines of one listing are made from its entries; <see cref="Listing.Line"/> applies it.</summary>
/// <param name="Kind">Which listing.</param>
/// <param name="Now">The time of the command: <c>ls -l</c> shows the time of recent entries, the year of older ones.</param>
/// <param name="ReadOnly">Whether the user may only read (the permissions shown).</param>
/// <param name="Facts">The MLSD facts the client asked for.</param>
/// <param name="Pattern">A wildcard the names must match, or null for every name.</param>
/// <param name="Prefix">Put before each name: NLST names entries the way the client asked ("d/a.txt" for "NLST d").</param>
public sealed record ListingFormat(ListingKind Kind, DateTimeOffset Now, bool ReadOnly, ImmutableArray<string> Facts,
    string? Pattern = null, string Prefix = "");

/// <summary>Listing formats: Unix <c>ls -l</c> for LIST, RFC 3659 facts for MLSD/MLST.</summary>
public static class Listing
{
    /// <summary>The facts offered, in FEAT order.</summary>
    public static readonly ImmutableArray<string> AllFacts = ["type", "size", "modify", "perm", "UNIX.mode"];

    /// <summary>
    /// Listings of at most this many lines are sent sorted by name. A longer one is sent in the order the file system
    /// gives the folder, as it is read: sorting needs every line in memory at once, and a drop box of 100,000 files would
    /// cost tens of megabytes per listing. Clients sort what they show; scripts that compare listings see ordinary folders.
    /// </summary>
    public const int SortedUpTo = 10_000;

    /// <summary>The line for one entry of a listing, or null when the entry does not match the listing's pattern.</summary>
    public static string? Line(ListingFormat format, FileEntry entry)
    {
        if (format.Pattern is { } pattern && !Matches(pattern, entry.Name)) return null;
        var named = format.Prefix.Length == 0 ? entry : entry with { Name = format.Prefix + entry.Name };
        return format.Kind switch
        {
            ListingKind.Long => Unix(named, format.Now, format.ReadOnly),
            ListingKind.Names => named.Name,
            ListingKind.Machine => Facts(named, format.Facts, format.ReadOnly),
            _ => throw new InvalidOperationException($"unknown listing {format.Kind}"),
        };
    }

    /// <summary>One <c>ls -l</c> line; recent files show the time, older ones the year, as ls does.</summary>
    public static string Unix(FileEntry entry, DateTimeOffset now, bool readOnly)
    {
        var mode = ModeText(entry, readOnly);
        var modified = entry.Modified.ToUniversalTime();
        var recent = modified > now.AddDays(-180) && modified <= now.AddDays(1);
        var date = modified.ToString(recent ? "MMM dd HH:mm" : "MMM dd  yyyy", CultureInfo.InvariantCulture);
        return $"{mode} 1 ftp ftp {entry.Size,13} {date} {entry.Name}";
    }

    /// <summary>RFC 3659 facts for one entry, followed by a space and the name.</summary>
    public static string Facts(FileEntry entry, ImmutableArray<string> wanted, bool readOnly)
    {
        var facts = new StringBuilder();
        foreach (var fact in wanted)
        {
            var value = fact switch
            {
                "type" => entry.IsDirectory ? "dir" : "file",
                "size" => entry.Size.ToString(CultureInfo.InvariantCulture),
                "modify" => Timestamp(entry.Modified),
                "perm" => entry.IsDirectory ? (readOnly ? "el" : "flcdmpe") : (readOnly ? "r" : "adfrw"),
                "UNIX.mode" => entry.Mode is { } bits ? Octal(bits) : null,
                _ => null,
            };
            if (value is not null) facts.Append(fact).Append('=').Append(value).Append(';');
        }
        return facts.Append(' ').Append(entry.Name).ToString();
    }

    /// <summary>Mode bits as four octal digits, as ProFTPD's UNIX.mode fact and SITE CHMOD write them: <c>0644</c>.</summary>
    public static string Octal(int mode) => Convert.ToString(mode & MaxMode, 8).PadLeft(4, '0');

    /// <summary>1 to 4 octal digits as mode bits (<c>644</c>, <c>7002</c>); null when it is not that.</summary>
    public static int? ParseOctal(string text) =>
        text.Length is 0 or > 4 || !text.All(c => c is >= '0' and <= '7') ? null : Convert.ToInt32(text, 8);

    /// <summary>The highest mode SITE CHMOD takes: octal 7777.</summary>
    public const int MaxMode = 0b111_111_111_111;

    // A read-only user sees no write bits: LIST has no other way to tell a client it cannot write.
    private static string ModeText(FileEntry entry, bool readOnly)
    {
        if (entry.Mode is not { } bits)
            return entry.IsDirectory ? (readOnly ? "dr-xr-xr-x" : "drwxr-xr-x") : (readOnly ? "-r--r--r--" : "-rw-r--r--");
        var shown = readOnly ? bits & ~0b010_010_010 : bits;
        var text = new StringBuilder(entry.IsDirectory ? "d" : "-");
        // Owner, group, others: rwx, with setuid, setgid and sticky in the x place (lower case when x is set too), as ls.
        (int Shift, int Special, char Mark)[] places =
            [(6, 0b100_000_000_000, 's'), (3, 0b010_000_000_000, 's'), (0, 0b001_000_000_000, 't')];
        foreach (var (shift, special, mark) in places)
        {
            var triple = (shown >> shift) & 7;
            text.Append((triple & 4) != 0 ? 'r' : '-').Append((triple & 2) != 0 ? 'w' : '-');
            var execute = (triple & 1) != 0;
            text.Append((shown & special) != 0 ? (execute ? mark : char.ToUpperInvariant(mark)) : execute ? 'x' : '-');
        }
        return text.ToString();
    }

    /// <summary>
    /// Parses a time given by MFMT, MDTM and SITE UTIME: <c>YYYYMMDDHHMMSS</c> with optional <c>.s</c> to <c>.sss</c>
    /// (<paramref name="minutesOnly"/> also takes ProFTPD's <c>YYYYMMDDhhmm</c>), always UTC. Null when it is not one.
    /// </summary>
    public static DateTime? ParseTime(string text, bool minutesOnly = false)
    {
        string[] formats = minutesOnly
            ? ["yyyyMMddHHmm", "yyyyMMddHHmmss"]
            : ["yyyyMMddHHmmss", "yyyyMMddHHmmss.f", "yyyyMMddHHmmss.ff", "yyyyMMddHHmmss.fff"];
        // Digits only: "2020-12-31" or a sign must not slip through the culture's lenience.
        var digits = text.Replace(".", "");
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit)) return null;
        return DateTime.TryParseExact(text, formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time) ? time : null;
    }

    /// <summary>Splits "d/*.txt" into the folder and a wildcard pattern; no pattern when the last segment has no * or ?.</summary>
    public static (string Folder, string? Pattern) SplitPattern(string argument)
    {
        var slash = argument.LastIndexOfAny(['/', '\\']);
        var last = argument[(slash + 1)..];
        if (last.IndexOfAny(['*', '?']) < 0) return (argument, null);
        return (slash < 0 ? "" : slash == 0 ? "/" : argument[..slash], last);
    }

    /// <summary>Shell-style matching of * and ? against one name, case-sensitive as on Unix.</summary>
    public static bool Matches(string pattern, string name) =>
        System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(pattern, name, ignoreCase: false);

    /// <summary>The RFC 3659 time-val used by MDTM and the modify fact.</summary>
    public static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    /// <summary>Builds the data-channel text from lines, CRLF-terminated.</summary>
    public static string Lines(IEnumerable<string> lines)
    {
        var text = new StringBuilder();
        foreach (var line in lines) text.Append(line).Append("\r\n");
        return text.ToString();
    }
}

/// <summary>PORT/EPRT/PASV/EPSV argument and reply formats.</summary>
public static class DataAddress
{
    /// <summary>Parses <c>h1,h2,h3,h4,p1,p2</c>.</summary>
    public static IPEndPoint? ParsePort(string argument)
    {
        var parts = argument.Split(',');
        if (parts.Length != 6) return null;
        var bytes = new byte[6];
        for (var i = 0; i < 6; i++)
            if (!byte.TryParse(parts[i].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out bytes[i])) return null;
        var port = bytes[4] * 256 + bytes[5];
        return port == 0 ? null : new IPEndPoint(new IPAddress(bytes[..4]), port);
    }

    /// <summary>Parses <c>|proto|address|port|</c> (RFC 2428); the delimiter is the first character.</summary>
    public static IPEndPoint? ParseEprt(string argument)
    {
        if (argument.Length < 5) return null;
        var parts = argument.Split(argument[0]);
        if (parts.Length != 5 || parts[0].Length != 0 || parts[4].Length != 0) return null;
        if (!IPAddress.TryParse(parts[2], out var address)) return null;
        var family = parts[1] switch { "1" => AddressFamily.InterNetwork, "2" => AddressFamily.InterNetworkV6, _ => AddressFamily.Unknown };
        if (family != address.AddressFamily) return null;
        if (!int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535) return null;
        return new IPEndPoint(address, port);
    }

    /// <summary>The 227 reply text for a passive endpoint.</summary>
    public static string Pasv(IPAddress advertised, int port)
    {
        var b = advertised.MapToIPv4().GetAddressBytes();
        return $"Entering Passive Mode ({b[0]},{b[1]},{b[2]},{b[3]},{port >> 8},{port & 255}).";
    }

    /// <summary>Compares addresses, treating IPv4-mapped IPv6 as IPv4.</summary>
    public static bool SameHost(IPAddress a, IPAddress b) => Addresses.Normalize(a).Equals(Addresses.Normalize(b));

    /// <summary>True for a real IPv6 connection (not an IPv4 client of a dual-stack socket).</summary>
    public static bool IsIPv6(IPAddress local) => Addresses.Normalize(local).AddressFamily == AddressFamily.InterNetworkV6;
}

/// <summary>The dispatcher, the built-in command set, and the rules a session lives by.</summary>
public static class Protocol
{
    /// <summary>The longest control line accepted, in bytes.</summary>
    public const int MaxLineLength = 8192;

    /// <summary>Error replies in a row after which the session is closed.</summary>
    public const int MaxConsecutiveErrors = 30;

    /// <summary>Failed PASS after which the connection is closed (as vsftpd and pyftpdlib do).</summary>
    public const int MaxFailedPasswords = 3;

    /// <summary>The greeting sent when a client connects.</summary>
    public static Reply Greeting(ServerOptions options) => new(220, options.Banner);

    // ---- the entry points: a command, the end of a transfer, a line too long ----

    /// <summary>
    /// Runs one request through the table: a command that cannot run during the transfer in progress waits; otherwise
    /// access, sequence and argument rules first, then the handler.
    /// </summary>
    public static Outcome Dispatch(Context context, Session session, Request request)
    {
        var command = context.Commands.Find(request.Verb);
        if (session.Transfer is not null && command is not { DuringTransfer: true }) return Out.Wait(session, request);
        var outcome = command is null
            ? Out.Reply(session, Reply.Unknown(request.Verb))
            : Run(command, context, session, request);
        return Out.Map(outcome, done => CountErrors(Forget(done, request.Verb)));
    }

    /// <summary>The transfer started by <see cref="Outcome.StartTransfer"/> has ended with <paramref name="result"/>.</summary>
    public static Outcome TransferEnded(Context context, Session session, EffectResult result) =>
        Out.Map(Ended(session, result), CountErrors);

    /// <summary>
    /// The answer to a control line longer than <see cref="MaxLineLength"/>: 500, and the connection is closed as soon as
    /// the limit is reached, so the rest of the line is never read.
    /// </summary>
    public static Outcome LineTooLong(Session session) => Out.Close(session, Reply.LineTooLong(MaxLineLength));

    /// <summary>
    /// RFC 959: QUIT during a transfer lets it finish and is answered after it, so a client that closes its side right
    /// after QUIT still gets its transfer; without QUIT, a vanished client's transfer is cut.
    /// </summary>
    public static bool FinishAfterHangUp(Session session) => session.Transfer is not null && session.QuitSent;

    /// <summary>
    /// An admin's change to the logged-in user applies from the next command, not the next login: the user's rights as
    /// the users file has them now (<paramref name="account"/>, null when deleted), or the 421 that ends the session.
    /// </summary>
    public static (Session Next, Reply? Ended) Refresh(Session session, UserView? account)
    {
        if (session.User is not { } user) return (session, null);
        if (AccountEnded(account) is { } ended) return (session, ended);
        var rights = user with { Admin = account!.Admin, ReadOnly = account.ReadOnly };
        return (rights == user ? session : session with { Login = new Login.LoggedIn(rights) }, null);
    }

    /// <summary>The 421 that ends a session of a deleted (null) or banned account; null while the account stands.</summary>
    public static Reply? AccountEnded(UserView? account) =>
        account is null ? Reply.Closing("Your account has been deleted.")
        : account.Banned ? Reply.Closing("Your account has been banned.")
        : null;

    /// <summary>The 421 that turns away a connection from a banned address, before anything else is said.</summary>
    public static Reply AddressBanned(TimeSpan remaining) =>
        Reply.Closing($"Too many failed logins from your address; try again in {WaitText(remaining)}.");

    /// <summary>The 421 that ends a connection that did not log in within the grace time.</summary>
    public static Reply LoginTimeout(TimeSpan grace) =>
        Reply.Closing($"Login time exceeded ({grace.TotalSeconds:0} seconds); closing the connection.");

    /// <summary>The 421 sent to a connection that has not logged in, evicted to make room for a new one.</summary>
    public static readonly Reply Evicted = Reply.Closing("Too many connections waiting to log in; closing this one.");

    /// <summary>
    /// When the pre-login limit is full, whose oldest pre-login connection gives way: the address holding the most
    /// (<paramref name="holders"/> maps each address to its count), so a flood from a few addresses cannot keep others out.
    /// Null when there is room.
    /// </summary>
    public static IPAddress? EvictFrom(IReadOnlyDictionary<IPAddress, int> holders, int limit) =>
        holders.Values.Sum() < limit || holders.Count == 0 ? null : holders.MaxBy(h => h.Value).Key;

    /// <summary>Whether a new connection may be served: null, or the 421 that turns it away.</summary>
    public static Reply? Admit(int sessions, int fromAddress, int maxSessions, int maxFromAddress) =>
        sessions >= maxSessions ? Reply.Closing("Too many connections; try again later.")
        : fromAddress >= maxFromAddress ? Reply.Closing("Too many connections from your address; try again later.")
        : null;

    // RNFR's pending name only survives into the very next command; a REST offset survives only until the transfer it
    // announces (data-connection setup may come in between), never into an unrelated command.
    private static Outcome Forget(Outcome outcome, string verb)
    {
        var next = outcome.Next;
        var renameFrom = verb is "RNFR" ? next.RenameFrom : null;
        var restartOffset = KeepsRestart.Contains(verb) ? next.RestartOffset : 0;
        if (outcome is Outcome.Wait || (renameFrom == next.RenameFrom && restartOffset == next.RestartOffset)) return outcome;
        return outcome with { Next = next with { RenameFrom = renameFrom, RestartOffset = restartOffset } };
    }

    private static readonly FrozenSet<string> KeepsRestart =
        FrozenSet.Create(StringComparer.Ordinal,
            "REST", "PASV", "EPSV", "PORT", "EPRT", "TYPE", "MODE", "STRU", "NOOP", "SIZE", "MDTM", "FEAT", "OPTS");

    /// <summary>A client that gets nothing but errors is closed, rather than answered forever.</summary>
    private static Outcome CountErrors(Outcome outcome)
    {
        if (outcome is not Outcome.Respond respond) return outcome;
        var errors = respond.Replies.Aggregate(respond.Next.Errors, (count, reply) => reply.Code >= 500 ? count + 1 : 0);
        var counted = errors == respond.Next.Errors ? respond : respond with { Next = respond.Next with { Errors = errors } };
        return errors < MaxConsecutiveErrors || respond.Close
            ? counted
            : counted with { Replies = respond.Replies.Add(Reply.TooManyErrors), Close = true };
    }

    // Every way into a handler (the table, SITE, a plugin falling back to the built-in it replaced) passes the same rules.
    private static Outcome Run(Command command, Context context, Session session, Request request) =>
        Guard(command, session, request) ?? command.Handle(context, session, request);

    /// <summary>The table-driven checks; null when the command may run.</summary>
    private static Outcome? Guard(Command command, Session session, Request request)
    {
        var user = session.User;
        if (command.Access != Access.Anyone && user is null) return Out.Reply(session, Reply.NotLoggedIn);
        if (command.Access == Access.Admin && user is { Admin: false }) return Out.Reply(session, Reply.AdminOnly);
        var inSequence = command.Sequence switch
        {
            Sequence.Any => true,
            Sequence.AfterUser => session.Login is Login.AwaitingPassword,
            // Dispatch clears the pending name after any other command, so it is set only right after RNFR.
            Sequence.AfterRenameFrom => session.RenameFrom is not null,
            _ => throw new InvalidOperationException($"unknown sequence {command.Sequence}"),
        };
        if (!inSequence) return Out.Reply(session, Reply.BadSequence);
        var argumentOk = command.Argument switch
        {
            Argument.Optional => true,
            Argument.Required => request.HasArgument,
            Argument.None => !request.HasArgument,
            _ => throw new InvalidOperationException($"unknown argument rule {command.Argument}"),
        };
        if (!argumentOk) return Out.Reply(session, Reply.Syntax(command.Usage));
        if (command.Writes && user is { ReadOnly: true }) return Out.Reply(session, Reply.ReadOnlyUser);
        return null;
    }

    // ---- the table ----

    // Static fields initialise in order: the table is built from what is above it.
    private static readonly (AdminAction Action, string Verb, string Usage, string Help)[] AdminVerbs =
    [
        (AdminAction.AddUser, "ADDUSER", "ADDUSER <user> <password>", "Create a user with a home folder."),
        (AdminAction.DeleteUser, "DELUSER", "DELUSER <user>", "Delete a user (their files are kept)."),
        (AdminAction.Ban, "BAN", "BAN <user>", "Ban a user and end their sessions."),
        (AdminAction.Unban, "UNBAN", "UNBAN <user>", "Lift a ban."),
    ];

    /// <summary>The built-in table.</summary>
    public static readonly CommandTable BuiltIns = SessionCommands()
        .Concat(NavigationCommands())
        .Concat(FileCommands())
        .Concat(TransferCommands())
        .Concat(AdminCommands())
        .Aggregate(CommandTable.Empty, (table, entry) => table.With(entry.Command, entry.Aliases));

    private sealed record Entry(Command Command, params string[] Aliases);

    private static Command C(string verb, Access access, string usage, string help, Handler handle) =>
        new(verb, access, usage, help, handle);

    private const Access Any = Access.Anyone, In = Access.LoggedIn, Adm = Access.Admin;
    private const Argument Needed = Argument.Required;

    private static IEnumerable<Entry> SessionCommands() =>
    [
        new(C("USER", Any, "USER <name>", "Start a login.", User) with { Argument = Needed }),
        new(C("PASS", Any, "PASS <password>", "Finish a login.", Pass) with { Sequence = Sequence.AfterUser }),
        new(C("QUIT", Any, "QUIT", "Close the connection.", Quit) with { DuringTransfer = true }),
        new(C("NOOP", Any, "NOOP", "Do nothing.", (_, s, _) => Out.Reply(s, 200, "NOOP ok."))),
        new(C("CLNT", Any, "CLNT <name>", "Name the client program (it goes into the log).", Clnt) with { Argument = Needed }),
        new(C("SYST", Any, "SYST", "Show the system type.", (_, s, _) => Out.Reply(s, 215, "UNIX Type: L8"))),
        new(C("FEAT", Any, "FEAT", "List extensions.", Feat)),
        new(C("AUTH", Any, "AUTH TLS", "Secure the control connection with TLS (RFC 4217).", Auth) with { Argument = Needed }),
        new(C("PBSZ", Any, "PBSZ 0", "Protection buffer size (always 0 with TLS).", Pbsz) with { Argument = Needed }),
        new(C("PROT", Any, "PROT P|C", "Data channel protection: P (TLS) or C (clear).", Prot) with { Argument = Needed }),
        new(C("OPTS", Any, "OPTS <option> [value]", "Set an option (UTF8, MLST).", Opts) with { Argument = Needed }),
        new(C("HELP", Any, "HELP [command]", "Show help.", Help)),
        new(C("STAT", Any, "STAT [path]", "Server status, or a listing on the control connection.", Stat) with { DuringTransfer = true }),
        new(C("SITE", In, "SITE <command> [arguments]", "Site-specific commands; SITE HELP lists them.", Site) with { Argument = Needed }),
        new(C("SITE HELP", In, "SITE HELP", "List SITE commands.", SiteHelp)),
    ];

    private static IEnumerable<Entry> NavigationCommands() =>
    [
        new(C("PWD", In, "PWD", "Print the current directory.", Pwd), "XPWD"),
        new(C("CWD", In, "CWD <path>", "Change directory.", Cwd) with { Argument = Needed }, "XCWD"),
        new(C("CDUP", In, "CDUP", "Go to the parent directory.", (c, s, _) => Cwd(c, s, new Request("CWD", ".."))), "XCUP"),
        new(C("LIST", In, "LIST [path]", "List a directory (ls -l format).", (c, s, r) => ListCommand(c, s, r, ListingKind.Long))),
        new(C("NLST", In, "NLST [path]", "List names only.", (c, s, r) => ListCommand(c, s, r, ListingKind.Names))),
        new(C("MLSD", In, "MLSD [path]", "Machine-readable directory listing.", (c, s, r) => ListCommand(c, s, r, ListingKind.Machine))),
        new(C("MLST", In, "MLST [path]", "Machine-readable facts about one path.", Mlst)),
        new(C("SIZE", In, "SIZE <file>", "Size of a file in bytes.", Size) with { Argument = Needed }),
        new(C("MDTM", In, "MDTM [YYYYMMDDHHMMSS] <file>", "Modification time of a file; with a time first, set it (UTC).", Mdtm)
            with { Argument = Needed }),
    ];

    private static IEnumerable<Entry> FileCommands() =>
    [
        new(C("MKD", In, "MKD <path>", "Make a directory.", Mkd) with { Argument = Needed, Writes = true }, "XMKD"),
        new(C("RMD", In, "RMD <path>", "Remove an empty directory.", Rmd) with { Argument = Needed, Writes = true }, "XRMD"),
        new(C("DELE", In, "DELE <file>", "Delete a file.", Dele) with { Argument = Needed, Writes = true }),
        new(C("RNFR", In, "RNFR <path>", "Rename from (followed by RNTO).", Rnfr) with { Argument = Needed, Writes = true }),
        new(C("RNTO", In, "RNTO <path>", "Rename to (after RNFR).", Rnto)
            with { Argument = Needed, Writes = true, Sequence = Sequence.AfterRenameFrom }),
        new(C("MFMT", In, MfmtUsage, "Set the modification time of a file (UTC).", Mfmt) with { Argument = Needed, Writes = true }),
        new(C("SITE UTIME", In, UtimeUsage, "Set the modification time (UTC), as ProFTPD.", Utime)
            with { Argument = Needed, Writes = true }),
        new(C("SITE CHMOD", In, ChmodUsage, "Set the Unix permissions of a file or folder.", Chmod)
            with { Argument = Needed, Writes = true }),
    ];

    private const string MfmtUsage = "MFMT YYYYMMDDHHMMSS[.sss] <path>";
    private const string UtimeUsage = "SITE UTIME YYYYMMDDhhmm[ss] <path> | SITE UTIME <path> <atime> <mtime> <ctime> UTC";
    private const string ChmodUsage = "SITE CHMOD <octal mode> <path>";

    private static IEnumerable<Entry> TransferCommands() =>
    [
        new(C("RETR", In, "RETR <file>", "Download a file.", Retr) with { Argument = Needed }),
        new(C("STOR", In, "STOR <file>", "Upload a file.", Stor) with { Argument = Needed, Writes = true }),
        new(C("APPE", In, "APPE <file>", "Append to a file.", Appe) with { Argument = Needed, Writes = true }),
        new(C("STOU", In, "STOU [name]", "Upload under a unique name.", Stou) with { Writes = true }),
        new(C("REST", In, "REST <offset>", "Restart the next transfer at a byte offset.", Rest) with { Argument = Needed }),
        new(C("TYPE", In, "TYPE A|I", "Set the transfer type.", TypeCommand) with { Argument = Needed }),
        new(C("MODE", In, "MODE S", "Set the transfer mode (only S).", Mode) with { Argument = Needed }),
        new(C("STRU", In, "STRU F", "Set the file structure (only F).", Stru) with { Argument = Needed }),
        new(C("ALLO", In, "ALLO <bytes>", "Reserve space (not needed here).", Allo)),
        new(C("PASV", In, "PASV", "Passive mode (IPv4).", Pasv)),
        new(C("EPSV", In, "EPSV [1|2|ALL]", "Extended passive mode.", Epsv)),
        new(C("PORT", In, "PORT h1,h2,h3,h4,p1,p2", "Active mode (IPv4).", Port) with { Argument = Needed }),
        new(C("EPRT", In, "EPRT |proto|address|port|", "Extended active mode.", Eprt) with { Argument = Needed }),
        new(C("ABOR", Any, "ABOR", "Abort the running transfer.", Abor) with { DuringTransfer = true }),
    ];

    // Each admin command exists plain (ADDUSER) and under SITE (SITE ADDUSER), for clients that pass only SITE through.
    private static IEnumerable<Entry> AdminCommands() => new[] { "", "SITE " }.SelectMany(prefix => AdminVerbs
        .Select(admin => AdminEntry(prefix + admin.Verb, prefix + admin.Usage, admin.Help, admin.Action))
        .Concat(AddressBanCommands(prefix)));

    private static Entry AdminEntry(string verb, string usage, string help, AdminAction action) =>
        new(C(verb, Adm, usage, help, (_, s, r) => Administer(s, r, action, usage)) with { Argument = Needed });

    private static IEnumerable<Entry> AddressBanCommands(string prefix)
    {
        var unbanUsage = prefix + "UNBAN-ADDRESS <address>";
        return
        [
            new(C(prefix + "BANS", Adm, prefix + "BANS", "List the addresses banned for failed logins.", ListBans)
                with { Argument = Argument.None }),
            new(C(prefix + "UNBAN-ADDRESS", Adm, unbanUsage, "Lift the ban of an address.", (_, s, r) => UnbanAddress(s, r, unbanUsage))
                with { Argument = Needed }),
        ];
    }

    // ---- session: login, quit, features, options, help, status ----

    private static Outcome User(Context context, Session session, Request request)
    {
        if (session.User is not null) return Out.Reply(session, 530, "Already logged in; reconnect to change user.");
        var named = session with { UserTls = context.UserTls(request.Argument) };
        // Refused before PASS, so the password never crosses the network in clear.
        if (!named.Secure && !named.PlainPermitted) return Out.Reply(named with { Login = Login.None }, Reply.EncryptionRequired);
        var awaiting = named with { Login = new Login.AwaitingPassword(request.Argument) };
        return Out.Reply(awaiting, 331, $"Password required for {Reply.Sanitize(request.Argument)}.");
    }

    private static Outcome Pass(Context context, Session session, Request request)
    {
        var name = ((Login.AwaitingPassword)session.Login).Name;
        var pending = session with { Login = Login.None };
        if (!session.Secure && !session.PlainPermitted) return Out.Reply(pending, Reply.EncryptionRequired);
        return Out.Do(pending, new Effect.Authenticate(name, request.Argument), result => result switch
        {
            EffectResult.Authenticated a => LoggedIn(pending with { Login = new Login.LoggedIn(a.User), Directory = "/" }, a.User),
            EffectResult.LoginFailed { Reason: LoginFailure.LockedOut or LoginFailure.AddressBanned } f =>
                Out.Close(pending, LoginRefused(f)),
            EffectResult.LoginFailed { Reason: LoginFailure.HomeUnavailable } f => Out.Reply(pending, LoginRefused(f)),
            EffectResult.LoginFailed f => PasswordFailed(pending with { FailedPasswords = pending.FailedPasswords + 1 }, name, f),
            _ => throw Unexpected(result),
        });
    }

    // The third failure on one connection closes it: a guesser must reconnect, and pay the connect and the delay again.
    private static Outcome PasswordFailed(Session session, string name, EffectResult.LoginFailed failure)
    {
        var told = Tell(session, new PluginEvent.LoginFailed(name), LoginRefused(failure));
        return session.FailedPasswords < MaxFailedPasswords
            ? told
            : Out.Map(told, done => done is Outcome.Respond respond
                ? respond with
                {
                    Replies = respond.Replies.Add(Reply.Closing("Too many failed logins; closing the connection.")), Close = true,
                }
                : done);
    }

    private static Outcome LoggedIn(Session session, UserView user) =>
        Tell(session, new PluginEvent.LoggedIn(), new Reply(230, $"User {user.Name} logged in."));

    private static Reply LoginRefused(EffectResult.LoginFailed failure) => failure.Reason switch
    {
        LoginFailure.Incorrect => new(530, "Login incorrect."),
        LoginFailure.Banned => new(530, "Login refused: this account is banned."),
        LoginFailure.HomeUnavailable => new(530, "Login refused: your home folder is unavailable; ask the administrator."),
        LoginFailure.LockedOut => Reply.Closing($"Too many failed logins for this user; try again in {WaitText(failure.LockedFor)}."),
        LoginFailure.AddressBanned => AddressBanned(failure.LockedFor),
        _ => throw new InvalidOperationException($"unknown login failure {failure.Reason}"),
    };

    private static string WaitText(TimeSpan wait) => wait.TotalSeconds < 120
        ? $"{Math.Ceiling(wait.TotalSeconds):0} seconds"
        : $"{Math.Ceiling(wait.TotalMinutes):0} minutes";

    /// <summary>Tells the plugins about <paramref name="happened"/>, then replies.</summary>
    private static Outcome Tell(Session session, PluginEvent happened, Reply reply) =>
        Out.Do(session, new Effect.Notify(happened), _ => Out.Reply(session, reply));

    /// <summary>During a transfer QUIT waits for it (RFC 959), and marks an upload in progress as meant to stand.</summary>
    private static Outcome Quit(Context context, Session session, Request request) => session.Transfer is null
        ? Out.Close(session, new Reply(221, "Goodbye."))
        : Out.Wait(session with { QuitSent = true }, request);

    private static Outcome Feat(Context context, Session session, Request request)
    {
        var mlst = "MLST " + string.Concat(Listing.AllFacts.Select(f => f + (session.Facts.Contains(f) ? "*;" : ";")));
        string[] builtIn = ["EPRT", "EPSV", "MDTM", "MFMT", mlst, "PASV", "REST STREAM", "SIZE", "TVFS", "UTF8"];
        string[] tls = context.Options.TlsEnabled ? ["AUTH TLS", "PBSZ", "PROT"] : [];
        var plugins = Visible(context, session, _ => true).Select(c => c.Feature).OfType<string>().Select(f => Starred(f, session.Choices));
        var features = builtIn.Concat(tls).Concat(plugins)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return Out.Reply(session, new Reply(211, [.. features.Select(f => " " + f).Prepend("Features:").Append("End")]));
    }

    /// <summary>A feature such as <c>HASH SHA-1;SHA-256*;MD5</c> stars its current option: the session's choice, if it made one.</summary>
    private static string Starred(string feature, ImmutableDictionary<string, string> choices)
    {
        var (name, options) = Request.SplitFirst(feature);
        if (options.Length == 0 || !choices.TryGetValue(name, out var chosen)) return feature;
        var items = options.Split(';').Select(o => o.TrimEnd('*'))
            .Select(o => o.Equals(chosen, StringComparison.OrdinalIgnoreCase) ? o + "*" : o);
        return $"{name} {string.Join(';', items)}";
    }

    private static Outcome Opts(Context context, Session session, Request request)
    {
        var (option, value) = Request.SplitFirst(request.Argument.Trim());
        return option.ToUpperInvariant() switch
        {
            // UTF-8 is always on; Windows Explorer still needs the 200.
            "UTF8" or "UTF-8" => value.Trim().ToUpperInvariant() is "ON" or ""
                ? Out.Reply(session, 200, "UTF8 mode is always on.")
                : Out.Reply(session, 504, "UTF8 cannot be turned off."),
            "MLST" => SetFacts(session, value),
            _ => Out.Reply(session, 501, $"Unknown option \"{Reply.Sanitize(option)}\"."),
        };
    }

    private static Outcome SetFacts(Session session, string value)
    {
        var wanted = value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(f => Listing.AllFacts.FirstOrDefault(known => known.Equals(f, StringComparison.OrdinalIgnoreCase)))
            .OfType<string>().Distinct().ToImmutableArray();
        return Out.Reply(session with { Facts = wanted }, 200, "MLST OPTS " + string.Concat(wanted.Select(f => f + ";")));
    }

    private static IEnumerable<Command> Visible(Context context, Session session, Func<string, bool> keyFilter) =>
        context.Commands.Entries
            .Where(e => keyFilter(e.Key))
            .Select(e => e.Value)
            .Where(c => keyFilter(c.Verb))
            .DistinctBy(c => c.Verb)
            .Where(c => c.Access != Access.Admin || session.User is { Admin: true })
            .OrderBy(c => c.Verb, StringComparer.Ordinal);

    private static Outcome Help(Context context, Session session, Request request)
    {
        if (request.HasArgument)
        {
            var command = context.Commands.Find(request.Argument.Trim());
            return command is null || (command.Access == Access.Admin && session.User is not { Admin: true })
                ? Out.Reply(session, 502, $"Unknown command \"{Reply.Sanitize(request.Argument)}\".")
                : Out.Reply(session, 214, $"Syntax: {command.Usage} - {command.Help}");
        }
        var verbs = Visible(context, session, key => !key.Contains(' ')).Select(c => c.Verb).ToList();
        var rows = verbs.Chunk(8).Select(row => " " + string.Join(' ', row.Select(v => v.PadRight(8))).TrimEnd());
        return Out.Reply(session, new Reply(214, [.. rows.Prepend("The following commands are recognized:").Append("Help OK.")]));
    }

    private static Outcome SiteHelp(Context context, Session session, Request request)
    {
        var rows = Visible(context, session, key => key.StartsWith("SITE ", StringComparison.OrdinalIgnoreCase))
            .Select(c => $" {c.Usage.PadRight(32)} {c.Help}");
        return Out.Reply(session, new Reply(214, [.. rows.Prepend("SITE commands:").Append("Help OK.")]));
    }

    private static Outcome Site(Context context, Session session, Request request)
    {
        var (sub, rest) = Request.SplitFirst(request.Argument.Trim());
        var key = "SITE " + sub.ToUpperInvariant();
        var command = context.Commands.Find(key);
        if (command is null) return Out.Reply(session, 500, $"Unknown SITE command \"{Reply.Sanitize(sub)}\". Try SITE HELP.");
        var inner = new Request(key, rest);
        return Run(command, context, session, inner);
    }

    private static Outcome Clnt(Context context, Session session, Request request) => ClientName(request.Argument) switch
    {
        null => Out.Reply(session, 501, "CLNT needs a client name of printable characters."),
        var name => Out.Reply(session with { Client = name }, 200, $"Noted: {name}."),
    };

    /// <summary>The longest client name kept from CLNT; the rest is cut.</summary>
    public const int MaxClientName = 64;

    /// <summary>
    /// A client name fit for log lines and WHO: printable characters only (no control, format or unpaired surrogate
    /// characters, which could forge log lines or reorder text), trimmed, at most <see cref="MaxClientName"/>; null when nothing is left.
    /// </summary>
    public static string? ClientName(string text)
    {
        var kept = text.Where(c => !char.IsControl(c) && !char.IsSurrogate(c) && CharUnicodeInfo.GetUnicodeCategory(c)
            is not (UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned));
        var clean = new string([.. kept]).Trim();
        return clean.Length == 0 ? null : clean[..Math.Min(clean.Length, MaxClientName)].TrimEnd();
    }

    /// <summary>STAT: during a transfer, its progress (STAT with a path waits); else a path's listing or the status.</summary>
    private static Outcome Stat(Context context, Session session, Request request) => (session.Transfer, request.HasArgument) switch
    {
        (not null, true) => Out.Wait(session, request),
        (not null, false) => Out.Do(session, new Effect.TransferProgress(), result => result switch
        {
            EffectResult.Progress p => Out.Reply(session, 213, $"Transfer in progress: {p.Bytes} bytes so far."),
            _ => throw Unexpected(result),
        }),
        (null, true) when session.User is null => Out.Reply(session, Reply.NotLoggedIn),
        (null, true) => StatPath(context, session, request.Argument),
        (null, false) => Out.Do(session, new Effect.ServerStatus(), result => result switch
        {
            EffectResult.Status status => Out.Reply(session, ServerStatus(context, session, status)),
            _ => throw Unexpected(result),
        }),
    };

    private static Outcome StatPath(Context context, Session session, string argument) =>
        WithEntry(session, argument, (path, entry) => entry switch
        {
            null => Out.Reply(session, 550, $"{Reply.Sanitize(argument)}: No such file or directory."),
            { IsDirectory: true } => WithListing(session, path, entries => Out.Reply(session, StatusOf(context, session, path, entries))),
            _ => Out.Reply(session, StatusOf(context, session, path, [entry with { Name = VirtualPath.Name(path) }])),
        });

    private static Reply StatusOf(Context context, Session session, string path, IEnumerable<FileEntry> entries)
    {
        var lines = entries.Select(e => Listing.Unix(e, context.Now, session.User!.ReadOnly));
        return new(213, [.. lines.Prepend($"Status of {path}:").Append("End of status.")]);
    }

    private static Reply ServerStatus(Context context, Session session, EffectResult.Status status)
    {
        var up = status.Uptime;
        IEnumerable<string> server =
        [
            $" {status.Sessions} session(s) connected",
            $" Up for {(int)up.TotalDays}d {up.Hours:00}:{up.Minutes:00}:{up.Seconds:00}",
        ];
        var lines = StatusLines(session).Concat(server).Prepend($"{context.Options.ServerName} status:").Append("End of status.");
        return new Reply(211, [.. lines]);
    }

    private static IEnumerable<string> StatusLines(Session session)
    {
        yield return $" Connected from {Addresses.Normalize(session.Remote.Address)}";
        yield return session.User is { } user ? $" Logged in as {user.Name}{(user.Admin ? " (admin)" : "")}" : " Not logged in";
        yield return $" TYPE: {(session.Type == TransferType.Ascii ? "ASCII" : "BINARY")}, STRUcture: File, MODE: Stream";
        yield return $" Current directory: {session.Directory}";
        yield return session.Data switch
        {
            DataPlan.Passive p => $" Data connection: passive on port {p.Listening.Port}",
            DataPlan.Active a => $" Data connection: active to {a.Target}",
            DataPlan.Unset => " Data connection: none",
            _ => throw new InvalidOperationException("unknown data plan"),
        };
    }

    // ---- TLS (RFC 4217) ----

    private static Outcome Auth(Context context, Session session, Request request)
    {
        // Without a certificate the server does not speak TLS at all: AUTH is as unknown as on a plain FTP server.
        if (!context.Options.TlsEnabled) return Out.Reply(session, Reply.Unknown(request.Verb));
        if (session.Secure) return Out.Reply(session, 503, "The connection is already secured with TLS.");
        return request.Argument.Trim().ToUpperInvariant() switch
        {
            "TLS" or "SSL" or "TLS-C" => Out.Do(session, new Effect.StartTls(new Reply(234, "AUTH TLS ok; start the TLS handshake.")),
                result => result switch
                {
                    // No reply: the client speaks first on a fresh TLS connection.
                    EffectResult.Done => new Outcome.Respond(session with { Secure = true }, []),
                    EffectResult.Failed => new Outcome.Respond(session, [], Close: true),
                    _ => throw Unexpected(result),
                }),
            _ => Out.Reply(session, 504, $"AUTH {Reply.Sanitize(request.Argument)} is not supported; use AUTH TLS."),
        };
    }

    private static Outcome Pbsz(Context context, Session session, Request request) => session.Secure
        ? Out.Reply(session with { BufferSizeSet = true }, 200, "PBSZ=0")
        : Out.Reply(session, 503, "PBSZ needs AUTH TLS first.");

    private static Outcome Prot(Context context, Session session, Request request)
    {
        if (!session.Secure || !session.BufferSizeSet) return Out.Reply(session, 503, "PROT needs AUTH TLS and PBSZ first.");
        return request.Argument.Trim().ToUpperInvariant() switch
        {
            "P" => Out.Reply(session with { ProtectData = true }, 200, "Protection level set to P (TLS)."),
            "C" => Out.Reply(session with { ProtectData = false }, 200, "Protection level set to C (clear)."),
            "S" or "E" => Out.Reply(session, 536, $"Protection level {request.Argument.Trim().ToUpperInvariant()} is not supported."),
            _ => Out.Reply(session, 504, $"Unknown protection level \"{Reply.Sanitize(request.Argument)}\"; use P or C."),
        };
    }

    // ---- navigation and lookups ----

    /// <summary>Resolves a client path or answers 553 for one that can never be valid.</summary>
    private static Outcome WithPath(Session session, string argument, Func<string, Outcome> then)
    {
        var path = VirtualPath.Resolve(session.Directory, argument);
        return path is null ? Out.Reply(session, 553, Reasons.NameNotAllowed) : then(path);
    }

    /// <summary>Resolves a client path and looks it up: the entry, or null when nothing is there.</summary>
    private static Outcome WithEntry(Session session, string argument, Func<string, FileEntry?, Outcome> then) =>
        WithPath(session, argument, path => Lookup(session, path, entry => then(path, entry)));

    private static Outcome Lookup(Session session, string path, Func<FileEntry?, Outcome> then) =>
        Out.Do(session, new Effect.Stat(path), result => result switch
        {
            EffectResult.Stat s => then(s.Entry),
            _ => throw Unexpected(result),
        });

    /// <summary>Lists a folder, or answers 550 with the reason it could not be listed.</summary>
    private static Outcome WithListing(Session session, string path, Func<ImmutableArray<FileEntry>, Outcome> then) =>
        Out.Do(session, new Effect.List(path), result => result switch
        {
            EffectResult.Listing l => then(l.Entries),
            EffectResult.Failed f => Out.Reply(session, 550, f.Reason),
            _ => throw Unexpected(result),
        });

    /// <summary>Looks up a file: 550 when it is missing or a folder.</summary>
    private static Outcome WithFile(Session session, string argument, Func<string, FileEntry, Outcome> then) =>
        WithEntry(session, argument, (path, entry) => entry switch
        {
            null => Out.Reply(session, 550, $"{Reply.Sanitize(argument)}: No such file."),
            { IsDirectory: true } => Out.Reply(session, 550, $"{Reply.Sanitize(argument)}: Is a directory, not a file."),
            _ => then(path, entry),
        });

    private static Outcome Pwd(Context context, Session session, Request request) =>
        Out.Reply(session, 257, $"{VirtualPath.Quote(session.Directory)} is the current directory.");

    private static Outcome Cwd(Context context, Session session, Request request) =>
        WithEntry(session, request.Argument, (path, entry) => entry switch
        {
            { IsDirectory: true } => Out.Reply(session with { Directory = path }, 250, $"Directory changed to {path}."),
            null => Out.Reply(session, 550, $"{Reply.Sanitize(request.Argument)}: No such directory."),
            _ => Out.Reply(session, 550, $"{Reply.Sanitize(request.Argument)}: Not a directory."),
        });

    private static Outcome Size(Context context, Session session, Request request) =>
        WithFile(session, request.Argument, (_, entry) => Out.Reply(session, 213, entry.Size.ToString(CultureInfo.InvariantCulture)));

    // "MDTM 20201231235959 name" sets the time, as vsftpd does; a file whose whole name is "20201231235959 name" is read instead.
    private static Outcome Mdtm(Context context, Session session, Request request)
    {
        var (head, tail) = Request.SplitFirst(request.Argument);
        if (tail.Trim().Length == 0 || Listing.ParseTime(head) is not { } time)
            return WithFile(session, request.Argument, (_, entry) => Out.Reply(session, 213, Listing.Timestamp(entry.Modified)));
        return WithEntry(session, request.Argument, (_, entry) => entry switch
        {
            { IsDirectory: false } => Out.Reply(session, 213, Listing.Timestamp(entry.Modified)),
            _ when session.User!.ReadOnly => Out.Reply(session, Reply.ReadOnlyUser),
            _ => SetModified(session, tail, time, new Reply(213, "File modification time set.")),
        });
    }

    /// <summary>MFMT (draft-somers-ftp-mfxx): the time in UTC, answered with the time that was set.</summary>
    private static Outcome Mfmt(Context context, Session session, Request request)
    {
        var (head, tail) = Request.SplitFirst(request.Argument.TrimStart());
        if (tail.Trim().Length == 0 || Listing.ParseTime(head) is not { } time) return Out.Reply(session, Reply.Syntax(MfmtUsage));
        return SetModified(session, tail, time, new Reply(213, $"Modify={Listing.Timestamp(time)}; {tail}"));
    }

    /// <summary>
    /// ProFTPD's two forms: <c>SITE UTIME 202012312359[59] path</c>, and <c>SITE UTIME path atime mtime ctime UTC</c>
    /// (the form lftp and rsync-like tools send), which sets the modification time from mtime.
    /// </summary>
    private static Outcome Utime(Context context, Session session, Request request)
    {
        var text = request.Argument.Trim();
        var words = text.Split(' ');
        if (words is [.., var atime, var mtime, var ctime, var zone] && words.Length >= 5
            && zone.Equals("UTC", StringComparison.OrdinalIgnoreCase)
            && Listing.ParseTime(atime) is not null && Listing.ParseTime(mtime) is { } modified && Listing.ParseTime(ctime) is not null)
        {
            var path = text[..(text.Length - $"{atime} {mtime} {ctime} {zone}".Length)].TrimEnd();
            if (path.Length > 0) return SetModified(session, path, modified, new Reply(200, "SITE UTIME command successful."));
        }
        var (head, tail) = Request.SplitFirst(text);
        return tail.Trim().Length > 0 && head.Length is 12 or 14 && Listing.ParseTime(head, minutesOnly: true) is { } time
            ? SetModified(session, tail, time, new Reply(200, "SITE UTIME command successful."))
            : Out.Reply(session, Reply.Syntax(UtimeUsage));
    }

    private static Outcome SetModified(Session session, string argument, DateTime time, Reply success) =>
        WithPath(session, argument, path => Out.Do(session, new Effect.SetModified(path, time), result => result switch
        {
            EffectResult.Done => Out.Reply(session, success),
            EffectResult.Failed f => Out.Reply(session, 550, f.Reason),
            _ => throw Unexpected(result),
        }));

    /// <summary>SITE CHMOD: octal mode bits, less those <c>[server] chmod_mask</c> forbids; the reply names the mode set.</summary>
    private static Outcome Chmod(Context context, Session session, Request request)
    {
        if (!context.Options.UnixModes)
            return Out.Reply(session, 502,
                "SITE CHMOD is not available: this server runs on Windows, whose files have no Unix permissions.");
        var (head, tail) = Request.SplitFirst(request.Argument.TrimStart());
        if (tail.Trim().Length == 0 || Listing.ParseOctal(head) is not { } bits) return Out.Reply(session, Reply.Syntax(ChmodUsage));
        var mode = bits & ~context.Options.ChmodMask;
        return Simple(session, tail, p => new Effect.SetMode(p, mode),
            _ => new Reply(200, $"SITE CHMOD command successful; mode {Listing.Octal(mode)}."),
            "The permissions of your home folder cannot be changed.");
    }

    private static Outcome Mlst(Context context, Session session, Request request) =>
        WithEntry(session, request.HasArgument ? request.Argument : ".", (path, entry) => entry is null
            ? Out.Reply(session, 550, $"{Reply.Sanitize(request.Argument)}: No such file or directory.")
            : Out.Reply(session, new Reply(250, [$"Listing {path}", " " + Facts(session, entry with { Name = path }), "End"])));

    private static string Facts(Session session, FileEntry entry) => Listing.Facts(entry, session.Facts, session.User!.ReadOnly);

    // ---- changes to files ----

    private static Outcome Simple(Session session, string argument, Func<string, Effect> effect, Func<string, Reply> success,
        string rootMessage) =>
        WithPath(session, argument, path => path == "/"
            ? Out.Reply(session, 550, rootMessage)
            : Out.Do(session, effect(path), result => result switch
            {
                EffectResult.Done => Out.Reply(session, success(path)),
                EffectResult.Failed f => Out.Reply(session, 550, f.Reason),
                _ => throw Unexpected(result),
            }));

    private static Outcome Mkd(Context context, Session session, Request request) =>
        Simple(session, request.Argument, p => new Effect.MakeDirectory(p), p => new Reply(257, $"{VirtualPath.Quote(p)} created."),
            "The root directory already exists.");

    private static Outcome Rmd(Context context, Session session, Request request) =>
        Simple(session, request.Argument, p => new Effect.RemoveDirectory(p), _ => new Reply(250, "Directory removed."),
            "The root directory cannot be removed.");

    private static Outcome Dele(Context context, Session session, Request request) =>
        WithPath(session, request.Argument, path => path == "/"
            ? Out.Reply(session, 550, "The root directory is not a file.")
            : Out.Do(session, new Effect.DeleteFile(path), result => result switch
            {
                // Plugins hear what it held: a quota keeps its count without walking the home again.
                EffectResult.Deleted deleted =>
                    Tell(session, new PluginEvent.FileDeleted(path, deleted.Bytes), new Reply(250, "File deleted.")),
                EffectResult.Failed f => Out.Reply(session, 550, f.Reason),
                _ => throw Unexpected(result),
            }));

    private static Outcome Rnfr(Context context, Session session, Request request) =>
        WithPath(session, request.Argument, path => path == "/"
            ? Out.Reply(session, 550, "The root directory cannot be renamed.")
            : Lookup(session, path, entry => entry is null
                ? Out.Reply(session, 550, $"{Reply.Sanitize(request.Argument)}: No such file or directory.")
                : Out.Reply(session with { RenameFrom = path }, 350, "Ready for RNTO.")));

    private static Outcome Rnto(Context context, Session session, Request request)
    {
        var from = session.RenameFrom!;
        var cleared = session with { RenameFrom = null };
        return Simple(cleared, request.Argument, to => new Effect.Rename(from, to), _ => new Reply(250, "Rename successful."),
            "The root directory cannot be replaced.");
    }

    // ---- listings ----

    private static Outcome ListCommand(Context context, Session session, Request request, ListingKind kind)
    {
        // ls-style flags ("LIST -la") are common; they do not name a path.
        var argument = string.Join(' ', request.Argument.Split(' ').SkipWhile(a => a.StartsWith('-') && kind != ListingKind.Machine));
        if (DataNotReady(session) is { } notReady) return notReady;
        var (folder, pattern) = Listing.SplitPattern(argument);
        var format = new ListingFormat(kind, context.Now, session.User!.ReadOnly, session.Facts);
        return WithEntry(session, folder, (path, entry) => entry switch
        {
            null => Out.Reply(session, 550, $"{Reply.Sanitize(argument)}: No such file or directory."),
            { IsDirectory: false } when kind == ListingKind.Machine =>
                Out.Reply(session, 501, "MLSD needs a directory; use MLST for a file."),
            { IsDirectory: false } when pattern is not null => Out.Reply(session, 550, $"{Reply.Sanitize(folder)}: Not a directory."),
            // A file lists as itself: NLST names it as it was asked for, the others by its name.
            { IsDirectory: false } => Transfer(session, new Effect.SendText(
                Listing.Lines([Listing.Line(format, entry with { Name = AsListed(kind, folder, path) })!]), $"listing of {path}")),
            // A folder is listed by the shell as it reads it, with these lines: a folder of any size costs no memory here.
            _ => Transfer(session, new Effect.SendListing(path, format with { Pattern = pattern, Prefix = NamePrefix(kind, folder) })),
        });
    }

    private static string AsListed(ListingKind kind, string folder, string path) =>
        kind == ListingKind.Names ? folder : VirtualPath.Name(path);

    // NLST names what it lists the way the client asked ("d/a.txt" for "NLST d"), as vsftpd does: mget relies on it.
    private static string NamePrefix(ListingKind kind, string folder) =>
        kind == ListingKind.Names && folder.Length > 0 ? folder.TrimEnd('/') + "/" : "";

    // ---- transfers: starting one ----

    private static Outcome Retr(Context context, Session session, Request request)
    {
        if (DataNotReady(session) is { } notReady) return notReady;
        var offset = session.RestartOffset;
        var cleared = session with { RestartOffset = 0 };
        return WithFile(cleared, request.Argument, (path, entry) => offset > entry.Size
            ? Out.Reply(cleared, PastEnd(offset, entry.Size))
            : Transfer(cleared, new Effect.SendFile(path, offset, session.Type)));
    }

    private static Outcome Stor(Context context, Session session, Request request) => Store(context, session, request, WriteMode.Create);

    private static Outcome Appe(Context context, Session session, Request request) => Store(context, session, request, WriteMode.Append);

    private static Outcome Stou(Context context, Session session, Request request) => Store(context, session, request, WriteMode.Unique);

    private static Outcome Store(Context context, Session session, Request request, WriteMode requested)
    {
        if (DataNotReady(session) is { } notReady) return notReady;
        var offset = session.RestartOffset;
        var cleared = session with { RestartOffset = 0 };
        var argument = requested == WriteMode.Unique && !request.HasArgument ? "upload" : request.Argument;
        return WithEntry(cleared, argument, (path, entry) => entry is { IsDirectory: true }
            ? Out.Reply(cleared, 550, $"{Reply.Sanitize(argument)}: Is a directory.")
            : ChooseWrite(context, cleared, path, entry, requested, offset));
    }

    private static Reply PastEnd(long offset, long size) =>
        new(554, $"Restart offset {offset} is past the end of the file ({size} bytes).");

    private static Outcome ChooseWrite(Context context, Session session, string path, FileEntry? existing, WriteMode requested, long offset)
    {
        if (requested == WriteMode.Create && offset > 0 && existing is not null && offset > existing.Size)
            return Out.Reply(session, PastEnd(offset, existing.Size));
        var overwrite = context.Options.AllowOverwrite;
        var mode = requested switch
        {
            // Resuming may only continue a file, not rewrite part of it, unless overwriting is allowed.
            WriteMode.Create when offset > 0 => existing is not null && (offset == existing.Size || overwrite) ? WriteMode.Resume : null,
            WriteMode.Create when existing is null => WriteMode.Create,
            WriteMode.Create => overwrite ? WriteMode.Overwrite : (WriteMode?)null,
            _ => requested,
        };
        if (mode is not { } chosen) return Out.Reply(session, WriteRefused(path, existing, offset));
        return Transfer(session, new Effect.ReceiveFile(path, chosen, offset, session.Type));
    }

    private static Reply WriteRefused(string path, FileEntry? existing, long offset) => (existing, offset) switch
    {
        (null, _) => new(550, $"Cannot resume: {VirtualPath.Name(path)} does not exist."),
        (_, > 0) => new(550, $"{VirtualPath.Name(path)}: resuming at {offset} would overwrite data ({existing.Size} bytes exist) " +
            "and overwriting is disabled on this server."),
        _ => new(550, $"{VirtualPath.Name(path)}: File exists; overwriting is disabled on this server."),
    };

    /// <summary>The data connection is used once: the plan goes with the transfer, and the session has none after it.</summary>
    private static Outcome Transfer(Session session, Effect.Transfer transfer)
    {
        var running = transfer with { Plan = session.Data };
        return new Outcome.StartTransfer(session with { Transfer = running, Data = DataPlan.None }, running);
    }

    private static Outcome? DataNotReady(Session session) =>
        !session.PlainPermitted && !session.ProtectData ? Out.Reply(session, Reply.DataProtectionRequired)
        : session.Data is DataPlan.Unset ? Out.Reply(session, 425, "Use PORT, PASV, EPRT or EPSV first.")
        : null;

    /// <summary>The 150 that opens a transfer: a download names its size, STOU the name it will store under (RFC 1123 4.1.2.9).</summary>
    public static Reply Opening(Effect.Transfer transfer, long size = 0, string storedName = "") => transfer switch
    {
        Effect.SendFile send =>
            new(150, $"Opening {ModeName(send.Type)} mode data connection for {VirtualPath.Name(send.Path)} ({size} bytes)."),
        Effect.SendText or Effect.SendListing => new(150, "Here comes the directory listing."),
        Effect.ReceiveFile { Mode: WriteMode.Unique } => new(150, $"FILE: {storedName}"),
        Effect.ReceiveFile receive => new(150, $"Ok to send data ({ModeName(receive.Type)} mode)."),
        _ => throw new InvalidOperationException($"unknown transfer {transfer.GetType().Name}"),
    };

    private static string ModeName(TransferType type) => type == TransferType.Ascii ? "ASCII" : "BINARY";

    // ---- transfers: while one runs, and when it ends ----

    private static Outcome Abor(Context context, Session session, Request request) => session.Transfer is null
        ? Out.Reply(session, Reply.NothingToAbort)
        : Out.Do(session, new Effect.AbortTransfer(), result => Out.Map(Ended(session, result), AbortDone));

    private static Outcome AbortDone(Outcome ended) =>
        ended is Outcome.Respond r ? r with { Replies = r.Replies.Add(Reply.AbortDone) } : throw Unexpected(ended);

    private static Outcome Ended(Session session, EffectResult result)
    {
        var transfer = session.Transfer ?? throw new InvalidOperationException("no transfer is in progress");
        var after = session with { Transfer = null };
        return result switch
        {
            EffectResult.Failed f => Out.Reply(after, 550, f.Reason),
            EffectResult.Refused r => Out.Reply(after, r.Reply),
            // The 150 went out: like any positive reply, it ends a run of errors.
            EffectResult.Transferred { Completed: false } t => Out.Reply(after with { Errors = 0 }, Failure(transfer, t)),
            EffectResult.Transferred t => Delivered(session with { Errors = 0 }, transfer, t),
            _ => throw Unexpected(result),
        };
    }

    private static Outcome Delivered(Session session, Effect.Transfer transfer, EffectResult.Transferred done)
    {
        var after = session with { Transfer = null };
        return transfer switch
        {
            Effect.ReceiveFile upload => UploadEnded(session, upload, done),
            Effect.SendFile send => Tell(after, new PluginEvent.FileSent(send.Path, done.Bytes), Reply.TransferComplete),
            _ => Out.Reply(after, Reply.TransferComplete),
        };
    }

    private static Reply Failure(Effect.Transfer transfer, EffectResult.Transferred t) => t.Fault switch
    {
        TransferFault.Interrupted => Reply.TransferAborted,
        TransferFault.ReadError => new(451, "Local error: the file could not be read."),
        TransferFault.WriteError => new(451, "Local error: the file could not be written (disk full?)."),
        TransferFault.TooLarge =>
            new(552, $"{NameOf(transfer)}: Exceeded storage allocation (this upload may bring at most {t.Limit} bytes)."),
        TransferFault.NameTaken => new(451, $"{NameOf(transfer)}: File exists; overwriting is disabled on this server."),
        TransferFault.Crashed => new(451, "Local error in processing."),
        TransferFault.Unterminated => Reply.UploadNotClosed,
        _ => throw new InvalidOperationException($"not a failure: {t.Fault}"),
    };

    private static string NameOf(Effect.Transfer transfer) => transfer switch
    {
        Effect.SendFile s => VirtualPath.Name(s.Path),
        Effect.ReceiveFile r => VirtualPath.Name(r.Path),
        Effect.SendText t => t.What,
        Effect.SendListing l => $"listing of {l.Path}",
        _ => throw new InvalidOperationException($"unknown transfer {transfer.GetType().Name}"),
    };

    /// <summary>
    /// In stream mode the end of the data connection marks the end of the file, and a client that dies mid-upload closes
    /// it the same way. Its control connection goes down with it, but not always first: a killed process closes its
    /// sockets one by one, and under load the two ends can arrive milliseconds apart. So a finished upload is stored only
    /// if the control connection stays open a moment longer; a client that said QUIT meant its upload to stand.
    /// An append or resume has already written in place: it is only checked, not waited for.
    /// </summary>
    private static Outcome UploadEnded(Session session, Effect.ReceiveFile upload, EffectResult.Transferred received)
    {
        if (session.QuitSent) return Commit(session, upload);
        var inPlace = upload.Mode is WriteMode.Resume or WriteMode.Append;
        var wait = inPlace ? TimeSpan.Zero : SettleTime(received.Elapsed);
        return Out.Do(session, new Effect.WatchControl(wait), result => result switch
        {
            EffectResult.Control { Closed: true } => Discard(session, "the control connection closed with the data connection"),
            EffectResult.Control => Commit(session, upload),
            _ => throw Unexpected(result),
        });
    }

    private static Outcome Discard(Session session, string reason) =>
        Out.Do(session, new Effect.DiscardUpload(reason), _ => Out.Reply(session with { Transfer = null }, Reply.TransferAborted));

    private static Outcome Commit(Session session, Effect.ReceiveFile upload)
    {
        var after = session with { Transfer = null };
        return Out.Do(session, new Effect.CommitUpload(), result => result switch
        {
            EffectResult.Transferred { Completed: true } stored =>
                Tell(after, new PluginEvent.FileReceived(stored.StoredAs, stored.Bytes), StoredReply(upload, stored)),
            EffectResult.Transferred t => Out.Reply(after, Failure(upload, t)),
            _ => throw Unexpected(result),
        });
    }

    private static Reply StoredReply(Effect.ReceiveFile upload, EffectResult.Transferred stored) => upload.Mode == WriteMode.Unique
        ? new Reply(226, $"Transfer complete; stored as {VirtualPath.Name(stored.StoredAs)}.")
        : Reply.TransferComplete;

    /// <summary>
    /// How long a finished whole-file upload waits for a dying client's control connection to close. Bounded by the
    /// transfer's own length, so a batch of small files is not slowed much; a client is rarely killed inside a
    /// transfer that short.
    /// </summary>
    private static TimeSpan SettleTime(TimeSpan transfer) =>
        transfer < TimerTick ? TimeSpan.Zero : transfer < MaxSettleTime ? transfer : MaxSettleTime;

    private static readonly TimeSpan MaxSettleTime = TimeSpan.FromMilliseconds(50);

    // Windows timers tick every 15.6 ms: a shorter wait would last a whole tick, more than the transfer itself.
    private static readonly TimeSpan TimerTick = OperatingSystem.IsWindows() ? TimeSpan.FromMilliseconds(16) : TimeSpan.Zero;

    // ---- data connections and transfer parameters ----

    private static Outcome Rest(Context context, Session session, Request request) =>
        long.TryParse(request.Argument.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            ? Out.Reply(session with { RestartOffset = offset }, 350, $"Restarting at {offset}. Send STOR or RETR to start the transfer.")
            : Out.Reply(session, 501, "REST needs a non-negative byte offset.");

    private static Outcome TypeCommand(Context context, Session session, Request request)
    {
        var parts = request.Argument.Trim().ToUpperInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts switch
        {
            ["A"] or ["A", "N"] => Out.Reply(session with { Type = TransferType.Ascii }, 200, "Type set to A."),
            ["I"] or ["L", "8"] => Out.Reply(session with { Type = TransferType.Binary }, 200, "Type set to I."),
            _ => Out.Reply(session, 504, $"Type \"{Reply.Sanitize(request.Argument)}\" is not supported; use A or I."),
        };
    }

    private static Outcome Mode(Context context, Session session, Request request) =>
        request.Argument.Trim().Equals("S", StringComparison.OrdinalIgnoreCase)
            ? Out.Reply(session, 200, "Mode set to S.")
            : Out.Reply(session, 504, "Only mode S is supported.");

    private static Outcome Stru(Context context, Session session, Request request) =>
        request.Argument.Trim().Equals("F", StringComparison.OrdinalIgnoreCase)
            ? Out.Reply(session, 200, "Structure set to F.")
            : Out.Reply(session, 504, "Only structure F is supported.");

    private static Outcome Pasv(Context context, Session session, Request request)
    {
        if (session.EpsvOnly) return Out.Reply(session, 503, "EPSV ALL is in effect: only EPSV is accepted.");
        if (DataAddress.IsIPv6(session.Local.Address))
            return Out.Reply(session, 522, "PASV is IPv4 only; this connection is IPv6. Use EPSV. (1)");
        return Passive(session, extended: false);
    }

    private static Outcome Epsv(Context context, Session session, Request request)
    {
        var argument = request.Argument.Trim().ToUpperInvariant();
        var v6 = DataAddress.IsIPv6(session.Local.Address);
        return argument switch
        {
            "ALL" => Out.Reply(session with { EpsvOnly = true }, 200, "EPSV ALL ok: only EPSV from now on."),
            "" => Passive(session, extended: true),
            "1" when !v6 => Passive(session, extended: true),
            "2" when v6 => Passive(session, extended: true),
            "1" or "2" => Out.Reply(session, 522, $"Network protocol not supported on this connection, use ({(v6 ? 2 : 1)})"),
            _ => Out.Reply(session, 501, "EPSV takes 1, 2 or ALL."),
        };
    }

    /// <summary>A new passive listener replaces the plan, whatever it was; when none can be opened there is no plan left.</summary>
    private static Outcome Passive(Session session, bool extended) =>
        Out.Do(session, new Effect.OpenPassive(), result => result switch
        {
            EffectResult.Listening l => Out.Reply(session with { Data = new DataPlan.Passive(l.Endpoint) }, extended
                ? new Reply(229, $"Entering Extended Passive Mode (|||{l.Endpoint.Port}|).")
                : new Reply(227, DataAddress.Pasv(l.Advertised, l.Endpoint.Port))),
            EffectResult.Failed f => Out.Reply(session with { Data = DataPlan.None }, 425, f.Reason),
            _ => throw Unexpected(result),
        });

    private static Outcome Allo(Context context, Session session, Request request) =>
        Out.Reply(session, 202, "No storage allocation necessary.");

    private static Outcome Port(Context context, Session session, Request request) =>
        Active(session, DataAddress.ParsePort(request.Argument), "PORT");

    private static Outcome Eprt(Context context, Session session, Request request) =>
        Active(session, DataAddress.ParseEprt(request.Argument), "EPRT");

    private static Outcome Active(Session session, IPEndPoint? target, string verb)
    {
        if (session.EpsvOnly) return Out.Reply(session, 503, "EPSV ALL is in effect: only EPSV is accepted.");
        if (target is null)
            return Out.Reply(session, 501, verb == "PORT"
                ? "PORT needs h1,h2,h3,h4,p1,p2."
                : "EPRT needs |1|address|port| or |2|address|port|.");
        // Connecting anywhere but back to the client would let it use us to attack third parties (FTP bounce).
        if (!DataAddress.SameHost(target.Address, session.Remote.Address))
        {
            var own = Addresses.Normalize(session.Remote.Address);
            return Out.Reply(session, 500, $"{verb} refused: the data address must be your own ({own}).");
        }
        if (target.Port < 1024) return Out.Reply(session, 500, $"{verb} refused: ports below 1024 are not allowed.");
        return Out.Reply(session with { Data = new DataPlan.Active(target) }, 200, $"{verb} command successful.");
    }

    // ---- administration ----

    private static Outcome Administer(Session session, Request request, AdminAction action, string usage)
    {
        var parts = request.Argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var arity = action == AdminAction.AddUser ? 2 : 1;
        if (parts.Length != arity) return Out.Reply(session, Reply.Syntax(usage));
        if (!UserNames.IsValid(parts[0])) return Out.Reply(session, new Reply(501, $"Invalid user name: {UserNames.Rule}. Usage: {usage}"));
        return Out.Do(session, new Effect.Administer(action, parts[0], arity == 2 ? parts[1] : null), result => result switch
        {
            EffectResult.Done d => Out.Reply(session, 200, d.Detail),
            EffectResult.Failed f => Out.Reply(session, 550, f.Reason),
            _ => throw Unexpected(result),
        });
    }

    private static Outcome ListBans(Context context, Session session, Request request) =>
        Out.Do(session, new Effect.ListBans(), result => result switch
        {
            EffectResult.Bans bans => Out.Reply(session, BanList(bans.Active, context.Now)),
            _ => throw Unexpected(result),
        });

    // One line per address, soonest to end first.
    private static Reply BanList(ImmutableArray<AddressBan> bans, DateTimeOffset now)
    {
        if (bans.IsEmpty) return new Reply(211, "No address is banned.");
        var lines = bans.Select(ban => $" {ban.Address,-15} until {ban.Until.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z "
            + $"({Left(ban.Until - now)} left), offence {ban.Offences}: too many failed logins");
        return new Reply(211, [.. lines.Prepend($"{bans.Length} banned address(es):").Append("End of bans.")]);
    }

    private static string Left(TimeSpan left)
    {
        var seconds = (long)Math.Ceiling(Math.Max(left.TotalSeconds, 0));
        var (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
        return days > 0 ? $"{days}d {hours}h {minutes}m" : hours > 0 ? $"{hours}h {minutes}m" : $"{minutes}m {seconds % 60}s";
    }

    private static Outcome UnbanAddress(Session session, Request request, string usage)
    {
        var text = request.Argument.Trim();
        if (text.Contains(' ')) return Out.Reply(session, Reply.Syntax(usage));
        if (!Addresses.TryParse(text, out var parsed))
        {
            var example = "e.g. 192.0.2.7 or 2001:db8::7";
            return Out.Reply(session, 501, $"\"{Reply.Sanitize(text)}\" is not an IP address ({example}). Usage: {usage}");
        }
        var address = Addresses.Normalize(parsed);
        return Out.Do(session, new Effect.LiftBan(address), result => result switch
        {
            EffectResult.BanLifted { WasBanned: true } => Out.Reply(session, 200, $"Ban of {address} lifted."),
            EffectResult.BanLifted => Out.Reply(session, 550, $"{address} is not banned."),
            _ => throw Unexpected(result),
        });
    }

    // ---- plugins ----

    /// <summary>
    /// A table entry whose handler is a plugin's: the shell runs it; a null reply means "do what the replaced entry does".
    /// </summary>
    public static Command PluginCommand(string verb, Access access, string usage, string help, string origin, PluginHandler handler,
        string? feature = null) =>
        new(verb, access, usage, help, (context, session, request) =>
            Out.Do(session, new Effect.RunPlugin(origin, request, handler) { Choices = session.Choices }, result => result switch
            {
                EffectResult.PluginReply { Reply: { } reply } answer => Out.Reply(Chosen(session, answer), reply),
                EffectResult.PluginReply answer => Replaced(context, Chosen(session, answer), request),
                _ => throw Unexpected(result),
            }))
        { Origin = origin, Feature = feature };

    private static Session Chosen(Session session, EffectResult.PluginReply answer) =>
        answer.Choices is { } choices ? session with { Choices = choices } : session;

    private static Outcome Replaced(Context context, Session session, Request request) =>
        context.Commands.Find(request.Verb)?.Replaced is { } builtIn
            ? Run(builtIn, context, session, request)
            : Out.Reply(session, Reply.Unknown(request.Verb));

    /// <summary>The exception for an effect answered with a result of the wrong kind: a bug in the shell.</summary>
    public static InvalidOperationException Unexpected(EffectResult result) => new($"unexpected effect result {result.GetType().Name}");

    private static InvalidOperationException Unexpected(Outcome outcome) => new($"unexpected outcome {outcome.GetType().Name}");
}
