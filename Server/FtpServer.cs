using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Serilog;

namespace ScriptFtp;

/// <summary>What every connection shares: configuration, users, the login guard, plugins and the list of sessions.</summary>
internal sealed class FtpHost(ServerConfig config, ILogger log, UserStore users, LoginGuard guard, TimeProvider time, CancellationToken stopping)
{
    private volatile IServerHooks hooks = new NoHooks(Protocol.BuiltIns);

    public ServerConfig Config => config;
    public ILogger Log => log;
    public UserStore Users => users;
    public LoginGuard Guard => guard;
    public TimeProvider Time => time;
    public CancellationToken Stopping => stopping;
    public DateTimeOffset Started { get; } = time.GetUtcNow();
    public ConcurrentDictionary<Connection, byte> Sessions { get; } = new();

    /// <summary>The plugin hooks; replaced whole on reload.</summary>
    public IServerHooks Hooks
    {
        get => hooks;
        set => hooks = value;
    }

    public ImmutableArray<SessionView> SessionViews() => [.. Sessions.Keys.Select(c => c.View).OrderBy(v => v.ConnectedAt)];

    public ImmutableArray<string> StatusLines()
    {
        var uptime = time.GetUtcNow() - Started;
        return
        [
            $" {Sessions.Count} session(s) connected",
            $" Up for {(int)uptime.TotalDays}d {uptime.Hours:00}:{uptime.Minutes:00}:{uptime.Seconds:00}",
        ];
    }

    public async Task<EffectResult> AdministerAsync(UserView admin, Effect.Administer command, ILogger sessionLog)
    {
        var result = command.Action switch
        {
            AdminAction.AddUser => await users.AddUserAsync(admin.Name, command.Name, command.Password!),
            AdminAction.DeleteUser => await users.DeleteUserAsync(admin.Name, command.Name),
            AdminAction.Ban => await users.BanAsync(admin.Name, command.Name),
            AdminAction.Unban => await users.UnbanAsync(admin.Name, command.Name),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command.Action, "unknown admin action"),
        };
        // A ban or deletion ends that user's sessions through the store's Changed event, like a hand edit does.
        sessionLog.Information("Admin {Action} {Target}: {Outcome}", command.Action, command.Name, result.Message);
        return result.Ok ? new EffectResult.Done(result.Message) : new EffectResult.Failed(result.Message);
    }

    /// <summary>The 421 that ends a session of <paramref name="name"/>: the account was deleted or banned; null while it stands.</summary>
    public static Reply? AccountEnded(ImmutableDictionary<string, UserAccount> users, string name) =>
        !users.TryGetValue(name, out var account) ? Reply.Closing("Your account has been deleted.")
        : account.Banned ? Reply.Closing("Your account has been banned.")
        : null;
}

/// <summary>The listening server: accepts connections and runs one <see cref="Connection"/> loop each.</summary>
internal sealed class FtpServer : IAsyncDisposable
{
    private readonly Socket listener;
    private readonly FtpHost host;
    private readonly CancellationTokenSource stopping;
    private readonly Task acceptLoop;
    private readonly ConcurrentDictionary<Task, byte> running = new();
    private long nextId;

    private FtpServer(Socket listener, FtpHost host, CancellationTokenSource stopping)
    {
        this.listener = listener;
        this.host = host;
        this.stopping = stopping;
        Endpoint = (IPEndPoint)listener.LocalEndPoint!;
        acceptLoop = AcceptLoopAsync();
    }

    /// <summary>Where the server listens (the real port when 0 was configured).</summary>
    public IPEndPoint Endpoint { get; }

    public FtpHost Host => host;

    /// <summary>Opens the users file, binds the port and starts accepting.</summary>
    public static FtpServer Start(ServerConfig config, ILogger log, UserStore users, Func<FtpHost, IServerHooks>? hooks = null, TimeProvider? time = null)
    {
        Directory.CreateDirectory(config.Root);
        var clock = time ?? TimeProvider.System;
        var guard = new LoginGuard(config.MaxFailedLogins, config.FailureWindow, config.LoginDelay, config.Lockout, clock);
        var stopping = new CancellationTokenSource();
        var host = new FtpHost(config, log, users, guard, clock, stopping.Token);
        if (hooks is not null) host.Hooks = hooks(host);
        users.Changed += snapshot => EndSessionsOfBannedOrDeleted(host, snapshot);
        var socket = Bind(config.Listen, config.Port, log);
        var server = new FtpServer(socket, host, stopping);
        log.Information("ScriptFtp listening on {Endpoint}, root {Root}", server.Endpoint, config.Root);
        return server;
    }

    private static void EndSessionsOfBannedOrDeleted(FtpHost host, ImmutableDictionary<string, UserAccount> users)
    {
        foreach (var connection in host.Sessions.Keys)
        {
            if (connection.View.User is { } name && FtpHost.AccountEnded(users, name) is { } ended)
                connection.Stop(ended, waitForTransfer: false);
        }
    }

    private static Socket Bind(IPAddress address, int port, ILogger log)
    {
        if (address.Equals(IPAddress.IPv6Any) && Socket.OSSupportsIPv6)
        {
            var dual = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                dual.DualMode = true;
                dual.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
                dual.Listen(512);
                return dual;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported)
            {
                dual.Dispose();
                log.Warning("IPv6 is not available ({Reason}); listening on IPv4 only", e.Message);
                address = IPAddress.Any;
            }
        }
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            socket.Listen(512);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await listener.AcceptAsync(stopping.Token); }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException) when (listener.SafeHandle.IsClosed || stopping.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e)
            {
                host.Log.Warning("Accept failed: {Reason}", e.Message);
                continue;
            }
            var task = Task.Run(() => ServeAsync(socket));
            running.TryAdd(task, 0);
            _ = task.ContinueWith(t => running.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        IPAddress remote;
        try
        {
            // Replies go out one whole write at a time. With Nagle on, the 226 after a transfer waits for the client's
            // delayed ACK of the 150 (40 ms on Linux), which made every small-file transfer 40 ms slower.
            socket.NoDelay = true;
            // Clients send the Telnet Synch before ABOR as TCP urgent data; inline, its DM byte reaches the framer instead of vanishing.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.OutOfBandInline, true);
            remote = DataAddress.Normalize(((IPEndPoint)socket.RemoteEndPoint!).Address);
        }
        catch (SocketException e)
        {
            // A peer that resets at once (a port scan): some systems then refuse socket options.
            host.Log.Debug("A connection ended before it was served: {Reason}", e.Message);
            socket.Dispose();
            return;
        }
        var refusal = host.Sessions.Count >= host.Config.MaxConnections
            ? "Too many connections; try again later."
            : host.Sessions.Keys.Count(c => c.View.RemoteAddress.Equals(remote)) >= host.Config.MaxConnectionsPerAddress
                ? "Too many connections from your address; try again later."
                : null;
        if (refusal is not null)
        {
            host.Log.Warning("Refused a connection from {Remote}: {Reason}", remote, refusal);
            try { await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(Reply.Closing(refusal).Format())); } catch (SocketException) { }
            socket.Dispose();
            return;
        }
        var connection = new Connection(host, socket, Interlocked.Increment(ref nextId).ToString(System.Globalization.CultureInfo.InvariantCulture));
        host.Sessions.TryAdd(connection, 0);
        try { await connection.RunAsync(); }
        finally { host.Sessions.TryRemove(connection, out _); }
    }

    /// <summary>Stops accepting, sends 421 to idle sessions, lets running transfers finish within the grace period.</summary>
    public async Task StopAsync()
    {
        if (listener.SafeHandle.IsClosed) return;
        host.Log.Information("Shutting down");
        listener.Dispose();
        await acceptLoop;
        foreach (var connection in host.Sessions.Keys)
            connection.Stop(Reply.Closing("Server shutting down."), waitForTransfer: true);
        var all = Task.WhenAll(running.Keys);
        if (await Task.WhenAny(all, Task.Delay(host.Config.ShutdownGrace)) != all)
        {
            host.Log.Warning("Transfers still running after {Seconds} s; closing them", host.Config.ShutdownGrace.TotalSeconds);
            await stopping.CancelAsync();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5)));
        }
        await stopping.CancelAsync();
        host.Log.Information("Stopped");
    }

    /// <summary>Drops every connection at once, as a crash would (no 421, transfers cut).</summary>
    public async Task AbortAsync()
    {
        listener.Dispose();
        await stopping.CancelAsync();
        await acceptLoop;
        await Task.WhenAny(Task.WhenAll(running.Keys), Task.Delay(TimeSpan.FromSeconds(5)));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        stopping.Dispose();
    }
}
