using System.Collections.Concurrent;
using System.Collections.Immutable;
using Serilog;

namespace ScriptFtp;

/// <summary>What every connection shares: configuration, users, the login guard, plugins, the sessions, and the interpreters
/// that are the same for all of them.</summary>
internal sealed class FtpHost
{
    private volatile IServerHooks _hooks = new NoHooks(Protocol.BuiltIns);
    private readonly Func<string, TlsRequirement> _userTls; // one delegate for every Context, not one per command

    public FtpHost(ServerConfig config, ILogger log, UserStore users, LoginGuard guard, TimeProvider time, CancellationToken stopping)
    {
        Config = config;
        Log = log;
        Users = users;
        Guard = guard;
        Time = time;
        Stopping = stopping;
        Authentication = new Authentication(users, guard, config.LoginDelay, time);
        _userTls = UserTls;
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
    public Context Context() => new(_hooks.Commands, Config.Options, Time.GetUtcNow()) { UserTls = _userTls };

    private TlsRequirement UserTls(string name) => Users.Users.TryGetValue(name, out var account) ? account.Tls : TlsRequirement.Server;

    /// <summary>A user's account as the users file has it now; null when it was deleted.</summary>
    public UserView? Account(string name) => Authentication.View(Users.Users, name);

    public ImmutableArray<SessionView> SessionViews() => [.. Sessions.Keys.Select(c => c.View).OrderBy(v => v.ConnectedAt)];
}
