using System.Net;

namespace ScriptFtp;

/// <summary>What plugins and logs may know about a session: a read-only snapshot.</summary>
/// <param name="Id">Connection id.</param>
/// <param name="RemoteAddress">The client's address.</param>
/// <param name="User">The logged-in user name, or null.</param>
/// <param name="Directory">The current virtual directory.</param>
/// <param name="ConnectedAt">When the client connected.</param>
public sealed record SessionView(string Id, IPAddress RemoteAddress, string? User, string Directory, DateTimeOffset ConnectedAt);

/// <summary>
/// The points where the shell calls out to plugins. The shell depends only on this; the plugin loader implements it.
/// Every method must be safe to call concurrently and must not throw.
/// </summary>
internal interface IServerHooks
{
    /// <summary>The command table in force; swapped whole when plugins are reloaded.</summary>
    CommandTable Commands { get; }

    void Connected(SessionView session);
    void LoggedIn(SessionView session);
    void LoginFailed(SessionView session, string userName);
    /// <summary>A refusal reply, or null to let the upload go ahead.</summary>
    Task<Reply?> BeforeUploadAsync(SessionView session, UserFiles files, string virtualPath, CancellationToken cancel);
    void FileReceived(SessionView session, string virtualPath, long bytes);
    void FileSent(SessionView session, string virtualPath, long bytes);
    void Disconnected(SessionView session);
    /// <summary>Runs a plugin command's handler with the configured time limit; a failure becomes a 451 reply.</summary>
    Task<EffectResult> RunPluginAsync(Effect.RunPlugin effect, SessionView session, UserFiles? files, CancellationToken cancel);
}

/// <summary>The hooks when no plugins are loaded.</summary>
internal sealed class NoHooks(CommandTable commands) : IServerHooks
{
    public CommandTable Commands => commands;
    public void Connected(SessionView session) { }
    public void LoggedIn(SessionView session) { }
    public void LoginFailed(SessionView session, string userName) { }
    public Task<Reply?> BeforeUploadAsync(SessionView session, UserFiles files, string virtualPath, CancellationToken cancel) => Task.FromResult<Reply?>(null);
    public void FileReceived(SessionView session, string virtualPath, long bytes) { }
    public void FileSent(SessionView session, string virtualPath, long bytes) { }
    public void Disconnected(SessionView session) { }
    public Task<EffectResult> RunPluginAsync(Effect.RunPlugin effect, SessionView session, UserFiles? files, CancellationToken cancel) =>
        Task.FromResult<EffectResult>(new EffectResult.PluginReply(new Reply(502, "Plugins are not loaded.")));
}
