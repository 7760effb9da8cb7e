using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using ScriptFtp.Toml;
using Serilog;

namespace ScriptFtp.Plugins;

/// <summary>A plugin whose script ran: what it registered, frozen.</summary>
internal sealed record LoadedPlugin(string Name, TomlTable Settings, PluginLog Log, ImmutableArray<CommandRegistration> Commands,
    ImmutableArray<EventRegistration> Events)
{
    /// <summary>Its failures in a row; a new load (a reload) starts afresh.</summary>
    public PluginHealth Health { get; } = new(Log);
}

/// <summary>Everything one load of the plugins folder produced. Swapped whole on reload; the old one is unloaded.</summary>
internal sealed record Generation(int Number, CommandTable Table, ImmutableArray<LoadedPlugin> Plugins, ImmutableArray<string> Errors,
    PluginLoadContext? Context)
{
    /// <summary>The scripts that came from the plugin cache rather than the compiler.</summary>
    public ImmutableArray<string> Cached { get; init; } = [];

    public ImmutableDictionary<EventKind, ImmutableArray<(LoadedPlugin Plugin, EventRegistration Event)>> Events { get; } =
        Plugins.SelectMany(p => p.Events.Select(e => (Plugin: p, Event: e)))
            .GroupBy(pe => pe.Event.Kind)
            .ToImmutableDictionary(g => g.Key, g => g.ToImmutableArray());

    public ImmutableArray<(LoadedPlugin Plugin, EventRegistration Event)> HandlersOf(EventKind kind) => Events.GetValueOrDefault(kind, []);
}

/// <summary>
/// Loads the plugins folder, serves the shell's hooks from the generation in force, and reloads the folder when it changes.
/// Handlers run on the thread pool under the configured time limit; whatever they do wrong ends as a logged error and,
/// for commands and uploads, a 451 reply: never as an exception in the shell.
/// </summary>
internal sealed class PluginHost : IServerHooks, IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);

    private readonly ServerConfig _config;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private readonly ConcurrentDictionary<string, EventQueue> _queues = new();
    private volatile Generation _current;
    private FtpHost? _host;
    private DebouncedWatcher? _watcher;
    private bool _disposed;

    private PluginHost(ServerConfig config, ILogger log)
    {
        _config = config;
        _log = log;
        _current = new Generation(0, Protocol.BuiltIns, [], [], null);
    }

    /// <summary>
    /// Compiles and runs every <c>*.csx</c> of the plugins folder, in name order. Errors are logged and listed in <see cref="Errors"/>.
    /// </summary>
    public static async Task<PluginHost> LoadAsync(ServerConfig config, ILogger log)
    {
        var plugins = new PluginHost(config, log);
        plugins._current = await BuildAsync(1, config, log, plugins.HandlerFor);
        return plugins;
    }

    /// <summary>The errors of the last load: compile errors with positions, scripts that threw while loading.</summary>
    public ImmutableArray<string> Errors => _current.Errors;

    /// <summary>How many times the folder has been loaded (1 after startup).</summary>
    public int GenerationNumber => _current.Number;

    /// <summary>The names of the plugins in force.</summary>
    public ImmutableArray<string> Loaded => [.. _current.Plugins.Select(p => p.Name)];

    public CommandTable Commands => _current.Table;

    /// <summary>The scripts of the last load that came from the plugin cache, not the compiler.</summary>
    public ImmutableArray<string> Cached => _current.Cached;

    /// <summary>
    /// Connects to the running server (for session lists and user lookups) and starts watching the folder when reloading is on.
    /// </summary>
    public IServerHooks Attach(FtpHost server)
    {
        _host = server;
        if (_config.PluginsReload && _config.PluginsFolder is { } folder && Directory.Exists(folder))
        {
            // Editors save in bursts (truncate, write, rename): wait for the folder to settle, then load once.
            _watcher = new DebouncedWatcher(folder, "*.csx", Debounce, () => _ = ReloadFromWatcherAsync(),
                failed: e => _log.Warning("Watching the plugins folder failed: {Reason}; reloading everything", e.Message));
        }
        return this;
    }

    private async Task ReloadFromWatcherAsync()
    {
        try { await ReloadAsync(); }
        catch (Exception e) { _log.Error(e, "Reloading plugins failed"); }
    }

    /// <summary>
    /// Compiles the folder again and swaps the new table in; false when strict mode kept the old plugins because of errors.
    /// </summary>
    public async Task<bool> ReloadAsync()
    {
        await _reloading.WaitAsync();
        try
        {
            var watch = Stopwatch.StartNew();
            var previous = _current;
            var next = await BuildAsync(previous.Number + 1, _config, _log, HandlerFor);
            if (_config.PluginsStrict && !next.Errors.IsEmpty)
            {
                _log.Error("Plugins not reloaded: {Count} error(s) and strict mode is on; the previous plugins stay in force",
                    next.Errors.Length);
                next.Context?.Unload();
                return false;
            }
            _current = next;
            // Running handlers keep their assembly alive until they finish; Unload only lets the GC take it afterwards.
            previous.Context?.Unload();
            _log.Information("Plugins reloaded in {Milliseconds} ms (generation {Generation})", watch.ElapsedMilliseconds, next.Number);
            return true;
        }
        finally
        {
            _reloading.Release();
        }
    }

    private static async Task<Generation> BuildAsync(int number, ServerConfig config, ILogger log,
        Func<LoadedPlugin, CommandRegistration, PluginHandler> handlerFor)
    {
        var folder = config.PluginsFolder;
        if (folder is null || !Directory.Exists(folder))
        {
            if (folder is not null) log.Information("No plugins folder at {Folder}", folder);
            return new Generation(number, Protocol.BuiltIns, [], [], null);
        }
        var prefix = Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)) + "/";
        var files = Directory.GetFiles(folder, "*.csx").OrderBy(Path.GetFileName, StringComparer.Ordinal).ToArray();
        var watch = Stopwatch.StartNew();
        var cache = PluginCache.For(folder, log);
        // Compiling is the slow part and each script stands alone; running them stays sequential, in name order.
        var prepared = files.AsParallel().AsOrdered()
            .Select(path => Prepare(cache, Path.GetFileNameWithoutExtension(path), path, prefix + Path.GetFileName(path)))
            .ToArray();
        await cache.WriteAsync(prepared.Where(p => p is { FromCache: false, Key: not null, Script.Succeeded: true })
            .Select(p => (p.Script, p.Key!)));
        cache.Prune(prepared.Select(p => p.Script.Name));
        var cached = prepared.Where(p => p.FromCache).Select(p => p.Script.Name).ToImmutableArray();
        log.Information("Plugins: {Cached} from the cache, {Compiled} compiled, in {Milliseconds} ms", cached.Length,
            prepared.Length - cached.Length, watch.ElapsedMilliseconds);
        var compiled = prepared.Select(p => p.Script);

        var errors = ImmutableArray.CreateBuilder<string>();
        var plugins = ImmutableArray.CreateBuilder<LoadedPlugin>();
        var context = new PluginLoadContext($"plugins#{number}");
        foreach (var script in compiled)
        {
            foreach (var warning in script.Warnings) log.Warning("{Diagnostic}", warning);
            if (!script.Errors.IsEmpty)
            {
                foreach (var error in script.Errors) log.Error("{Diagnostic}", error);
                log.Error("Plugin {Plugin} was not loaded", script.Name);
                errors.AddRange(script.Errors);
                continue;
            }
            var settings = config.PluginSettings.GetValueOrDefault(script.Name, TomlTable.Empty);
            var pluginLog = PluginLog.For(log, script.Name);
            var globals = new PluginGlobals(script.Name, settings, pluginLog);
            try
            {
                await PluginLoader.Run(script, context, globals, config.PluginTimeout).WaitAsync(config.PluginTimeout);
            }
            catch (Exception e)
            {
                var reason = e is TimeoutException
                    ? $"its top level ran past {config.PluginTimeout.TotalSeconds:0.###} s" : $"{e.GetType().Name}: {e.Message}";
                var message = $"{script.Display}{Where(e, script.Display)}: error: the script failed while loading: {reason}";
                log.Error("{Diagnostic}", message);
                log.Error("Plugin {Plugin} was not loaded", script.Name);
                errors.Add(message);
                continue;
            }
            finally
            {
                globals.Seal();
            }
            plugins.Add(new LoadedPlugin(script.Name, settings, pluginLog, globals.Commands, globals.Events));
        }

        if (plugins.Count == 0) context.Unload();
        var table = Table(plugins.ToImmutable(), handlerFor, log);
        return new Generation(number, table, plugins.ToImmutable(), errors.ToImmutable(), plugins.Count == 0 ? null : context)
        {
            Cached = cached,
        };
    }

    /// <summary>
    /// The built-in table with the plugins' commands added, in load order (a later plugin replaces an earlier one's verb).
    /// </summary>
    private static CommandTable Table(ImmutableArray<LoadedPlugin> plugins,
        Func<LoadedPlugin, CommandRegistration, PluginHandler> handlerFor,
        ILogger log)
    {
        var table = Protocol.BuiltIns;
        foreach (var plugin in plugins)
        {
            foreach (var command in plugin.Commands)
                table = table.With(Protocol.PluginCommand(command.Key, command.Access, command.Usage, command.Help, plugin.Name + ".csx",
                    handlerFor(plugin, command), command.Feature));
            log.Information("Plugin {Plugin} loaded: {Commands}, {Events} event handler(s)", plugin.Name,
                plugin.Commands.IsEmpty ? "no commands" : string.Join(", ", plugin.Commands.Select(c => c.Key)), plugin.Events.Length);
        }
        return table;
    }

    /// <summary>A script ready to run (or its errors), and the cache key it was compiled under.</summary>
    private sealed record Prepared(CompiledScript Script, byte[]? Key, bool FromCache);

    /// <summary>The script from the cache when its entry is current, else compiled.</summary>
    private static Prepared Prepare(PluginCache cache, string name, string path, string display)
    {
        string code;
        try
        {
            code = ReadSettled(path);
        }
        catch (IOException e)
        {
            return new(CompiledScript.Failed(name, display, [$"{display}: error: cannot read the file: {e.Message}"], []), null, false);
        }
        var key = PluginCache.Key(name, path, display, code);
        return cache.TryRead(name, display, key) is { } hit ? new(hit, key, true) : new(Compile(name, path, display, code), key, false);
    }

    // Its own method, never inlined: only a cache miss may bring the compiler (Microsoft.CodeAnalysis) into the process.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static CompiledScript Compile(string name, string path, string display, string code) =>
        PluginCompiler.Compile(name, path, display, code);

    /// <summary>Reads a script, retrying briefly while an editor still holds it open.</summary>
    private static string ReadSettled(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try { return File.ReadAllText(path); }
            catch (IOException) when (attempt < 5 && File.Exists(path)) { Thread.Sleep(50); }
        }
    }

    /// <summary>The script position of the frame that threw, when the stack trace has one (scripts are emitted with symbols).</summary>
    private static string Where(Exception e, string display)
    {
        var frame = new StackTrace(e, fNeedFileInfo: true).GetFrames().FirstOrDefault(f => f.GetFileName() is { } file
            && file.EndsWith(Path.GetFileName(display), StringComparison.Ordinal));
        return frame is null ? "" : $"({frame.GetFileLineNumber()},{frame.GetFileColumnNumber()})";
    }

    // ---- the hooks the shell calls ----

    public void Connected(SessionView session) => Fire(EventKind.Connected, session);
    public void LoggedIn(SessionView session) => Fire(EventKind.Login, session);
    public void LoginFailed(SessionView session, string userName) => Fire(EventKind.LoginFailed, session, userName);
    public void FileReceived(SessionView session, string virtualPath, long bytes) =>
        Fire(EventKind.FileReceived, session, virtualPath, bytes);
    public void FileSent(SessionView session, string virtualPath, long bytes) => Fire(EventKind.FileSent, session, virtualPath, bytes);
    public void FileDeleted(SessionView session, string virtualPath, long bytes) =>
        Fire(EventKind.FileDeleted, session, virtualPath, bytes);
    public void Disconnected(SessionView session) => Fire(EventKind.Disconnected, session, last: true);

    public async Task<UploadVerdict> BeforeUploadAsync(SessionView session, UserFiles files, string virtualPath, CancellationToken cancel)
    {
        var handlers = _current.HandlersOf(EventKind.BeforeUpload);
        if (handlers.IsEmpty) return UploadVerdict.Go;
        var caller = Caller(session, files);
        long? max = null;
        ImmutableArray<UploadAllowance> allowances = [];
        foreach (var (plugin, registration) in handlers)
        {
            PluginContext? context = null;
            var reply = await RunAsync(plugin, "before-upload handler", registration.Handler,
                token => context = Context(plugin, session, null, caller, token, virtualPath), cancel);
            if (reply is not null) return new UploadVerdict(reply, null);
            // The strictest limit of all the handlers holds.
            if (context?.UploadLimit is { } limit && (max is null || limit < max)) max = limit;
            if (context is not null) allowances = allowances.AddRange(context.Allowances);
        }
        return new UploadVerdict(null, max) { Allowances = allowances };
    }

    /// <summary>What the core carries for one plugin command: its handler, run under the time limit for the calling session.</summary>
    private PluginHandler HandlerFor(LoadedPlugin plugin, CommandRegistration command) =>
        async (session, request, files, choices, cancel) =>
        {
            PluginContext? context = null;
            var reply = await RunAsync(plugin, $"{request.Verb} handler", command.Handler,
                token => context = Context(plugin, session, request, Caller(session, files), token, choices: choices), cancel);
            var after = context?.Choices;
            return new EffectResult.PluginReply(reply) { Choices = after is null || after == choices ? null : after };
        };

    /// <summary>
    /// Events other than before-upload do not hold the session up: they run in the background, in order for each session,
    /// so that a plugin sees connected, login, … disconnected in the order they happened.
    /// </summary>
    private void Fire(EventKind kind, SessionView session, string subject = "", long bytes = 0, bool last = false)
    {
        var handlers = _current.HandlersOf(kind);
        if (!handlers.IsEmpty)
        {
            var queue = _queues.GetOrAdd(session.Id, _ => new EventQueue());
            queue.Enqueue(async () =>
            {
                var caller = Caller(session, null);
                foreach (var (plugin, registration) in handlers)
                    await RunAsync(plugin, $"{kind} handler", registration.Handler,
                        token => Context(plugin, session, null, caller, token, subject, bytes), CancellationToken.None);
            });
        }
        if (last) _queues.TryRemove(session.Id, out _);
    }

    /// <summary>Runs one handler under the time limit: its reply, or a 451 after an exception or a timeout.</summary>
    private async Task<Reply?> RunAsync(LoadedPlugin plugin, string what, Func<PluginContext, Task<Reply?>> handler,
        Func<CancellationToken, PluginContext> makeContext, CancellationToken outer)
    {
        // A plugin that kept failing is off until the next reload: null runs what its command replaced, or answers 500.
        if (plugin.Health.Disabled) return null;
        // One timer for the limit: the handler sees it as ctx.Cancel, and the wait below gives up on it.
        var limit = CancellationTokenSource.CreateLinkedTokenSource(outer);
        limit.CancelAfter(_config.PluginTimeout);
        // On the thread pool, so that a handler that blocks cannot hold up the session past the limit; under the guard's
        // budget, so that plugin code still running at the limit (a loop that ignores ctx.Cancel) is stopped there.
        var task = PluginGuard.Run(() => handler(makeContext(limit.Token)), _config.PluginTimeout, limit.Token);
        try
        {
            var reply = await task.WaitAsync(limit.Token);
            limit.Dispose();
            plugin.Health.Succeeded();
            return reply;
        }
        catch (OperationCanceledException) when (outer.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            // The handler may still be running; its outcome no longer matters, but it must not go unobserved.
            _ = task.ContinueWith(t => { _ = t.Exception; limit.Dispose(); }, TaskScheduler.Default);
            plugin.Log.Warning("{What} ran past the limit of {Seconds} s and was abandoned", what, _config.PluginTimeout.TotalSeconds);
            plugin.Health.Failed();
            return new Reply(451,
                $"Requested action aborted: the {plugin.Name} plugin did not answer within {_config.PluginTimeout.TotalSeconds:0.###} s.");
        }
        catch (Exception e)
        {
            limit.Dispose();
            plugin.Log.Error(e, "{What} failed: {Error}", what, e.Message);
            plugin.Health.Failed();
            return new Reply(451, $"Requested action aborted: local error in processing ({plugin.Name} plugin).");
        }
    }

    /// <summary>The session's user and files as plugins see them: looked up once per hook call, shared by its handlers.</summary>
    private (PluginUser? User, PluginFiles? Files) Caller(SessionView session, UserFiles? files)
    {
        var users = _host?.Users;
        var account = session.User is { } name && users is not null && users.Users.TryGetValue(name, out var found) ? found : null;
        var user = account is null ? null : new PluginUser(account.Name, account.Admin, account.ReadOnly);
        files ??= account is null ? null : new UserFiles(users!.HomePath(account));
        return (user, files is null ? null : new PluginFiles(files, session.Directory, user?.ReadOnly ?? true));
    }

    /// <summary>One handler's context: the caller shared by the call, the log, settings and time limit its plugin's own.</summary>
    private PluginContext Context(LoadedPlugin plugin, SessionView session, Request? request, (PluginUser? User, PluginFiles? Files) caller,
        CancellationToken cancel, string subject = "", long bytes = 0, ImmutableDictionary<string, string>? choices = null) =>
        new(plugin.Name, session, request, caller.User, caller.Files, plugin.Log.ForSession(session), plugin.Settings,
            () => _host?.SessionViews() ?? [], cancel)
        {
            EventSubject = subject,
            EventBytes = bytes,
            Choices = choices ?? Session.NoChoices,
        };

    public void Dispose()
    {
        lock (_reloading)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _watcher?.Dispose();
        _current.Context?.Unload();
    }

    /// <summary>One session's events, run one after another.</summary>
    private sealed class EventQueue
    {
        private readonly Lock _gate = new();
        private Task _tail = Task.CompletedTask;

        public void Enqueue(Func<Task> work)
        {
            lock (_gate)
                _tail = _tail.ContinueWith(_ => work(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)
                    .Unwrap();
        }
    }
}
