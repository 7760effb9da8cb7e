using System.Collections.Immutable;
using System.Net;
using Serilog;

namespace ScriptFtp;

/// <summary>
/// The interpreter of <see cref="Effect.Authenticate"/>: the login guard, the password check and the home folder.
/// It reports what happened; the core picks the reply and tells the plugins.
/// </summary>
internal sealed class Authentication(UserStore users, LoginGuard guard)
{
    /// <summary>A login attempt from <paramref name="address"/>: the result, and the user's files when it succeeded.</summary>
    public async Task<(EffectResult Result, UserFiles? Files)> LogInAsync(Effect.Authenticate attempt, IPAddress address, ILogger log,
        CancellationToken cancel)
    {
        switch (guard.Check(address))
        {
            case LoginVerdict.Refused refused:
                log.Warning("Login refused: {Address} is locked out for {Seconds:0} more seconds", address, refused.Remaining.TotalSeconds);
                return (new EffectResult.LoginFailed(LoginFailure.LockedOut, refused.Remaining), null);
            case LoginVerdict.Delay delay:
                log.Warning("Slowing down logins from {Address} by {Seconds:0.#} s after repeated failures", address,
                    delay.Duration.TotalSeconds);
                await Task.Delay(delay.Duration, cancel);
                break;
        }
        var (status, account) = users.Authenticate(attempt.Name, attempt.Password);
        if (status != AuthStatus.Ok || account is null) return (Failed(attempt.Name, status, address, log), null);
        guard.RecordSuccess(address, account.Name);
        await HashPlainTextAsync(account, attempt.Password, log);
        var files = Home(account, log);
        return files is null
            ? (new EffectResult.LoginFailed(LoginFailure.HomeUnavailable), null)
            : (new EffectResult.Authenticated(View(account)), files);
    }

    /// <summary>The account as sessions see it; null when the account no longer exists.</summary>
    public static UserView? View(ImmutableDictionary<string, UserAccount> accounts, string name) =>
        accounts.TryGetValue(name, out var account) ? View(account) : null;

    private static UserView View(UserAccount account) => new(account.Name, account.Admin, account.ReadOnly) { Banned = account.Banned };

    private EffectResult Failed(string name, AuthStatus status, IPAddress address, ILogger log)
    {
        guard.RecordFailure(address, name);
        if (status == AuthStatus.Banned)
        {
            log.Warning("Login refused for banned user {User}", name);
            return new EffectResult.LoginFailed(LoginFailure.Banned);
        }
        log.Warning("Failed login for {User}", name);
        return new EffectResult.LoginFailed(LoginFailure.Incorrect);
    }

    /// <summary>
    /// The password just proved right is the only chance to hash a hand-written plain-text one. Best effort: a users file
    /// that cannot be written (mounted read-only, say) must not cost the user their login.
    /// </summary>
    private async Task HashPlainTextAsync(UserAccount account, string password, ILogger log)
    {
        if (!Passwords.IsPlainText(account.PasswordHash)) return;
        try { await users.StoreHashedAsync(account.Name, password); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException or InvalidOperationException)
        {
            log.Warning("The plain-text password of {User} could not be replaced by its hash: {Reason}", account.Name, e.Message);
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
