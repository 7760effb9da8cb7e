using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Serilog;

namespace ScriptFtp;

/// <summary>
/// One control connection, a thin loop: read a line, dispatch it through the core, write the replies and hand each effect
/// the core returns to its interpreter. The session value is the only state the protocol keeps; the fields here are the
/// I/O resources that go with it.
/// </summary>
internal sealed class Connection
{
    /// <summary>A client that pipelines this many commands behind a transfer is not read further until it catches up.</summary>
    private const int MaxWaiting = 64;

    private readonly FtpHost _host;
    private readonly ControlChannel _control;
    private readonly Transfers _transfers;
    private readonly Queue<Request> _waiting = new();
    private readonly TaskCompletionSource<StopRequest> _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DateTimeOffset _connectedAt;
    private readonly IPAddress _remoteAddress;
    private readonly string _peer;
    private ILogger _log;
    private Session _state;
    private UserFiles? _files;
    private bool _closing;
    private Task<ControlLine?>? _read;

    public Connection(FtpHost host, ControlChannel control, string id, bool implicitTls = false)
    {
        _host = host;
        _control = control;
        _transfers = new Transfers(host, control);
        _connectedAt = host.Time.GetUtcNow();
        var plainAllowed = Security.AddressRange.AnyContains(host.Config.PlainAllowedFrom, Addresses.Normalize(control.Remote.Address));
        // The implicit port is TLS from the first byte, and RFC 4217 has its data connections protected from the start.
        _state = new Session(id, control.Remote, control.Local)
        {
            PlainAllowed = plainAllowed, Secure = implicitTls, BufferSizeSet = implicitTls, ProtectData = implicitTls,
        };
        // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; logs, plugins and the login guard name them as they know themselves.
        _remoteAddress = Addresses.Normalize(control.Remote.Address);
        _peer = new IPEndPoint(_remoteAddress, control.Remote.Port).ToString();
        _log = SetLog(null, null);
    }

    /// <summary>The session as it is now (for WHO, STAT and bans).</summary>
    public SessionView View => new(_state.Id, _remoteAddress, _state.User?.Name, _state.Directory, _connectedAt) { Client = _state.Client };

    /// <summary>Every log line of the session names it: id, address, then the user and the client program once known.</summary>
    private ILogger SetLog(string? user, string? client)
    {
        var who = (user is null ? "" : " " + user) + (client is null ? "" : $" ({client})");
        _log = _host.Log.ForContext("Session", $"[{_state.Id} {_peer}{who}] ");
        _control.Log = _log;
        return _log;
    }

    /// <summary>Ends the session: at once when <paramref name="waitForTransfer"/> is false, else after the running transfer.</summary>
    /// <remarks>Called from other sessions' threads: it only posts the request; the session's own loop acts on it.</remarks>
    public void Stop(Reply reply, bool waitForTransfer) => _stop.TrySetResult(new StopRequest(reply, waitForTransfer));

    private sealed record StopRequest(Reply Reply, bool WaitForTransfer);

    /// <summary>Whether this connection, not logged in, was told to make room for a newer one.</summary>
    public bool Evicted { get; private set; }

    /// <summary>Ends this connection, which has not logged in, to make room before login for a newer one.</summary>
    public void Evict()
    {
        Evicted = true;
        Stop(Protocol.Evicted, waitForTransfer: false);
    }

    public async Task RunAsync()
    {
        _log.Information("Connected");
        _host.Hooks.Connected(View);
        try
        {
            await ServeAsync();
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            _log.Debug("Connection ended: {Reason}", e.Message);
        }
        catch (Exception e)
        {
            _log.Error(e, "Session failed");
        }
        finally
        {
            await _transfers.CloseAsync(_log);
            _host.Hooks.Disconnected(View);
            await _control.DisposeAsync();
            _log.Information("Disconnected");
        }
    }

    private async Task ServeAsync()
    {
        if (_state.Secure && !await ImplicitTlsAsync()) return;
        await _control.SendAsync([Protocol.Greeting(_host.Config.Options)]);
        // The login grace time runs from connect; unlike the idle timeout, traffic does not extend it.
        using var graceOver = new CancellationTokenSource();
        var grace = Task.Delay(_host.Config.LoginGraceTime, _host.Time, graceOver.Token);
        try
        {
            while (!_closing)
            {
                await RunWaitingAsync();
                if (_closing) break;
                if (_waiting.Count < MaxWaiting) _read ??= _control.ReadLineAsync();
                if (!await ServeNextAsync(_state.User is null ? grace : null)) break;
            }
        }
        finally
        {
            await graceOver.CancelAsync();
        }
    }

    /// <summary>Waits for the next thing to happen and handles it; false when the session ends.</summary>
    private async Task<bool> ServeNextAsync(Task? grace)
    {
        var read = _read;
        var transfer = _transfers.InProgress;
        // While a transfer runs the session is busy, not idle; WaitAsync drops its timer as soon as a line arrives.
        var waits = new List<Task>(4) { _stop.Task };
        if (read is not null) waits.Add(transfer is null ? read.WaitAsync(_host.Config.IdleTimeout) : read);
        if (transfer is not null) waits.Add(transfer);
        if (grace is not null) waits.Add(grace);
        var first = await Task.WhenAny(waits);
        if (first == _stop.Task)
        {
            await StopAsync(_stop.Task.Result);
            return false;
        }
        if (first == grace)
        {
            await _control.SendAsync([Protocol.LoginTimeout(_host.Config.LoginGraceTime)]);
            _log.Information("Login grace time over");
            return false;
        }
        if (first == transfer)
        {
            await EndTransferAsync();
            return true;
        }
        if (first.Exception?.InnerException is TimeoutException)
        {
            await _control.SendAsync([Reply.Idle(_host.Config.IdleTimeout)]);
            _log.Information("Idle timeout");
            return false;
        }
        _read = null;
        if (await read! is not { } received)
        {
            await HangUpAsync();
            return false;
        }
        await HandleLineAsync(received);
        return true;
    }

    /// <summary>Commands that waited for a transfer are answered in order once it is over.</summary>
    private async Task RunWaitingAsync()
    {
        while (_state.Transfer is null && _waiting.Count > 0 && !_closing) await DispatchAsync(_waiting.Dequeue());
    }

    private async Task HandleLineAsync(ControlLine line)
    {
        if (line.TooLong)
        {
            await RunAsync(Protocol.LineTooLong(_state));
            return;
        }
        if (Request.Parse(line.Text) is not { } request) return;
        _log.Information("{Command}", request.ToString());
        await DispatchAsync(request);
    }

    private async Task DispatchAsync(Request request)
    {
        var (next, ended) = Protocol.Refresh(_state, _state.User is { } user ? _host.Account(user.Name) : null);
        if (ended is not null)
        {
            _log.Information("Session ended: {Reason}", ended.Lines[0]);
            await _control.SendAsync([ended]);
            _closing = true;
            return;
        }
        Follow(next);
        await RunAsync(Protocol.Dispatch(_host.Context(), _state, request));
    }

    /// <summary>Carries out what the core decided, effect by effect, until it replies, starts a transfer or makes the command wait.
    /// </summary>
    private async Task RunAsync(Outcome outcome)
    {
        while (true)
        {
            switch (outcome)
            {
                case Outcome.Perform perform:
                    Follow(perform.Next);
                    outcome = perform.Then(await PerformAsync(perform.Effect));
                    continue;
                case Outcome.Respond respond:
                    // A TLS 1.3 client resumes with a ticket, and .NET's client uses each one once: one per data connection.
                    if (respond.Next.Data != _state.Data && respond.Next.Data is not DataPlan.Unset) _control.IssueTicket();
                    Follow(respond.Next);
                    await _control.SendAsync(respond.Replies);
                    _closing |= respond.Close;
                    return;
                case Outcome.StartTransfer start:
                    // Started before the session moves on, so that it takes the passive listener its plan names.
                    _transfers.Start(start.Transfer, start.Next, View, _files!, _log, _host.Stopping);
                    Follow(start.Next);
                    return;
                case Outcome.Wait wait:
                    Follow(wait.Next);
                    _waiting.Enqueue(wait.Request);
                    return;
                default:
                    throw new InvalidOperationException($"unknown outcome {outcome.GetType().Name}");
            }
        }
    }

    /// <summary>The session moves on; the transfers let go of the listener and the transfer it no longer names.</summary>
    private void Follow(Session next)
    {
        if (next.Client != _state.Client)
        {
            SetLog(next.User?.Name, next.Client);
            _log.Information("Client: {Client}", next.Client);
        }
        _state = next;
        _transfers.Follow(next);
    }

    /// <summary>Hands an effect to the interpreter of its family.</summary>
    private Task<EffectResult> PerformAsync(Effect effect) => effect switch
    {
        Effect.Authenticate attempt => LogInAsync(attempt),
        Effect.FileEffect file => Task.FromResult(FileEffects.Apply(_files ?? throw new InvalidOperationException("not logged in"), file)),
        Effect.TransferEffect transfer => _transfers.PerformAsync(transfer, _state, _log),
        Effect.WatchControl watch => WatchControlAsync(watch.Within),
        Effect.StartTls start => StartTlsAsync(start.Ready),
        Effect.AdminEffect admin => _host.Administration.PerformAsync(admin, _state.User, _log),
        Effect.PluginEffect plugin => PluginEvents.PerformAsync(plugin, _host.Hooks, View, _files, _host.Stopping),
        _ => throw new InvalidOperationException($"unknown effect {effect.GetType().Name}"),
    };

    private async Task<EffectResult> LogInAsync(Effect.Authenticate attempt)
    {
        var (result, files) = await _host.Authentication.LogInAsync(attempt, _remoteAddress, _log, _host.Stopping);
        if (result is EffectResult.Authenticated { User: var user } && files is not null)
        {
            _files = files;
            SetLog(user.Name, _state.Client);
            _log.Information("Logged in");
        }
        return result;
    }

    /// <summary>The implicit FTPS port: the handshake comes before the greeting.</summary>
    private async Task<bool> ImplicitTlsAsync()
    {
        try
        {
            await _control.StartTlsAsync(_host.Certificates!, _host.Config.HandshakeTimeout);
        }
        catch (Tls.TlsHandshakeException e)
        {
            _log.Warning("TLS handshake failed: {Reason}", e.Message);
            return false;
        }
        _log.Information("Implicit TLS on the control connection: {Tls}", _control.Tls!.Summary);
        return true;
    }

    private async Task<EffectResult> StartTlsAsync(Reply ready)
    {
        if (_host.Certificates is not { } certificates) return new EffectResult.Failed("TLS is not configured.");
        await _control.SendAsync([ready]);
        try
        {
            await _control.StartTlsAsync(certificates, _host.Config.HandshakeTimeout);
        }
        catch (Tls.TlsHandshakeException e)
        {
            _log.Warning("TLS handshake failed: {Reason}", e.Message);
            return new EffectResult.Failed(e.Message);
        }
        _log.Information("TLS on the control connection: {Tls}", _control.Tls!.Summary);
        return new EffectResult.Done();
    }

    private async Task<EffectResult> WatchControlAsync(TimeSpan within) =>
        new EffectResult.Control(await _control.ClosesWithinAsync(within));

    private async Task EndTransferAsync()
    {
        var ended = await _transfers.EndAsync(_log);
        await RunAsync(Protocol.TransferEnded(_host.Context(), _state, ended));
    }

    /// <summary>The client closed the control connection: its transfer is cut, unless it said QUIT first (RFC 959).</summary>
    private async Task HangUpAsync()
    {
        while (Protocol.FinishAfterHangUp(_state) && !_closing)
        {
            await EndTransferAsync();
            await RunWaitingAsync();
        }
    }

    /// <summary>A ban or a shutdown: the transfer is cut or awaited as asked, and answered before the closing reply.</summary>
    private async Task StopAsync(StopRequest stop)
    {
        if (!stop.WaitForTransfer) _transfers.Cancel();
        if (_transfers.InProgress is not null) await EndTransferAsync();
        await _control.SendAsync([stop.Reply]);
    }
}
