using System.Collections.Immutable;
using ScriptFtp.Toml;
using Serilog;

namespace ScriptFtp.Plugins;

/// <summary>
/// What one run of a plugin handler may see and use: the session as it was when the command or event happened, and
/// services confined to that session's user. A new context is made for every call; keep nothing from it.
/// </summary>
public sealed class PluginContext
{
    private readonly Func<ImmutableArray<SessionView>> _sessions;

    internal PluginContext(string plugin, SessionView session, Request? request, PluginUser? user, PluginFiles? files, PluginLog log,
        TomlTable settings, Func<ImmutableArray<SessionView>> sessions, CancellationToken cancel)
    {
        Plugin = plugin;
        Session = session;
        Request = request;
        User = user;
        Files = files;
        Log = log;
        Settings = settings;
        _sessions = sessions;
        Cancel = cancel;
    }

    /// <summary>
    /// In a before-upload handler: lets the upload go ahead but cuts it off once it brings more than
    /// <paramref name="maxBytes"/>; the client then gets 552 and the upload leaves nothing behind (an append or resume
    /// is undone). Ignored in other handlers. With several calls, or several plugins, the smallest limit holds.
    /// </summary>
    public void LimitUpload(long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        UploadLimit = Math.Min(UploadLimit ?? long.MaxValue, maxBytes);
    }

    internal long? UploadLimit { get; private set; }

    /// <summary>
    /// In a before-upload handler: lets the upload go ahead, taking from <paramref name="allowance"/> as its bytes arrive; it
    /// is cut off with 552 (and leaves nothing behind) when the allowance runs dry. Uploads running at the same time share it.
    /// Ignored in other handlers. Combines with <see cref="LimitUpload(long)"/> and with other allowances: all must allow.
    /// </summary>
    public void LimitUpload(UploadAllowance allowance) => Allowances = Allowances.Add(allowance);

    internal ImmutableArray<UploadAllowance> Allowances { get; private set; } = [];

    /// <summary>The name of the plugin this handler belongs to.</summary>
    public string Plugin { get; }

    /// <summary>The session: id, remote address, user name, current directory, connection time.</summary>
    public SessionView Session { get; }

    /// <summary>The command being handled (verb upper case; for SITE subcommands <c>SITE NAME</c>), or null for events.</summary>
    public Request? Request { get; }

    /// <summary>The command's argument (for SITE subcommands, the text after the subcommand); empty for events.</summary>
    public string Argument => Request?.Argument ?? "";

    /// <summary>The logged-in user, or null before login.</summary>
    public PluginUser? User { get; }

    /// <summary>The user's files, confined to their home folder; null before login.</summary>
    public PluginFiles? Files { get; }

    /// <summary>A logger whose lines name the plugin and the session.</summary>
    public PluginLog Log { get; }

    /// <summary>The plugin's own <c>[plugin.NAME]</c> section of ftp.toml (empty when there is none).</summary>
    public TomlTable Settings { get; }

    /// <summary>Cancelled when the handler has run past the configured time limit or the session ends; pass it to slow calls.</summary>
    public CancellationToken Cancel { get; }

    /// <summary>Every connected session, oldest first. Only administrators may list them.</summary>
    /// <exception cref="UnauthorizedAccessException">The session's user is not an administrator.</exception>
    public ImmutableArray<SessionView> Sessions() =>
        User is { Admin: true } ? _sessions() : throw new UnauthorizedAccessException("Only administrators may list sessions.");

    /// <summary>
    /// This session's choice for a feature (the first word of a FEAT line, e.g. <c>HASH</c>), as an earlier command of this
    /// session made it with <see cref="Choose"/>; null when none was made.
    /// </summary>
    public string? Choice(string feature) => Choices.GetValueOrDefault(feature);

    /// <summary>
    /// Records a choice for the rest of this session (e.g. <c>OPTS HASH SHA-512</c> chooses SHA-512 for HASH); it takes effect
    /// with this command's reply. A FEAT line of this name that lists options (<c>HASH SHA-1;SHA-256*;MD5</c>) then stars the
    /// chosen one. Only command handlers can choose: elsewhere the choice is dropped.
    /// </summary>
    /// <exception cref="ArgumentException">The feature is not one word, or the value is not one FEAT option.</exception>
    public void Choose(string feature, string value)
    {
        if (feature.Length == 0 || feature.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ArgumentException($"\"{feature}\" is not a feature name: one word", nameof(feature));
        if (value.Length == 0 || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is ';' or '*'))
            throw new ArgumentException($"\"{value}\" is not a FEAT option: one word without ; or *", nameof(value));
        Choices = Choices.SetItem(feature, value);
    }

    internal ImmutableDictionary<string, string> Choices { get; set; } = ScriptFtp.Session.NoChoices;

    /// <summary>
    /// Return this from a command handler to run the command it replaced (the built-in one, or the one an earlier plugin registered).
    /// </summary>
    public Reply? BuiltIn() => null;

    /// <summary>A one-line reply.</summary>
    public Reply Reply(int code, string text) => new(code, text);

    /// <summary>A reply of several lines: the first and last lines carry the code, as RFC 959 multi-line replies do.</summary>
    public Reply Reply(int code, IEnumerable<string> lines) => new(code, [.. lines]);

    // Event arguments travel in the context so that every event handler can share one shape.
    internal string EventSubject { get; init; } = "";
    internal long EventBytes { get; init; }
}

/// <summary>The logged-in user as a plugin sees it: read-only.</summary>
/// <param name="Name">User name.</param>
/// <param name="Admin">Whether the user is an administrator.</param>
/// <param name="ReadOnly">Whether the user may only read.</param>
public sealed record PluginUser(string Name, bool Admin, bool ReadOnly);

/// <summary>A plugin's logger: message templates as in Serilog (<c>Log.Information("Hashed {Path}", path)</c>).</summary>
public sealed class PluginLog
{
    private readonly ILogger _log;
    private readonly string _plugin;

    private PluginLog(ILogger log, string plugin)
    {
        _log = log;
        _plugin = plugin;
    }

    /// <summary>The plugin's logger: its lines carry the plugin's name.</summary>
    internal static PluginLog For(ILogger root, string plugin) =>
        new(root.ForContext("Plugin", plugin).ForContext("Session", $"[{plugin}.csx] "), plugin);

    /// <summary>Logs at Debug level.</summary>
    public void Debug(string messageTemplate, params object?[] values) => _log.Debug(messageTemplate, values);
    /// <summary>Logs at Information level.</summary>
    public void Information(string messageTemplate, params object?[] values) => _log.Information(messageTemplate, values);
    /// <summary>Logs at Warning level.</summary>
    public void Warning(string messageTemplate, params object?[] values) => _log.Warning(messageTemplate, values);
    /// <summary>Logs at Error level.</summary>
    public void Error(string messageTemplate, params object?[] values) => _log.Error(messageTemplate, values);
    /// <summary>Logs an exception at Error level.</summary>
    public void Error(Exception exception, string messageTemplate, params object?[] values) =>
        _log.Error(exception, messageTemplate, values);

    internal PluginLog ForSession(SessionView session) =>
        new(_log.ForContext("Session",
            $"[{session.Id} {session.RemoteAddress}{(session.User is null ? "" : " " + session.User)}] [{_plugin}.csx] "), _plugin);
}
