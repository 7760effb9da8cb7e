using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ScriptFtp.Toml;
using Serilog;

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
    // Keeps the password hash out of log messages and debugger output.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture,
            $"Name = {Name}, Home = {Home}, Admin = {Admin}, Banned = {Banned}, ReadOnly = {ReadOnly}");
        return true;
    }
}

/// <summary>Password hashing (PBKDF2-HMAC-SHA256) and constant-time verification.</summary>
internal static class Passwords
{
    public const string Prefix = "pbkdf2-sha256$";
    public const int Iterations = 100_000;
    public const int SaltBytes = 16;
    public const int HashBytes = 32;
    private const int MaxIterations = 10_000_000; // a hand-edited absurd value must not stall logins forever
    private const int MaxHashBytes = 64;

    private static readonly Lazy<string> s_dummy = new(() => Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(18))));

    /// <summary>A valid hash of a random password, used to spend the same time on unknown user names.</summary>
    public static string DummyHash => s_dummy.Value;

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

/// <summary>
/// The user database, backed by <c>users.toml</c>. Readers see an immutable snapshot (<see cref="Users"/>);
/// changes are serialized, applied as minimal edits to the last-read text (keeping comments and layout),
/// and written atomically. Hand edits of the file are picked up while the server runs.
/// </summary>
internal sealed class UserStore : IDisposable
{
    private static readonly TimeSpan DebounceDelay = TimeSpan.FromMilliseconds(200);
    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private readonly string _path;
    private readonly string _fileName;
    private readonly string _directory;
    private readonly string _root;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Timer _debounce;

    private ImmutableDictionary<string, UserAccount> _users = ImmutableDictionary<string, UserAccount>.Empty.WithComparers(StringComparer.Ordinal);

    // Guarded by _gate:
    private TomlDocument _document = null!;
    private volatile bool _hashingFailed;
    private string? _badText;              // last text on disk that failed to load (not reported twice)
    private string? _badReason;
    private bool _missingReported;
    private FileSystemWatcher? _watcher;
    private volatile bool _disposed;

    private UserStore(string path, string root, ILogger log)
    {
        _path = path;
        _fileName = Path.GetFileName(path);
        _directory = Path.GetDirectoryName(path)!;
        _root = root;
        _log = log;
        _debounce = new Timer(_ => ReloadFromWatcher(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Current users by exact (case-sensitive) name. Never mutated; replaced as a whole on change.</summary>
    public ImmutableDictionary<string, UserAccount> Users => Volatile.Read(ref _users);

    /// <summary>
    /// Raised after every successful change or reload with the new snapshot. Runs while the store's write lock is
    /// held (so notifications arrive in order): handlers must be quick and must not block on store commands.
    /// </summary>
    public event Action<ImmutableDictionary<string, UserAccount>>? Changed;

    /// <summary>
    /// Loads <paramref name="usersPath"/> (a missing file means no users), creates missing home folders under
    /// <paramref name="rootDirectory"/> and starts watching the file for hand edits.
    /// </summary>
    /// <exception cref="TomlException">The file has a syntax error or an invalid/unknown entry.</exception>
    public static UserStore Open(string usersPath, string rootDirectory, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(usersPath);
        ArgumentNullException.ThrowIfNull(rootDirectory);
        ArgumentNullException.ThrowIfNull(log);
        var path = Path.GetFullPath(usersPath);
        var root = Path.GetFullPath(rootDirectory);
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);

        var store = new UserStore(path, root, log.ForContext<UserStore>());
        try
        {
            var text = ReadTextOrNull(path);
            if (text is null)
                store._log.Warning("Users file {Path} does not exist; starting with no users", path);
            var users = store.Load(text ?? "");
            store._missingReported = text is null;
            store.StartWatching();
            store._log.Information("Loaded {Count} users from {Path}", users.Count, path);
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The absolute physical home folder of <paramref name="user"/>. The <c>home</c> value is always relative to the
    /// root (a leading '/' is allowed and means the root).
    /// </summary>
    /// <exception cref="InvalidOperationException">The home folder would lie outside the server root.</exception>
    public string HomePath(UserAccount user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return ResolveHome(user.Home)
            ?? throw new InvalidOperationException($"The home folder of user {user.Name} lies outside the server root.");
    }

    /// <summary>
    /// Checks a login. Spends the same time whether or not the user exists. A banned user gets
    /// <see cref="AuthStatus.Banned"/> only after giving the right password (the ban is not revealed to guessers).
    /// </summary>
    public (AuthStatus Status, UserAccount? User) Authenticate(string name, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        var users = Users;
        if (name is null || !users.TryGetValue(name, out var user))
        {
            Passwords.Verify(Passwords.DummyHash, password);
            return (AuthStatus.BadCredentials, null);
        }
        var ok = Passwords.Verify(user.PasswordHash, password);
        if (Passwords.IsPlainText(user.PasswordHash))
            Passwords.Verify(Passwords.DummyHash, password); // same cost as a hashed password
        if (!ok)
            return (AuthStatus.BadCredentials, null);
        return user.Banned ? (AuthStatus.Banned, user) : (AuthStatus.Ok, user);
    }

    /// <summary>
    /// Replaces a hand-written plain-text password with its hash, after <paramref name="name"/> logged in with it.
    /// Does nothing when the stored password has changed meanwhile (an edit or another session got there first).
    /// </summary>
    public async Task<AdminResult> StoreHashedAsync(string name, string password)
    {
        if (!Users.TryGetValue(name, out var before) || !Passwords.IsPlainText(before.PasswordHash))
            return new AdminResult(true, $"The password of {name} is already hashed.");
        // One logged failure is enough: a users file that cannot be written stays so until someone fixes it.
        if (_hashingFailed)
            return new AdminResult(false, "The users file could not be written before; passwords are left as they are.");
        var hash = Passwords.Hash(password); // expensive: done outside the lock
        var result = await ChangeAsync(name, "hash a plain-text password", users =>
        {
            if (!users.TryGetValue(name, out var user) || user.PasswordHash != before.PasswordHash)
                return Step.Refuse(new AdminResult(true, $"The password of {name} changed meanwhile; left as it is."));
            return Step.Apply(doc => doc.Set(["users", name], "password", hash), $"The password of {name} is now stored hashed.");
        }).ConfigureAwait(false);
        _hashingFailed = !result.Ok;
        return result;
    }

    /// <summary>
    /// Adds a user with home folder = the user name. Authorization (is <paramref name="actingAdmin"/> an admin?) is the
    /// caller's job; the store only uses the name for the self-protection rules and the log.
    /// </summary>
    public async Task<AdminResult> AddUserAsync(string actingAdmin, string name, string password)
    {
        if (!UserNames.IsValid(name))
            return new AdminResult(false, $"Invalid user name: {UserNames.Rule}.");
        if (string.IsNullOrEmpty(password))
            return new AdminResult(false, "The password must not be empty.");
        if (Users.ContainsKey(name))
            return Exists(name);

        var hash = Passwords.Hash(password); // expensive: done outside the lock
        return await ChangeAsync(actingAdmin, "add user", users =>
        {
            if (users.ContainsKey(name))
                return Step.Refuse(Exists(name));
            var existed = Directory.Exists(ResolveHome(name));
            return Step.Apply(
                doc => doc.AddTable(["users", name],
                [
                    new("password", hash),
                    new("home", name),
                    new("admin", false),
                    new("banned", false),
                    new("read_only", false),
                ]),
                existed
                    ? $"User {name} added; the existing folder {name} is reused as the home folder."
                    : $"User {name} added with home folder {name}.");
        }).ConfigureAwait(false);

        static AdminResult Exists(string name) => new(false, $"User {name} already exists.");
    }

    /// <summary>Deletes a user from the file; the user's files are kept.</summary>
    public Task<AdminResult> DeleteUserAsync(string actingAdmin, string name) =>
        ChangeAsync(actingAdmin, "delete user", users =>
        {
            if (!users.TryGetValue(name ?? "", out var user))
                return Step.Refuse(NoSuchUser(name));
            if (name == actingAdmin)
                return Step.Refuse(new AdminResult(false, "You cannot delete your own account."));
            if (IsLastActiveAdmin(users, user))
                return Step.Refuse(new AdminResult(false, $"Cannot delete {name}: it is the last admin."));
            return Step.Apply(doc => doc.RemoveTable(["users", name!]),
                $"User {name} deleted; their files in {user.Home} were kept.");
        });

    /// <summary>Bans a user (they can no longer log in; the server ends their sessions on <see cref="Changed"/>).</summary>
    public Task<AdminResult> BanAsync(string actingAdmin, string name) =>
        ChangeAsync(actingAdmin, "ban user", users =>
        {
            if (!users.TryGetValue(name ?? "", out var user))
                return Step.Refuse(NoSuchUser(name));
            if (name == actingAdmin)
                return Step.Refuse(new AdminResult(false, "You cannot ban yourself."));
            if (user.Banned)
                return Step.Refuse(new AdminResult(true, $"User {name} is already banned."));
            if (IsLastActiveAdmin(users, user))
                return Step.Refuse(new AdminResult(false, $"Cannot ban {name}: it is the last admin."));
            return Step.Apply(doc => doc.Set(["users", name!], "banned", true), $"User {name} banned.");
        });

    /// <summary>Lifts a ban.</summary>
    public Task<AdminResult> UnbanAsync(string actingAdmin, string name) =>
        ChangeAsync(actingAdmin, "unban user", users =>
        {
            if (!users.TryGetValue(name ?? "", out var user))
                return Step.Refuse(NoSuchUser(name));
            if (!user.Banned)
                return Step.Refuse(new AdminResult(true, $"User {name} is not banned."));
            return Step.Apply(doc => doc.Set(["users", name!], "banned", false), $"User {name} unbanned.");
        });

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _watcher?.Dispose();
        _debounce.Dispose();
    }

    // ---------------------------------------------------------------- changes

    /// <summary>What an admin command decided, given the current users: refuse, or apply an edit.</summary>
    private readonly record struct Step(AdminResult? Refusal, Func<TomlDocument, TomlDocument>? Edit, string Message)
    {
        public static Step Refuse(AdminResult result) => new(result, null, result.Message);
        public static Step Apply(Func<TomlDocument, TomlDocument> edit, string message) => new(null, edit, message);
    }

    private static AdminResult NoSuchUser(string? name) => new(false, $"No such user: {UserNames.Display(name)}.");

    private static bool IsLastActiveAdmin(ImmutableDictionary<string, UserAccount> users, UserAccount target) =>
        target.Admin && !target.Banned && !users.Values.Any(u => u.Admin && !u.Banned && u.Name != target.Name);

    private async Task<AdminResult> ChangeAsync(string actingAdmin, string what, Func<ImmutableDictionary<string, UserAccount>, Step> plan)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // A hand edit may have landed since the last reload (the watcher is debounced): never overwrite it.
            if (!SyncFromDiskLocked(out var syncProblem))
                return new AdminResult(false, syncProblem!);

            var (refusal, edit, success) = plan(_users);
            if (refusal is not null)
                return refusal;
            if (edit is null)
                throw new InvalidOperationException("A change plan must refuse or edit.");

            TomlDocument next;
            ImmutableDictionary<string, UserAccount> users;
            try
            {
                next = edit(_document);
                users = ReadUsers(next.Model);
            }
            catch (Exception ex) when (ex is TomlException or InvalidOperationException or ArgumentException)
            {
                _log.Error(ex, "Cannot {What}: editing {Path} failed", what, _path);
                return new AdminResult(false, $"Cannot {what}: the users file could not be edited ({ex.Message}).");
            }

            var text = next.ToString();
            try
            {
                WriteAtomically(text);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _log.Error(ex, "Cannot {What}: writing {Path} failed", what, _path);
                return new AdminResult(false, $"Cannot {what}: the users file could not be written.");
            }

            Install(next, users, loadedFromDisk: false);
            _log.Information("{Admin} did {What}: {Message}", UserNames.Display(actingAdmin), what, success);
            return new AdminResult(true, success);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Writes to a temp file in the same folder, flushes it to disk and renames it over the users file.</summary>
    private void WriteAtomically(string text)
    {
        var temp = Path.Combine(_directory, $".{_fileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            UnixFileMode? mode = null;
            if (!OperatingSystem.IsWindows())
            {
                // Keep the permissions an admin gave the file; a new file (it holds hashes) is private to us.
                mode = File.Exists(_path) ? File.GetUnixFileMode(_path) : UnixFileMode.UserRead | UnixFileMode.UserWrite;
                options.UnixCreateMode = mode;
            }
            using (var stream = new FileStream(temp, options))
            {
                if (mode is { } exact && !OperatingSystem.IsWindows())
                    File.SetUnixFileMode(stream.SafeFileHandle, exact); // the create mode is subject to the umask
                var bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, _path, overwrite: true);
            FlushDirectory(_directory);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    // POSIX: a rename is durable only once the folder holding it is flushed too; without it a power cut right after an
    // admin command can bring back the old users file (never a broken one: that is the temp file and rename's job).
    private static void FlushDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
            return;
        try
        {
            var fd = Posix.Open(directory, 0 /* O_RDONLY */);
            if (fd < 0)
                return;
            try { _ = Posix.Fsync(fd); }
            finally { _ = Posix.Close(fd); }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No C library by that name here: the file is written and renamed all the same, only less durably.
        }
    }

    private static class Posix
    {
        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags);

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int fd);

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }

    // ---------------------------------------------------------------- loading

    private void StartWatching()
    {
        var watcher = new FileSystemWatcher(_directory, _fileName)
        {
            IncludeSubdirectories = false,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        watcher.Changed += OnFileEvent;
        watcher.Created += OnFileEvent;
        watcher.Deleted += OnFileEvent;
        watcher.Renamed += OnFileEvent;
        watcher.Error += (_, e) =>
        {
            _log.Warning(e.GetException(), "Watching {Path} failed; rechecking the file", _path);
            Poke();
        };
        watcher.EnableRaisingEvents = true;
        _watcher = watcher;
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        // Only the users file itself (a rename-into-place reports the new name; a rename away the old one).
        var ours = string.Equals(e.Name, _fileName, PathComparison)
                   || (e is RenamedEventArgs r && string.Equals(r.OldName, _fileName, PathComparison));
        if (ours)
            Poke();
    }

    private void Poke()
    {
        if (_disposed)
            return;
        try
        {
            _debounce.Change(DebounceDelay, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void ReloadFromWatcher()
    {
        if (_disposed)
            return;
        _gate.Wait();
        try
        {
            if (!_disposed)
                SyncFromDiskLocked(out _);
        }
        catch (Exception ex)
        {
            _log.Error(ex, "Reloading {Path} failed; keeping the last loaded users", _path);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Loads the file if its text differs from what we last loaded or wrote. Returns false (with a message for the
    /// admin) when the file on disk is broken, in which case the last good users stay in effect.
    /// </summary>
    private bool SyncFromDiskLocked(out string? problem)
    {
        problem = null;
        string? text = null;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                text = ReadTextOrNull(_path);
                break;
            }
            catch (IOException) when (attempt < 5)
            {
                Thread.Sleep(50); // an editor may still hold the file
            }
        }

        if (string.IsNullOrEmpty(text))
        {
            // Deleted, or truncated by an editor that is still writing: keep what we have; our next write
            // recreates the file. (To remove every user on purpose, leave at least a comment in the file.)
            if (!_missingReported)
            {
                _log.Warning("Users file {Path} is missing; keeping the last loaded users", _path);
                _missingReported = true;
            }
            return true;
        }
        _missingReported = false;
        if (text == _document.ToString())
        {
            _badText = null;
            _badReason = null;
            return true;
        }
        if (text == _badText)
        {
            problem = BrokenMessage();
            return false;
        }

        try
        {
            var users = Load(text);
            _log.Information("Reloaded {Count} users from {Path} after it changed on disk", users.Count, _path);
            return true;
        }
        catch (Exception ex) when (ex is TomlException or InvalidOperationException)
        {
            _badText = text;
            _badReason = ex.Message;
            _log.Error("Ignoring the changed users file, keeping the last good users: {Error}", ex.Message);
            problem = BrokenMessage();
            return false;
        }
    }

    private string BrokenMessage() =>
        $"The users file has an error and must be fixed first: {_badReason}";

    /// <summary>Parses text read from disk and puts its users in force.</summary>
    private ImmutableDictionary<string, UserAccount> Load(string text)
    {
        var document = TomlDocument.Parse(text, _path);
        var users = ReadUsers(document.Model);
        Install(document, users, loadedFromDisk: true);
        return users;
    }

    private void Install(TomlDocument document, ImmutableDictionary<string, UserAccount> users, bool loadedFromDisk)
    {
        _document = document;
        _badText = null;
        _badReason = null;
        if (loadedFromDisk)
        {
            foreach (var user in users.Values.Where(u => Passwords.IsPlainText(u.PasswordHash)))
            {
                _log.Warning("User {User} has a plain-text password in {Path}; it is replaced by its hash at their next login",
                    user.Name, _path);
            }
        }
        foreach (var user in users.Values)
        {
            var home = HomePath(user);
            try
            {
                Directory.CreateDirectory(home);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _log.Error(ex, "Cannot create the home folder {Home} of user {User}", home, user.Name);
            }
        }
        Volatile.Write(ref _users, users);

        var handlers = Changed;
        if (handlers is null)
            return;
        foreach (var handler in handlers.GetInvocationList().Cast<Action<ImmutableDictionary<string, UserAccount>>>())
        {
            try
            {
                handler(users);
            }
            catch (Exception ex)
            {
                _log.Error(ex, "A users-changed handler failed");
            }
        }
    }

    /// <summary>Builds the snapshot from a parsed file; throws <see cref="TomlException"/> on any invalid entry.</summary>
    private ImmutableDictionary<string, UserAccount> ReadUsers(TomlTable model)
    {
        var root = new TomlTableReader(model, _path);
        var builder = ImmutableDictionary.CreateBuilder<string, UserAccount>(StringComparer.Ordinal);
        var usersTable = root.Table("users");
        if (usersTable is not null)
        {
            foreach (var (name, reader) in usersTable.Tables())
            {
                if (!UserNames.IsValid(name))
                    throw usersTable.Error(name, $"invalid user name \"{name}\": {UserNames.Rule}");

                var password = reader.OptionalString("password")
                    ?? throw reader.Error("password", "the user has no password");
                if (password.Length == 0)
                    throw reader.Error("password", "the password must not be empty");
                if (!Passwords.IsPlainText(password) && !Passwords.IsWellFormedHash(password))
                    throw reader.Error("password",
                        $"malformed password hash (expected {Passwords.Prefix}<iterations>$<base64 salt>$<base64 hash>)");

                var home = reader.String("home", name);
                if (home.Length == 0)
                    throw reader.Error("home", "the home folder must not be empty (use \"/\" for the server root)");
                if (ResolveHome(home) is null)
                    throw reader.Error("home", "the home folder must lie inside the server root");

                var user = new UserAccount(
                    name,
                    password,
                    home,
                    Admin: reader.Boolean("admin", false),
                    Banned: reader.Boolean("banned", false),
                    ReadOnly: reader.Boolean("read_only", false));
                reader.RejectUnknown();
                builder[name] = user;
            }
            usersTable.RejectUnknown();
        }
        root.RejectUnknown();
        return builder.ToImmutable();
    }

    /// <summary>The absolute home path, or null when it would escape the root.</summary>
    private string? ResolveHome(string home)
    {
        if (home.IndexOf('\0') >= 0)
            return null;
        var relative = home.TrimStart('/', '\\');
        string full;
        try
        {
            full = Path.GetFullPath(Path.Combine(_root, relative));
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }
        var root = Path.TrimEndingDirectorySeparator(_root);
        var trimmed = Path.TrimEndingDirectorySeparator(full);
        if (string.Equals(trimmed, root, PathComparison))
            return full;
        var prefix = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        return full.StartsWith(prefix, PathComparison) ? full : null;
    }

    private static string? ReadTextOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path, Encoding.UTF8);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }
}
