using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using ScriptFtp.Toml;

namespace ScriptFtp.Plugins;

/// <summary>
/// What a plugin script sees as its top level: the members of this class can be called by name from a <c>.csx</c> file.
/// A script runs once when it is loaded; it registers commands and event handlers here, and those handlers run later,
/// once per command or event. Registering from inside a handler is refused.
/// </summary>
public sealed class PluginGlobals
{
    private readonly List<CommandRegistration> _commands = [];
    private readonly List<EventRegistration> _events = [];
    private bool _sealedAfterLoad;

    internal PluginGlobals(string name, TomlTable settings, PluginLog log)
    {
        Name = name;
        Settings = settings;
        Log = log;
    }

    /// <summary>The plugin's name: its file name without <c>.csx</c>.</summary>
    public string Name { get; }

    /// <summary>The plugin's own <c>[plugin.NAME]</c> section of ftp.toml (empty when there is none).</summary>
    public TomlTable Settings { get; }

    /// <summary>A logger whose lines name the plugin.</summary>
    public PluginLog Log { get; }

    /// <summary>Registers a command (or replaces a built-in one) with a handler that answers at once.</summary>
    /// <param name="verb">The verb, e.g. <c>XSHA256</c>; case does not matter.</param>
    /// <param name="access">Who may run it; the server checks this before the handler runs.</param>
    /// <param name="usage">The usage line for HELP and for 501 replies, e.g. <c>XSHA256 &lt;file&gt;</c>.</param>
    /// <param name="help">One line of help text.</param>
    /// <param name="handler">Returns the reply, or <see cref="PluginContext.BuiltIn"/> to run the command this one replaced.</param>
    /// <param name="feature">A line for the FEAT reply that announces the command to clients, e.g. <c>HASH SHA-256*</c>.</param>
    [OverloadResolutionPriority(1)]
    public void AddCommand(string verb, Access access, string usage, string help, Func<PluginContext, Reply?> handler,
        string? feature = null) =>
        AddCommand(verb, access, usage, help, c => Task.FromResult(handler(c)), feature);

    /// <summary>Registers a command (or replaces a built-in one) with an asynchronous handler.</summary>
    /// <param name="verb">The verb, e.g. <c>XSHA256</c>; case does not matter.</param>
    /// <param name="access">Who may run it; the server checks this before the handler runs.</param>
    /// <param name="usage">The usage line for HELP and for 501 replies.</param>
    /// <param name="help">One line of help text.</param>
    /// <param name="handler">Returns the reply, or <see cref="PluginContext.BuiltIn"/> to run the command this one replaced.</param>
    /// <param name="feature">A line for the FEAT reply that announces the command to clients, e.g. <c>HASH SHA-256*</c>.</param>
    public void AddCommand(string verb, Access access, string usage, string help, Func<PluginContext, Task<Reply?>> handler,
        string? feature = null)
    {
        var key = SingleWord(verb, nameof(verb), "; use AddSiteCommand for SITE subcommands");
        // RFC 2389: one feature per line, each line starting with a single space that the server adds.
        if (feature is not null && (feature.Trim().Length == 0 || feature != feature.Trim() || feature.Any(char.IsControl)))
            throw new ArgumentException($"\"{feature}\" is not a FEAT line: one line of text, no leading or trailing spaces",
                nameof(feature));
        Add(new CommandRegistration(key, access, usage, help, handler, feature));
    }

    /// <summary>Registers a <c>SITE NAME</c> subcommand with a handler that answers at once.</summary>
    /// <param name="name">The subcommand, e.g. <c>UPTIME</c> for <c>SITE UPTIME</c>.</param>
    /// <param name="access">Who may run it.</param>
    /// <param name="usage">The usage line without the leading <c>SITE</c>, e.g. <c>UPTIME</c>.</param>
    /// <param name="help">One line of help text, shown by SITE HELP.</param>
    /// <param name="handler">Gets the text after the subcommand as <see cref="PluginContext.Argument"/>.</param>
    [OverloadResolutionPriority(1)]
    public void AddSiteCommand(string name, Access access, string usage, string help, Func<PluginContext, Reply?> handler) =>
        AddSiteCommand(name, access, usage, help, c => Task.FromResult(handler(c)));

    /// <summary>Registers a <c>SITE NAME</c> subcommand with an asynchronous handler.</summary>
    /// <param name="name">The subcommand, e.g. <c>UPTIME</c> for <c>SITE UPTIME</c>.</param>
    /// <param name="access">Who may run it.</param>
    /// <param name="usage">The usage line without the leading <c>SITE</c>.</param>
    /// <param name="help">One line of help text, shown by SITE HELP.</param>
    /// <param name="handler">Gets the text after the subcommand as <see cref="PluginContext.Argument"/>.</param>
    public void AddSiteCommand(string name, Access access, string usage, string help, Func<PluginContext, Task<Reply?>> handler) =>
        Add(new CommandRegistration("SITE " + SingleWord(name, nameof(name)), access, "SITE " + usage, help, handler));

    /// <summary>Runs when a client connects (before it logs in).</summary>
    public void OnConnected(Action<PluginContext> handler) => OnConnected(c => { handler(c); return Task.CompletedTask; });
    /// <summary>Runs when a client connects (before it logs in).</summary>
    [OverloadResolutionPriority(1)]
    public void OnConnected(Func<PluginContext, Task> handler) => Add(EventKind.Connected, handler);

    /// <summary>Runs after a successful login.</summary>
    public void OnLogin(Action<PluginContext> handler) => OnLogin(c => { handler(c); return Task.CompletedTask; });
    /// <summary>Runs after a successful login.</summary>
    [OverloadResolutionPriority(1)]
    public void OnLogin(Func<PluginContext, Task> handler) => Add(EventKind.Login, handler);

    /// <summary>Runs after a refused login; the second argument is the user name that was tried.</summary>
    public void OnLoginFailed(Action<PluginContext, string> handler) =>
        OnLoginFailed((c, user) => { handler(c, user); return Task.CompletedTask; });
    /// <summary>Runs after a refused login; the second argument is the user name that was tried.</summary>
    [OverloadResolutionPriority(1)]
    public void OnLoginFailed(Func<PluginContext, string, Task> handler) => Add(EventKind.LoginFailed, c => handler(c, c.EventSubject));

    /// <summary>
    /// Runs before an upload (STOR, APPE, STOU) starts, with the file's virtual path. Return a reply (e.g. 552) to refuse the
    /// upload, or null to let it go ahead. Unlike the other events, the session waits for this one.
    /// </summary>
    [OverloadResolutionPriority(1)]
    public void OnBeforeUpload(Func<PluginContext, string, Reply?> handler) =>
        OnBeforeUpload((c, path) => Task.FromResult(handler(c, path)));
    /// <summary>
    /// Runs before an upload starts; the asynchronous form of <see cref="OnBeforeUpload(Func{PluginContext, string, Reply?})"/>.
    /// </summary>
    public void OnBeforeUpload(Func<PluginContext, string, Task<Reply?>> handler) =>
        Add(new EventRegistration(EventKind.BeforeUpload, c => handler(c, c.EventSubject)));

    /// <summary>Runs after an upload completed, with the file's virtual path and its size in bytes.</summary>
    public void OnFileReceived(Action<PluginContext, string, long> handler) =>
        OnFileReceived((c, path, bytes) => { handler(c, path, bytes); return Task.CompletedTask; });
    /// <summary>Runs after an upload completed, with the file's virtual path and its size in bytes.</summary>
    [OverloadResolutionPriority(1)]
    public void OnFileReceived(Func<PluginContext, string, long, Task> handler) =>
        Add(EventKind.FileReceived, c => handler(c, c.EventSubject, c.EventBytes));

    /// <summary>Runs after a download completed, with the file's virtual path and the bytes sent.</summary>
    public void OnFileSent(Action<PluginContext, string, long> handler) =>
        OnFileSent((c, path, bytes) => { handler(c, path, bytes); return Task.CompletedTask; });
    /// <summary>Runs after a download completed, with the file's virtual path and the bytes sent.</summary>
    [OverloadResolutionPriority(1)]
    public void OnFileSent(Func<PluginContext, string, long, Task> handler) =>
        Add(EventKind.FileSent, c => handler(c, c.EventSubject, c.EventBytes));

    /// <summary>Runs after DELE deleted a file, with the file's virtual path and the bytes it held.</summary>
    public void OnFileDeleted(Action<PluginContext, string, long> handler) =>
        OnFileDeleted((c, path, bytes) => { handler(c, path, bytes); return Task.CompletedTask; });
    /// <summary>Runs after DELE deleted a file, with the file's virtual path and the bytes it held.</summary>
    [OverloadResolutionPriority(1)]
    public void OnFileDeleted(Func<PluginContext, string, long, Task> handler) =>
        Add(EventKind.FileDeleted, c => handler(c, c.EventSubject, c.EventBytes));

    /// <summary>Runs when the connection has closed.</summary>
    public void OnDisconnected(Action<PluginContext> handler) => OnDisconnected(c => { handler(c); return Task.CompletedTask; });
    /// <summary>Runs when the connection has closed.</summary>
    [OverloadResolutionPriority(1)]
    public void OnDisconnected(Func<PluginContext, Task> handler) => Add(EventKind.Disconnected, handler);

    internal ImmutableArray<CommandRegistration> Commands => [.. _commands];
    internal ImmutableArray<EventRegistration> Events => [.. _events];

    /// <summary>Called once the script has run: the registrations are final from then on.</summary>
    internal void Seal() => _sealedAfterLoad = true;

    private void Add(CommandRegistration registration)
    {
        ThrowIfSealed();
        _commands.Add(registration);
    }

    private void Add(EventRegistration registration)
    {
        ThrowIfSealed();
        _events.Add(registration);
    }

    private void Add(EventKind kind, Func<PluginContext, Task> handler) =>
        Add(new EventRegistration(kind, async c => { await handler(c); return null; }));

    /// <summary>A verb or SITE subcommand, trimmed and upper-cased; it must be one word.</summary>
    private static string SingleWord(string word, string parameter, string hint = "")
    {
        var key = word.Trim().ToUpperInvariant();
        if (key.Length == 0 || key.Any(char.IsWhiteSpace)) throw new ArgumentException($"\"{word}\" is not a single word{hint}", parameter);
        return key;
    }

    private void ThrowIfSealed()
    {
        // A handler that registered more handlers would change the table behind the server's back.
        if (_sealedAfterLoad) throw new InvalidOperationException("Plugins register commands and events only while the script loads.");
    }
}

internal enum EventKind { Connected, Login, LoginFailed, BeforeUpload, FileReceived, FileSent, FileDeleted, Disconnected }

internal sealed record CommandRegistration(string Key, Access Access, string Usage, string Help,
    Func<PluginContext, Task<Reply?>> Handler, string? Feature = null);

/// <summary>Every event handler, normalised to "context in, optional reply out"; only BeforeUpload's reply is used.</summary>
internal sealed record EventRegistration(EventKind Kind, Func<PluginContext, Task<Reply?>> Handler);
