using System.Collections.Immutable;
using System.Net;
using ScriptFtp.Plugins;

namespace ScriptFtp;

/// <summary>What plugins and logs may know about a session: a read-only snapshot.</summary>
/// <param name="Id">Connection id.</param>
/// <param name="RemoteAddress">The client's address.</param>
/// <param name="User">The logged-in user name, or null.</param>
/// <param name="Directory">The current virtual directory.</param>
/// <param name="ConnectedAt">When the client connected.</param>
public sealed record SessionView(string Id, IPAddress RemoteAddress, string? User, string Directory, DateTimeOffset ConnectedAt)
{
    /// <summary>The client program's name as CLNT gave it, or null.</summary>
    public string? Client { get; init; }
}

/// <summary>What the before-upload handlers decided: refuse (with that reply), or go ahead, cut off past a size.</summary>
/// <param name="Refusal">The reply that refuses the upload, or null.</param>
/// <param name="MaxBytes">The most bytes the upload may bring, or null for no limit.</param>
internal sealed record UploadVerdict(Reply? Refusal, long? MaxBytes)
{
    public static UploadVerdict Go { get; } = new(null, null);

    /// <summary>Allowances the upload takes its bytes from, as it receives them.</summary>
    public ImmutableArray<UploadAllowance> Allowances { get; init; } = [];
}

/// <summary>
/// The points where the shell calls out to plugins. The shell depends only on this (and on the <see cref="PluginHandler"/>s
/// in the table); the plugin loader implements it. Every method must be safe to call concurrently and must not throw.
/// </summary>
internal interface IServerHooks
{
    /// <summary>The command table in force; swapped whole when plugins are reloaded.</summary>
    CommandTable Commands { get; }

    void Connected(SessionView session);
    void LoggedIn(SessionView session);
    void LoginFailed(SessionView session, string userName);
    /// <summary>Whether the upload may go ahead, and how large it may grow.</summary>
    Task<UploadVerdict> BeforeUploadAsync(SessionView session, UserFiles files, string virtualPath, CancellationToken cancel);
    void FileReceived(SessionView session, string virtualPath, long bytes);
    void FileSent(SessionView session, string virtualPath, long bytes);
    void FileDeleted(SessionView session, string virtualPath, long bytes);
    void Disconnected(SessionView session);
}

/// <summary>The hooks when no plugins are loaded.</summary>
internal sealed class NoHooks(CommandTable commands) : IServerHooks
{
    public CommandTable Commands => commands;
    public void Connected(SessionView session) { }
    public void LoggedIn(SessionView session) { }
    public void LoginFailed(SessionView session, string userName) { }
    public Task<UploadVerdict> BeforeUploadAsync(SessionView session, UserFiles files, string virtualPath, CancellationToken cancel) =>
        Task.FromResult(UploadVerdict.Go);
    public void FileReceived(SessionView session, string virtualPath, long bytes) { }
    public void FileSent(SessionView session, string virtualPath, long bytes) { }
    public void FileDeleted(SessionView session, string virtualPath, long bytes) { }
    public void Disconnected(SessionView session) { }
}
