using System.Collections.Immutable;
using System.Text;
using ScriptFtp.Toml;
using Serilog;

namespace ScriptFtp;

/// <summary>
/// The user database, backed by <c>users.toml</c>. Readers see an immutable snapshot (<see cref="Users"/>);
/// changes are serialized, applied as minimal edits to the last-read text (keeping comments and layout),
/// and written atomically. Hand edits of the file are picked up while the server runs.
/// </summary>
internal sealed class UserStore : IDisposable
{
    // One entry per user remembered, about 200 bytes each: ten thousand users take 2 MiB at most.
    private const int MaxRemembered = 10_000;

    private static readonly TimeSpan _debounceDelay = TimeSpan.FromMilliseconds(200);
    private static readonly StringComparison _pathComparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private readonly string _path;
    private readonly string _fileName;
    private readonly HomeFolders _homes;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSlots _hashing = HashSlots.PerCore();
    private readonly VerificationCache _verified = new(MaxRemembered);

    private ImmutableDictionary<string, UserAccount> _users =
        ImmutableDictionary<string, UserAccount>.Empty.WithComparers(StringComparer.Ordinal);

    // Guarded by _gate:
    private UsersFile _file = null!;
    private volatile bool _hashingFailed;
    private string? _badText;              // last text on disk that failed to load (not reported twice)
    private string? _badReason;
    private bool _missingReported;
    private DebouncedWatcher? _watcher;
    private volatile bool _disposed;

    private UserStore(string path, HomeFolders homes, ILogger log)
    {
        _path = path;
        _fileName = Path.GetFileName(path);
        _homes = homes;
        _log = log;
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
        var homes = new HomeFolders(rootDirectory);
        Directory.CreateDirectory(homes.Root);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);

        var store = new UserStore(path, homes, log.ForContext<UserStore>());
        try
        {
            var text = ReadTextOrNull(path);
            if (text is null)
                store._log.Warning("Users file {Path} does not exist; starting with no users", path);
            var users = store.Load(text ?? "");
            store.ReleaseSyntaxTreeLocked();
            store._missingReported = text is null;
            store.StartWatching();
            // Made now, not at the first unknown name: that login would take two hashes and so tell the name is unknown.
            _ = Passwords.DummyHash;
            store._hashing.GiveBackWhenIdle();
            store._log.Information("Loaded {Count} users from {Path}", users.Count, path);
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>The absolute physical home folder of <paramref name="user"/>.</summary>
    /// <exception cref="InvalidOperationException">The home folder would lie outside the server root.</exception>
    public string HomePath(UserAccount user) => _homes.PathOf(user);

    /// <summary>
    /// <see cref="Authenticate"/>. A password already proved right for the user's current record is answered at once from
    /// the verification cache; any other check runs on the thread pool, with at most one hash per core running at once
    /// (the rest wait without a thread), so that a burst of logins neither blocks the sockets' threads nor takes 19 MiB
    /// per attempt.
    /// </summary>
    public Task<(AuthStatus Status, UserAccount? User)> AuthenticateAsync(string name, string password, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(password);
        return Remembered(name, password) is { } known
            ? Task.FromResult(known)
            : _hashing.RunAsync(() => Authenticate(name, password), cancel);
    }

    /// <summary>
    /// Checks a login, on the calling thread (see <see cref="AuthenticateAsync"/>). Unless the password was already proved
    /// right for the user's current record, spends at least the time of one current hash whether or not the user exists,
    /// and remembers a success. A banned user gets <see cref="AuthStatus.Banned"/> only after giving the right password
    /// (the ban is not revealed to guessers).
    /// </summary>
    public (AuthStatus Status, UserAccount? User) Authenticate(string name, string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (Remembered(name, password) is { } known)
            return known;
        var users = Users;
        if (name is null || !users.TryGetValue(name, out var user))
        {
            Passwords.Verify(Passwords.DummyHash, password);
            return (AuthStatus.BadCredentials, null);
        }
        var ok = Passwords.Verify(user.PasswordHash, password);
        if (Passwords.NeedsRehash(user.PasswordHash))
            Passwords.Verify(Passwords.DummyHash, password); // plain text or an old hash: at least the cost of a current one
        if (!ok)
            return (AuthStatus.BadCredentials, null);
        _verified.Remember(user, password);
        return Outcome(user);
    }

    /// <summary>How many users have a remembered password (for tests and diagnostics).</summary>
    public int RememberedCount => _verified.Count;

    /// <summary>The outcome for a password already proved right for the user's current record; null otherwise.</summary>
    private (AuthStatus Status, UserAccount? User)? Remembered(string? name, string password) =>
        name is not null && Users.TryGetValue(name, out var user) && _verified.IsVerified(user, password) ? Outcome(user) : null;

    private static (AuthStatus Status, UserAccount? User) Outcome(UserAccount user) =>
        user.Banned ? (AuthStatus.Banned, user) : (AuthStatus.Ok, user);

    /// <summary>
    /// Replaces a stored password that <see cref="Passwords.NeedsRehash"/> (hand-written plain text, an old PBKDF2 hash)
    /// with a current hash, after <paramref name="name"/> logged in with it. Does nothing when the stored password has
    /// changed meanwhile (an edit or another session got there first).
    /// </summary>
    public async Task<AdminResult> RehashAsync(string name, string password)
    {
        if (!Users.TryGetValue(name, out var before) || !Passwords.NeedsRehash(before.PasswordHash))
            return new AdminResult(true, $"The password of {name} is already hashed at the current strength.");
        // One logged failure is enough: a users file that cannot be written stays so until someone fixes it.
        if (_hashingFailed)
            return new AdminResult(false, "The users file could not be written before; passwords are left as they are.");
        var hash = await _hashing.RunAsync(() => Passwords.Hash(password)); // expensive: done outside the lock
        var result = await ChangeAsync(name, "rehash a password", users =>
        {
            if (!users.TryGetValue(name, out var user) || user.PasswordHash != before.PasswordHash)
                return Step.Refuse(new AdminResult(true, $"The password of {name} changed meanwhile; left as it is."));
            return Step.Apply(file => file.SetKey(name, "password", hash), $"The password of {name} is now stored as an Argon2id hash.");
        });
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

        var hash = await _hashing.RunAsync(() => Passwords.Hash(password)); // expensive: done outside the lock
        return await ChangeAsync(actingAdmin, "add user", users =>
        {
            if (users.ContainsKey(name))
                return Step.Refuse(Exists(name));
            var existed = Directory.Exists(_homes.Resolve(name));
            return Step.Apply(
                file => file.AddUser(name, hash),
                existed
                    ? $"User {name} added; the existing folder {name} is reused as the home folder."
                    : $"User {name} added with home folder {name}.");
        });

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
            return Step.Apply(file => file.RemoveUser(name!), $"User {name} deleted; their files in {user.Home} were kept.");
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
            return Step.Apply(file => file.SetKey(name!, "banned", true), $"User {name} banned.");
        });

    /// <summary>Lifts a ban.</summary>
    public Task<AdminResult> UnbanAsync(string actingAdmin, string name) =>
        ChangeAsync(actingAdmin, "unban user", users =>
        {
            if (!users.TryGetValue(name ?? "", out var user))
                return Step.Refuse(NoSuchUser(name));
            if (!user.Banned)
                return Step.Refuse(new AdminResult(true, $"User {name} is not banned."));
            return Step.Apply(file => file.SetKey(name!, "banned", false), $"User {name} unbanned.");
        });

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _watcher?.Dispose();
        _hashing.Dispose();
    }

    // ---------------------------------------------------------------- changes

    /// <summary>What an admin command decided, given the current users: refuse, or apply an edit.</summary>
    private readonly record struct Step(AdminResult? Refusal, Func<UsersFile, UsersFile>? Edit, string Message)
    {
        public static Step Refuse(AdminResult result) => new(result, null, result.Message);
        public static Step Apply(Func<UsersFile, UsersFile> edit, string message) => new(null, edit, message);
    }

    private static AdminResult NoSuchUser(string? name) => new(false, $"No such user: {UserNames.Display(name)}.");

    private static bool IsLastActiveAdmin(ImmutableDictionary<string, UserAccount> users, UserAccount target) =>
        target.Admin && !target.Banned && !users.Values.Any(u => u.Admin && !u.Banned && u.Name != target.Name);

    private async Task<AdminResult> ChangeAsync(string actingAdmin, string what, Func<ImmutableDictionary<string, UserAccount>, Step> plan)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _gate.WaitAsync();
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
            return await ApplyLockedAsync(actingAdmin, what, edit, success);
        }
        finally
        {
            ReleaseSyntaxTreeLocked();
            _gate.Release();
        }
    }

    private async Task<AdminResult> ApplyLockedAsync(string actingAdmin, string what, Func<UsersFile, UsersFile> edit, string success)
    {
        UsersFile next;
        try
        {
            next = edit(_file);
        }
        catch (Exception ex) when (ex is TomlException or InvalidOperationException or ArgumentException)
        {
            _log.Error(ex, "Cannot {What}: editing {Path} failed", what, _path);
            return new AdminResult(false, $"Cannot {what}: the users file could not be edited ({ex.Message}).");
        }

        try
        {
            // The file holds password hashes: a new one is private to the server's account.
            await AtomicFile.WriteAllTextAsync(_path, next.Text, newFileMode: UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _log.Error(ex, "Cannot {What}: writing {Path} failed", what, _path);
            return new AdminResult(false, $"Cannot {what}: the users file could not be written.");
        }

        Install(next, loadedFromDisk: false);
        _log.Information("{Admin} did {What}: {Message}", UserNames.Display(actingAdmin), what, success);
        return new AdminResult(true, success);
    }

    // ---------------------------------------------------------------- loading

    private void StartWatching()
    {
        // Only the users file itself counts (a rename into place reports the new name; a rename away the old one).
        _watcher = new DebouncedWatcher(Path.GetDirectoryName(_path)!, _fileName, _debounceDelay, ReloadFromWatcher,
            failed: e => _log.Warning(e, "Watching {Path} failed; rechecking the file", _path),
            relevant: e => string.Equals(e.Name, _fileName, _pathComparison)
                           || (e is RenamedEventArgs r && string.Equals(r.OldName, _fileName, _pathComparison)));
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
            ReleaseSyntaxTreeLocked();
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
        var text = ReadSettled();
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
        if (text == _file.Text)
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
        return TryReload(text, out problem);
    }

    private bool TryReload(string text, out string? problem)
    {
        problem = null;
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

    // Admin commands are rare and the syntax tree takes ten times the memory of the accounts: each command parses the
    // file once (or reuses the tree of a reload it just did) instead of keeping the tree between commands.
    private void ReleaseSyntaxTreeLocked() => _file?.Document.ReleaseSyntaxTree();

    private string? ReadSettled()
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return ReadTextOrNull(_path);
            }
            catch (IOException) when (attempt < 5)
            {
                Thread.Sleep(50); // an editor may still hold the file
            }
        }
    }

    private string BrokenMessage() =>
        $"The users file has an error and must be fixed first: {_badReason}";

    /// <summary>Parses text read from disk and puts its users in force.</summary>
    private ImmutableDictionary<string, UserAccount> Load(string text)
    {
        var file = UsersFile.Parse(text, _path, _homes);
        Install(file, loadedFromDisk: true);
        return file.Users;
    }

    private void Install(UsersFile file, bool loadedFromDisk)
    {
        _file = file;
        _badText = null;
        _badReason = null;
        var users = file.Users;
        if (loadedFromDisk)
        {
            foreach (var user in users.Values.Where(u => Passwords.IsPlainText(u.PasswordHash)))
            {
                _log.Warning("User {User} has a plain-text password in {Path}; it is replaced by its hash at their next login",
                    user.Name, _path);
            }
            var older = users.Values.Count(u => !Passwords.IsPlainText(u.PasswordHash) && Passwords.NeedsRehash(u.PasswordHash));
            if (older > 0)
                _log.Information("{Count} users in {Path} have an older password hash; each is replaced by Argon2id at its next login",
                    older, _path);
        }
        CreateHomes(users.Values);
        Volatile.Write(ref _users, users);
        // After the new users are in force: a check still running against an old record may remember it, but an entry
        // only ever matches the record it was made for.
        _verified.Retain(users);
        Notify(users);
    }

    private void CreateHomes(IEnumerable<UserAccount> users)
    {
        foreach (var user in users)
        {
            var home = _homes.PathOf(user);
            try
            {
                Directory.CreateDirectory(home);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _log.Error(ex, "Cannot create the home folder {Home} of user {User}", home, user.Name);
            }
        }
    }

    private void Notify(ImmutableDictionary<string, UserAccount> users)
    {
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
