using System.Net;
using System.Net.Sockets;
using Serilog;

namespace ScriptFtp;

/// <summary>
/// The interpreter of the data-connection effects (<see cref="Effect.TransferEffect"/>) for one connection: its passive
/// listener and the transfer in progress. The session is the truth: the listener stays open while the session's plan
/// names it, and a transfer (with an upload's partial file) lives while the session has one; see <see cref="Follow"/>.
/// </summary>
internal sealed class Transfers(FtpHost host, ControlChannel control)
{
    private readonly PassivePort _passive = new(host.Config.PassivePortMin, host.Config.PassivePortMax);
    private Running? _running;

    /// <summary>One transfer: the task moving its bytes, how far it got, how to stop it, and its file side.</summary>
    private sealed record Running(Task<EffectResult> Task, TransferEnd End, DataChannel.Counter Counter, CancellationTokenSource Cancel);

    /// <summary>The transfer in progress, until its end has been handed to the core; the connection waits on it.</summary>
    public Task<EffectResult>? InProgress { get; private set; }

    /// <summary>Starts a transfer on the data connection its plan names; the listener that plan names goes with it.</summary>
    public void Start(Effect.Transfer transfer, Session session, SessionView view, UserFiles files, ILogger log, CancellationToken lifetime)
    {
        var listener = _passive.Take(transfer.Plan);
        var end = TransferEnd.For(transfer, files, host, view, log);
        var counter = new DataChannel.Counter();
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(lifetime);
        var task = RunAsync(end, transfer.Plan, listener, session, counter, log, cancel.Token);
        _running = new Running(task, end, counter, cancel);
        InProgress = task;
    }

    /// <summary>Cuts the transfer in progress short (ABOR, a ban, a server that cannot wait).</summary>
    public void Cancel() => _running?.Cancel.Cancel();

    /// <summary>Waits for the transfer in progress to end; a failure nobody foresaw becomes <see cref="TransferFault.Crashed"/>.</summary>
    public async Task<EffectResult> EndAsync(ILogger log)
    {
        var running = _running ?? throw new InvalidOperationException("no transfer is in progress");
        InProgress = null;
        try
        {
            return await running.Task;
        }
        catch (Exception e)
        {
            log.Error(e, "Transfer failed");
            return new EffectResult.Transferred(running.Counter.Bytes, TimeSpan.Zero, TransferFault.Crashed);
        }
    }

    public async Task<EffectResult> PerformAsync(Effect.TransferEffect effect, Session session, ILogger log)
    {
        switch (effect)
        {
            case Effect.OpenPassive:
                return OpenPassive(session.Local.Address, log);
            case Effect.AbortTransfer:
                Cancel();
                return await EndAsync(log);
            case Effect.TransferProgress:
                return new EffectResult.Progress(_running?.Counter.Bytes ?? 0);
            case Effect.CommitUpload:
                return Upload().Commit();
            case Effect.DiscardUpload discard:
                Upload().Discard(discard.Reason);
                return new EffectResult.Done();
            default:
                throw new ArgumentException($"{effect.GetType().Name} is started with Outcome.StartTransfer", nameof(effect));
        }
    }

    private TransferEnd.FileUpload Upload() =>
        _running?.End as TransferEnd.FileUpload ?? throw new InvalidOperationException("no upload has ended");

    /// <summary>
    /// Lets go of what the session no longer names: a passive listener its plan does not use, a transfer that has ended
    /// (removing an upload's partial file that was not stored).
    /// </summary>
    public void Follow(Session session)
    {
        _passive.Follow(session.Data);
        if (_running is { Task.IsCompleted: true } ended && session.Transfer is null)
        {
            _running = null;
            ended.End.Dispose();
            ended.Cancel.Dispose();
        }
    }

    private EffectResult OpenPassive(IPAddress local, ILogger log)
    {
        try
        {
            return new EffectResult.Listening(_passive.Open(local), host.Config.PublicAddress ?? Addresses.Normalize(local));
        }
        catch (SocketException e)
        {
            log.Warning("No passive port available: {Reason}", e.Message);
            return new EffectResult.Failed(Reasons.NoPassivePort);
        }
    }

    /// <summary>
    /// The one transfer runner, for every verb that uses a data connection: prepare the file side, open the data
    /// connection, send the 150, move the bytes.
    /// </summary>
    private async Task<EffectResult> RunAsync(TransferEnd end, DataPlan plan, Socket? listener, Session session,
        DataChannel.Counter counter, ILogger log, CancellationToken cancel)
    {
        // The plan is spent by this command whatever happens: a refused transfer must not leave the passive port open.
        using var spent = listener;
        try
        {
            if (await end.PrepareAsync(cancel) is { } refused) return refused;
            using var data = await OpenDataAsync(plan, listener, session, log, cancel);
            if (data is null) return new EffectResult.Refused(Reply.CantOpenData);
            listener?.Dispose();
            if (end.Open() is { } failed) return failed;
            await control.SendAsync([end.Opening]);
            var moved = await end.MoveAsync(data, counter, cancel);
            try { data.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            return moved;
        }
        catch (OperationCanceledException)
        {
            return new EffectResult.Transferred(counter.Bytes, TimeSpan.Zero, TransferFault.Interrupted);
        }
    }

    private static async Task<Socket?> OpenDataAsync(DataPlan plan, Socket? listener, Session session, ILogger log,
        CancellationToken cancel)
    {
        try
        {
            return await DataChannel.OpenAsync(plan, listener, session, cancel);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            log.Information("Data connection failed: {Reason}", e.Message);
            return null;
        }
    }

    /// <summary>The session is over: the transfer is cut, an upload not stored is removed, the listener closed.</summary>
    public async Task CloseAsync(ILogger log)
    {
        _passive.Close();
        if (_running is not { } running) return;
        _running = null;
        InProgress = null;
        await running.Cancel.CancelAsync();
        try { await running.Task; }
        catch (Exception e) { log.Debug("Transfer ended: {Reason}", e.Message); }
        running.End.Dispose();
        running.Cancel.Dispose();
    }
}
