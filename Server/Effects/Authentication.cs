using System.Collections.Immutable;
using System.Net;
using Serilog;

namespace ScriptFtp;

/// <summary>
/// The interpreter of <see cref="Effect.Authenticate"/>: the login guard, the password check and the home folder.
/// It reports what happened; the core picks the reply and tells the plugins.
/// </summary>
internal sealed class Authentication(UserStore users, LoginGuard guard, TimeSpan failureDelay, TimeProvider time)
{
    /// <summary>A login attempt from <paramref name="address"/>: the result, and the user's files when it succeeded.</summary>
    public async Task<(EffectResult Result, UserFiles? Files)> LogInAsync(Effect.Authenticate attempt, IPAddress address, ILogger log,
        CancellationToken cancel)
    {
        if (await BeginAsync(address, attempt.Name, cancel) is LoginVerdict.Refused refused)
        {
            log.Warning("Login refused: {What} is locked out for {Seconds:0} more seconds",
                refused.Address ? address.ToString() : $"{attempt.Name} from {address}", refused.Remaining.TotalSeconds);
            return (new EffectResult.LoginFailed(refused.Address ? LoginFailure.AddressBanned : LoginFailure.LockedOut, refused.Remaining),
                null);
        }
        // A check costs a fifth of a second and 19 MiB: it runs on the pool, a bounded number at once.
        var (status, account) = await users.AuthenticateAsync(attempt.Name, attempt.Password, cancel);
        if (status != AuthStatus.Ok || account is null)
        {
            // A timer, not a sleeping thread: thousands of failing connections cost no threads while they wait.
            if (failureDelay > TimeSpan.Zero) await Task.Delay(failureDelay, time, cancel);
            guard.Failed(address, attempt.Name);
            return (Failed(attempt.Name, status, log), null);
        }
        guard.Succeeded(address, attempt.Name);
        await RehashAsync(account, attempt.Password, log);
        var files = Home(account, log);
        return files is null
            ? (new EffectResult.LoginFailed(LoginFailure.HomeUnavailable), null)
            : (new EffectResult.Authenticated(View(account)), files);
    }

    // While every slot is held by a check still running, the attempt waits for one to end (on a timer, holding no thread):
    // the right password sent on many connections at once must not look like guessing. Past the wait it is refused.
    private async Task<LoginVerdict> BeginAsync(IPAddress address, string name, CancellationToken cancel)
    {
        var verdict = guard.Begin(address, name);
        for (var waited = TimeSpan.Zero; verdict is LoginVerdict.Busy; waited += BusyPoll)
        {
            if (waited >= BusyLimit) return new LoginVerdict.Refused(BusyPoll, Address: false);
            await Task.Delay(BusyPoll, time, cancel);
            verdict = guard.Begin(address, name);
        }
        return verdict;
    }

    private static readonly TimeSpan BusyPoll = TimeSpan.FromMilliseconds(100), BusyLimit = TimeSpan.FromSeconds(20);

    /// <summary>The account as sessions see it; null when the account no longer exists.</summary>
    public static UserView? View(ImmutableDictionary<string, UserAccount> accounts, string name) =>
        accounts.TryGetValue(name, out var account) ? View(account) : null;

    private static UserView View(UserAccount account) => new(account.Name, account.Admin, account.ReadOnly) { Banned = account.Banned };

    private static EffectResult Failed(string name, AuthStatus status, ILogger log)
    {
        if (status == AuthStatus.Banned)
        {
            log.Warning("Login refused for banned user {User}", name);
            return new EffectResult.LoginFailed(LoginFailure.Banned);
        }
        log.Warning("Failed login for {User}", name);
        return new EffectResult.LoginFailed(LoginFailure.Incorrect);
    }

    /// <summary>
    /// The password just proved right is the only chance to hash a hand-written plain-text one, or to replace an old hash
    /// (PBKDF2, or a weaker Argon2id) with a current one. Best effort: a users file that cannot be written (mounted
    /// read-only, say) must not cost the user their login.
    /// </summary>
    private async Task RehashAsync(UserAccount account, string password, ILogger log)
    {
        if (!Passwords.NeedsRehash(account.PasswordHash)) return;
        try { await users.RehashAsync(account.Name, password); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException or InvalidOperationException)
        {
            log.Warning("The password of {User} could not be replaced by a current hash: {Reason}", account.Name, e.Message);
        }
    }

    private UserFiles? Home(UserAccount account, ILogger log)
    {
        try
        {
            var home = users.HomePath(account);
            Directory.CreateDirectory(home);
            return new UserFiles(home);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            log.Error("Home folder of {User} is unavailable: {Reason}", account.Name, e.Message);
            return null;
        }
    }
}
