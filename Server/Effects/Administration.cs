using Serilog;

namespace ScriptFtp;

/// <summary>The interpreter of the administration effects: changes to the users, address bans, and the figures STAT shows.</summary>
internal sealed class Administration(UserStore users, LoginGuard guard, Func<int> sessions, TimeProvider time)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();

    /// <summary>Runs an admin effect for <paramref name="admin"/> (the logged-in user, if any).</summary>
    public async Task<EffectResult> PerformAsync(Effect.AdminEffect effect, UserView? admin, ILogger log) => effect switch
    {
        Effect.Administer change => await AdministerAsync(Named(admin), change, log),
        Effect.ServerStatus => new EffectResult.Status(sessions(), time.GetUtcNow() - _started),
        Effect.ListBans => new EffectResult.Bans(guard.Bans()),
        // The guard's BanChanged event logs the lift, naming the admin: one line, as for a ban.
        Effect.LiftBan lift => new EffectResult.BanLifted(guard.Unban(lift.Address, Named(admin).Name)),
        _ => throw new ArgumentException($"not an admin effect: {effect.GetType().Name}", nameof(effect)),
    };

    private static UserView Named(UserView? admin) => admin ?? throw new InvalidOperationException("not logged in");

    private async Task<EffectResult> AdministerAsync(UserView admin, Effect.Administer change, ILogger log)
    {
        var result = change.Action switch
        {
            AdminAction.AddUser => await users.AddUserAsync(admin.Name, change.Name, change.Password!),
            AdminAction.DeleteUser => await users.DeleteUserAsync(admin.Name, change.Name),
            AdminAction.Ban => await users.BanAsync(admin.Name, change.Name),
            AdminAction.Unban => await users.UnbanAsync(admin.Name, change.Name),
            _ => throw new ArgumentOutOfRangeException(nameof(change), change.Action, "unknown admin action"),
        };
        // A ban or deletion ends that user's sessions through the store's Changed event, like a hand edit does.
        log.Information("Admin {Action} {Target}: {Outcome}", change.Action, change.Name, result.Message);
        return result.Ok ? new EffectResult.Done(result.Message) : new EffectResult.Failed(result.Message);
    }
}
