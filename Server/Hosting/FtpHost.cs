using System.Collections.Concurrent;
using System.Collections.Immutable;
using Serilog;

namespace ScriptFtp;

/// <summary>What every connection shares: configuration, users, the login guard, plugins, the sessions, and the interpreters
/// that are the same for all of them.</summary>
internal sealed class FtpHost
{
    private volatile IServerHooks _hooks = new NoHooks(Protocol.BuiltIns);
    private volatile UserTlsCache _userTls =
        new(ImmutableDictionary<string, UserAccount>.Empty, ImmutableDictionary<string, TlsRequirement>.Empty);

    public FtpHost(ServerConfig config, ILogger log, UserStore users, LoginGuard guard, TimeProvider time, CancellationToken stopping)
    {
        Config = config;
        Log = log;
        Users = users;
        Guard = guard;
        Time = time;
        Stopping = stopping;
        Authentication = new Authentication(users, guard, config.LoginDelay, time);
        Administration = new Administration(users, guard, () => Sessions.Count, time);
    }

    public ServerConfig Config { get; }
    public ILogger Log { get; }
    public UserStore Users { get; }
    public LoginGuard Guard { get; }
    public TimeProvider Time { get; }
    public CancellationToken Stopping { get; }
    public Authentication Authentication { get; }
    public Administration Administration { get; }
    public ConcurrentDictionary<Connection, byte> Sessions { get; } = new();
    /// <summary>The TLS certificate (reloaded when its files change); null when TLS is off.</summary>
    public Tls.TlsCertificates? Certificates { get; init; }

    /// <summary>The plugin hooks; replaced whole on reload.</summary>
    public IServerHooks Hooks
    {
        get => _hooks;
        set => _hooks = value;
    }

    /// <summary>What a handler may read besides the session, now.</summary>
    public Context Context() => new(_hooks.Commands, Config.Options, Time.GetUtcNow()) { UserTls = UserTlsRules() };

    // Built once per users-file snapshot, not per command: most files have no override at all.
    private ImmutableDictionary<string, TlsRequirement> UserTlsRules()
    {
        var accounts = Users.Users;
        var cached = _userTls;
        if (ReferenceEquals(cached.From, accounts)) return cached.Rules;
        var rules = accounts.Where(a => a.Value.Tls != TlsRequirement.Server)
            .ToImmutableDictionary(a => a.Key, a => a.Value.Tls, StringComparer.Ordinal);
        _userTls = new UserTlsCache(accounts, rules);
        return rules;
    }

    private sealed record UserTlsCache(ImmutableDictionary<string, UserAccount> From, ImmutableDictionary<string, TlsRequirement> Rules);

    /// <summary>A user's account as the users file has it now; null when it was deleted.</summary>
    public UserView? Account(string name) => Authentication.View(Users.Users, name);

    public ImmutableArray<SessionView> SessionViews() => [.. Sessions.Keys.Select(c => c.View).OrderBy(v => v.ConnectedAt)];
}
