using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Globalization;
using System.Net.Sockets;
using Serilog;

namespace ScriptFtp;

/// <summary>The listening server: accepts connections and runs one <see cref="Connection"/> loop each.</summary>
internal sealed class FtpServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Socket? _implicitListener;
    private readonly FtpHost _host;
    private readonly CancellationTokenSource _stopping;
    private readonly Task _acceptLoop;
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private long _nextId;

    private FtpServer(Socket listener, Socket? implicitListener, FtpHost host, CancellationTokenSource stopping)
    {
        _listener = listener;
        _implicitListener = implicitListener;
        _host = host;
        _stopping = stopping;
        Endpoint = (IPEndPoint)listener.LocalEndPoint!;
        ImplicitEndpoint = implicitListener?.LocalEndPoint as IPEndPoint;
        _acceptLoop = implicitListener is null
            ? AcceptLoopAsync(listener, false)
            : Task.WhenAll(AcceptLoopAsync(listener, false), AcceptLoopAsync(implicitListener, true));
    }

    /// <summary>Where the server listens (the real port when 0 was configured).</summary>
    public IPEndPoint Endpoint { get; }

    public FtpHost Host => _host;

    /// <summary>Where the implicit FTPS listener listens; null when it is off.</summary>
    public IPEndPoint? ImplicitEndpoint { get; }

    /// <summary>Opens the users file, binds the port and starts accepting.</summary>
    public static FtpServer Start(ServerConfig config, ILogger log, UserStore users, Func<FtpHost, IServerHooks>? hooks = null,
        TimeProvider? time = null)
    {
        if (config.Certificate is not null && StartupError.SamePorts(config.Port, config.ImplicitPort) is { } same)
            throw new StartupException(same);
        var clock = time ?? TimeProvider.System;
        var guard = new LoginGuard(LoginPolicy.From(config), clock);
        guard.BanChanged += change => LogBan(log, change);
        var stopping = new CancellationTokenSource();
        var certificates = config.Certificate is { } source ? LoadCertificates(source, log, clock) : null;
        var host = new FtpHost(config, log, users, guard, clock, stopping.Token) { Certificates = certificates };
        if (hooks is not null) host.Hooks = hooks(host);
        users.Changed += snapshot => EndSessionsOfBannedOrDeleted(host, snapshot);
        var socket = Bind(config.Listen, config.Port, StartupError.Listener.Control, log);
        Socket? implicitSocket = null;
        try
        {
            if (certificates is not null && config.ImplicitPort != 0)
                implicitSocket = Bind(config.Listen, config.ImplicitPort, StartupError.Listener.ImplicitTls, log);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var server = new FtpServer(socket, implicitSocket, host, stopping);
        log.Information("ScriptFtp listening on {Endpoint}, root {Root}", server.Endpoint, config.Root);
        if (server.ImplicitEndpoint is { } implicitEndpoint) log.Information("Implicit FTPS on {Endpoint}", implicitEndpoint);
        return server;
    }

    private static Tls.TlsCertificates LoadCertificates(Tls.CertificateSource source, ILogger log, TimeProvider clock)
    {
        try
        {
            return Tls.TlsCertificates.Load(source, log, clock);
        }
        catch (Tls.TlsCertificateException e)
        {
            throw StartupError.ForCertificate(source, e);
        }
    }

    private static void LogBan(ILogger log, BanChange change)
    {
        switch (change)
        {
            case BanChange.Started { Ban: var ban }:
                log.Warning("Banned {Address} until {Until:u} (offence {Offences}) after too many failed logins", ban.Address, ban.Until,
                    ban.Offences);
                break;
            case BanChange.Lifted lifted:
                log.Information("Ban of {Address} lifted by admin {Admin}", lifted.Address, lifted.By);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change, "unknown ban change");
        }
    }

    private static void EndSessionsOfBannedOrDeleted(FtpHost host, ImmutableDictionary<string, UserAccount> users)
    {
        foreach (var connection in host.Sessions.Keys)
        {
            if (connection.View.User is { } name && Protocol.AccountEnded(Authentication.View(users, name)) is { } ended)
                connection.Stop(ended, waitForTransfer: false);
        }
    }

    private static Socket Bind(IPAddress address, int port, StartupError.Listener listener, ILogger log)
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
            catch (SocketException e) when (StartupError.ForBind(e.SocketErrorCode, port, listener) is { } message)
            {
                dual.Dispose();
                throw new StartupException(message, e);
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
        catch (SocketException e) when (StartupError.ForBind(e.SocketErrorCode, port, listener) is { } message)
        {
            socket.Dispose();
            throw new StartupException(message, e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptLoopAsync(Socket listener, bool implicitTls)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await listener.AcceptAsync(_stopping.Token); }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException) when (listener.SafeHandle.IsClosed || _stopping.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e)
            {
                _host.Log.Warning("Accept failed: {Reason}", e.Message);
                continue;
            }
            var task = Task.Run(() => ServeAsync(socket, implicitTls));
            _running.TryAdd(task, 0);
            _ = task.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket socket, bool implicitTls)
    {
        if (ControlChannel.Open(socket, _host.Config.DataTimeout, _host.Stopping, _host.Log) is not { } control) return;
        var remote = Addresses.Normalize(control.Remote.Address);
        if (Refusal(remote) is { } refusal)
        {
            _host.Log.Warning("Refused a connection from {Remote}: {Reason}", remote, refusal.Lines[0]);
            try { await control.SendAsync([refusal]); }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { }
            await control.DisposeAsync();
            return;
        }
        MakeRoomBeforeLogin();
        var connection = new Connection(_host, control, Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture),
            implicitTls);
        _host.Sessions.TryAdd(connection, 0);
        try { await connection.RunAsync(); }
        finally { _host.Sessions.TryRemove(connection, out _); }
    }

    /// <summary>
    /// A banned address is turned away before anything else is said; otherwise the limits. Only logged-in sessions count
    /// towards max_connections: connections that have not logged in have their own limit (<see cref="MakeRoomBeforeLogin"/>).
    /// </summary>
    private Reply? Refusal(IPAddress remote)
    {
        if (_host.Guard.BannedFor(remote) is { } banned) return Protocol.AddressBanned(banned);
        var config = _host.Config;
        var views = _host.Sessions.Keys.Select(c => c.View).ToList();
        return Protocol.Admit(views.Count(v => v.User is not null), views.Count(v => v.RemoteAddress.Equals(remote)),
            config.MaxConnections, config.MaxConnectionsPerAddress);
    }

    /// <summary>
    /// The pre-login limit is full: the oldest pre-login connection of the address holding the most gives way, so a flood
    /// from a few addresses cannot keep a real user out (OpenSSH's MaxStartups refuses instead, which lets it).
    /// </summary>
    private void MakeRoomBeforeLogin()
    {
        var waiting = _host.Sessions.Keys.Where(c => c.View.User is null && !c.Evicted).ToList();
        var holders = waiting.GroupBy(c => c.View.RemoteAddress).ToDictionary(g => g.Key, g => g.Count());
        if (Protocol.EvictFrom(holders, _host.Config.MaxPreLoginConnections) is not { } address) return;
        var oldest = waiting.Where(c => c.View.RemoteAddress.Equals(address)).MinBy(c => c.View.ConnectedAt)!;
        _host.Log.Information("Evicting a connection from {Address} that has not logged in: {Count} are waiting", address, waiting.Count);
        oldest.Evict();
    }

    /// <summary>Stops accepting, sends 421 to idle sessions, lets running transfers finish within the grace period.</summary>
    public async Task StopAsync()
    {
        if (_listener.SafeHandle.IsClosed) return;
        _host.Log.Information("Shutting down");
        _listener.Dispose();
        _implicitListener?.Dispose();
        await _acceptLoop;
        foreach (var connection in _host.Sessions.Keys)
            connection.Stop(Reply.ShuttingDown, waitForTransfer: true);
        var all = Task.WhenAll(_running.Keys);
        if (await Task.WhenAny(all, Task.Delay(_host.Config.ShutdownGrace)) != all)
        {
            _host.Log.Warning("Transfers still running after {Seconds} s; closing them", _host.Config.ShutdownGrace.TotalSeconds);
            await _stopping.CancelAsync();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5)));
        }
        await _stopping.CancelAsync();
        _host.Log.Information("Stopped");
    }

    /// <summary>Drops every connection at once, as a crash would (no 421, transfers cut).</summary>
    public async Task AbortAsync()
    {
        _listener.Dispose();
        _implicitListener?.Dispose();
        await _stopping.CancelAsync();
        await _acceptLoop;
        await Task.WhenAny(Task.WhenAll(_running.Keys), Task.Delay(TimeSpan.FromSeconds(5)));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stopping.Dispose();
    }
}
