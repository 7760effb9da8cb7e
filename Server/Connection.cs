using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Serilog;

namespace ScriptFtp;

/// <summary>
/// One control connection: read a line, dispatch it through the core, perform the effects it asks for, write the replies.
/// The session value is the only state the protocol keeps; the fields here are the I/O resources that go with it.
/// </summary>
internal sealed class Connection
{
    private const int MaxLineLength = 8192;
    private const int MaxConsecutiveErrors = 30;
    private const int MaxQueuedLines = 64;

    private readonly FtpHost host;
    private readonly Socket socket;
    private readonly NetworkStream stream;
    private readonly SemaphoreSlim writeLock = new(1, 1);
    private readonly CancellationTokenSource lifetime;
    private readonly TaskCompletionSource<StopRequest> stopRequest = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<LineReader.Line> queued = new();
    private readonly DateTimeOffset connectedAt;
    private ILogger log;
    private Session state;
    private UserFiles? files;
    private Socket? passiveListener;
    private RunningTransfer? transfer;
    private readonly LineReader reader;
    private readonly IPAddress remoteAddress;
    private readonly string peer;
    private volatile bool quitQueued;
    private int consecutiveErrors;
    private bool closing;

    private sealed record RunningTransfer(Task<EffectResult> Task, CancellationTokenSource Cancel, Func<EffectResult, Outcome> Then, DataChannel.Counter Counter);

    public Connection(FtpHost host, Socket socket, string id)
    {
        this.host = host;
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: true);
        reader = new LineReader(stream, MaxLineLength);
        lifetime = CancellationTokenSource.CreateLinkedTokenSource(host.Stopping);
        connectedAt = host.Time.GetUtcNow();
        var remote = (IPEndPoint)socket.RemoteEndPoint!;
        state = new Session(id, remote, (IPEndPoint)socket.LocalEndPoint!);
        // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; logs, plugins and the login guard name them as they know themselves.
        remoteAddress = DataAddress.Normalize(remote.Address);
        peer = new IPEndPoint(remoteAddress, remote.Port).ToString();
        log = host.Log.ForContext("Session", $"[{id} {peer}] ");
    }

    /// <summary>The session as it is now (for WHO, STAT and bans).</summary>
    public SessionView View => new(state.Id, remoteAddress, state.User?.Name, state.Directory, connectedAt);

    /// <summary>Ends the session: at once when <paramref name="waitForTransfer"/> is false, else after the running transfer.</summary>
    /// <remarks>Called from other sessions' threads: it only posts the request; the session's own loop acts on it.</remarks>
    public void Stop(Reply reply, bool waitForTransfer) => stopRequest.TrySetResult(new StopRequest(reply, waitForTransfer));

    private sealed record StopRequest(Reply Reply, bool WaitForTransfer);

    public async Task RunAsync()
    {
        log.Information("Connected");
        host.Hooks.Connected(View);
        Task<LineReader.Line?>? read = null;
        try
        {
            await SendAsync([Protocol.Greeting(host.Config.Options)]);
            while (!closing)
            {
                // Commands that arrived during a transfer are answered in order once it is over.
                while (transfer is null && queued.Count > 0 && !closing) await HandleLineAsync(queued.Dequeue());
                if (closing) break;
                // A client that pipelines without reading replies is not read further until it catches up.
                if (queued.Count < MaxQueuedLines) read ??= reader.ReadAsync(lifetime.Token);
                // While a transfer runs the session is busy, not idle; WaitAsync drops its timer as soon as a line arrives.
                var waits = new List<Task> { stopRequest.Task };
                if (read is not null) waits.Add(transfer is null ? read.WaitAsync(host.Config.IdleTimeout) : read);
                if (transfer is { } running) waits.Add(running.Task);
                var first = await Task.WhenAny(waits);
                if (first == stopRequest.Task)
                {
                    var stop = stopRequest.Task.Result;
                    if (!stop.WaitForTransfer) transfer?.Cancel.Cancel();
                    await FinishTransferAsync();
                    await SendAsync([stop.Reply]);
                    break;
                }
                if (transfer is not null && first == transfer.Task)
                {
                    await FinishTransferAsync();
                    continue;
                }
                if (first.Exception?.InnerException is TimeoutException)
                {
                    await SendAsync([Reply.Closing($"Idle for {host.Config.IdleTimeout.TotalSeconds:0} seconds; closing the connection.")]);
                    log.Information("Idle timeout");
                    break;
                }
                var line = await read!;
                read = null;
                if (line is null)
                {
                    // RFC 959: QUIT during a transfer lets it finish and is answered after; a client may close its
                    // sending side right after QUIT and still read those replies.
                    if (quitQueued)
                    {
                        await FinishTransferAsync();
                        while (queued.Count > 0 && !closing) await HandleLineAsync(queued.Dequeue());
                    }
                    break;
                }
                await HandleLineAsync(line.Value);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            log.Debug("Connection ended: {Reason}", e.Message);
        }
        catch (Exception e)
        {
            log.Error(e, "Session failed");
        }
        finally
        {
            transfer?.Cancel.Cancel();
            if (transfer is not null)
                try { await transfer.Task; } catch (Exception e) { log.Debug("Transfer ended: {Reason}", e.Message); }
            passiveListener?.Dispose();
            host.Hooks.Disconnected(View);
            try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
            await stream.DisposeAsync();
            lifetime.Dispose();
            log.Information("Disconnected");
        }
    }

    private async Task HandleLineAsync(LineReader.Line line)
    {
        if (line.TooLong)
        {
            await SendAsync([new Reply(500, $"Command line too long (limit {MaxLineLength} bytes).")]);
            return;
        }
        var request = Request.Parse(line.Text);
        if (request is null) return;
        log.Information("{Command}", request.ToString());
        if (transfer is not null)
        {
            switch (request.Verb)
            {
                case "ABOR":
                    transfer.Cancel.Cancel();
                    await FinishTransferAsync();
                    await SendAsync([Reply.AbortDone]);
                    return;
                case "STAT" when !request.HasArgument:
                    await SendAsync([new Reply(213, $"Transfer in progress: {transfer.Counter.Bytes} bytes so far.")]);
                    return;
                default:
                    // Answered in order after the transfer; meanwhile ABOR must still be seen.
                    if (request.Verb == "QUIT") quitQueued = true;
                    queued.Enqueue(line);
                    return;
            }
        }
        if (RefreshRights() is { } ended)
        {
            log.Information("Session ended: {Reason}", ended.Lines[0]);
            await SendAsync([ended]);
            closing = true;
            return;
        }
        var context = new Context(host.Hooks.Commands, host.Config.Options, host.Time.GetUtcNow());
        await RunAsync(Protocol.Dispatch(context, state, request));
    }

    /// <summary>
    /// An admin's change to this user applies from the next command, not the next login; a ban or deletion that raced
    /// with this session's login ends it here. Returns the closing reply in that case.
    /// </summary>
    private Reply? RefreshRights()
    {
        if (state.User is not { } user) return null;
        var users = host.Users.Users;
        if (FtpHost.AccountEnded(users, user.Name) is { } ended) return ended;
        var account = users[user.Name];
        if (account.Admin != user.Admin || account.ReadOnly != user.ReadOnly)
            state = state with { Login = new Login.LoggedIn(user with { Admin = account.Admin, ReadOnly = account.ReadOnly }) };
        return null;
    }

    private async Task RunAsync(Outcome outcome)
    {
        while (true)
        {
            switch (outcome)
            {
                case Outcome.Respond respond:
                    state = respond.Next;
                    await SendAsync(respond.Replies);
                    if (respond.Close) closing = true;
                    return;
                case Outcome.Perform { Effect: Effect.SendFile or Effect.SendText or Effect.ReceiveFile } perform:
                    state = perform.Next;
                    StartTransfer(perform);
                    return;
                case Outcome.Perform perform:
                    state = perform.Next;
                    outcome = perform.Then(await PerformAsync(perform.Effect));
                    break;
                default:
                    throw new InvalidOperationException($"unknown outcome {outcome.GetType().Name}");
            }
        }
    }

    private async Task SendAsync(ImmutableArray<Reply> replies)
    {
        if (replies.IsEmpty) return;
        var text = string.Concat(replies.Select(r => r.Format()));
        foreach (var reply in replies)
        {
            consecutiveErrors = reply.Code >= 500 ? consecutiveErrors + 1 : 0;
            log.Debug("Reply {Code} {Text}", reply.Code, reply.Lines.FirstOrDefault());
        }
        await writeLock.WaitAsync(lifetime.Token);
        // A client that never reads its replies would otherwise hold the session (and a connection slot) forever.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token);
        timeout.CancelAfter(host.Config.DataTimeout);
        try { await stream.WriteAsync(Encoding.UTF8.GetBytes(text), timeout.Token); }
        finally { writeLock.Release(); }
        if (consecutiveErrors >= MaxConsecutiveErrors && !closing)
        {
            closing = true;
            await SendAsync([Reply.Closing("Too many errors; closing the connection.")]);
        }
    }

    private async Task<EffectResult> PerformAsync(Effect effect)
    {
        switch (effect)
        {
            case Effect.Authenticate a:
                return await AuthenticateAsync(a);
            case Effect.OpenPassive:
                passiveListener?.Dispose();
                passiveListener = null;
                try
                {
                    passiveListener = DataChannel.Listen(state.Local.Address, host.Config.PassivePortMin, host.Config.PassivePortMax);
                }
                catch (SocketException e)
                {
                    log.Warning("No passive port available: {Reason}", e.Message);
                    return new EffectResult.Failed("No passive port is free; try again later.");
                }
                var endpoint = (IPEndPoint)passiveListener.LocalEndPoint!;
                return new EffectResult.Listening(endpoint, host.Config.PublicAddress ?? DataAddress.Normalize(state.Local.Address));
            case Effect.Administer admin:
                return await host.AdministerAsync(state.User!, admin, log);
            case Effect.ServerStatus:
                return new EffectResult.Status(host.StatusLines());
            case Effect.RunPlugin run:
                return await host.Hooks.RunPluginAsync(run, View, files, lifetime.Token);
            default:
                return files is null
                    ? throw new InvalidOperationException($"{effect.GetType().Name} before login")
                    : files.Apply(effect);
        }
    }

    private async Task<EffectResult> AuthenticateAsync(Effect.Authenticate attempt)
    {
        var address = remoteAddress;
        switch (host.Guard.Check(address))
        {
            case LoginVerdict.Refused refused:
                log.Warning("Login refused: {Address} is locked out for {Seconds:0} more seconds", address, refused.Remaining.TotalSeconds);
                var wait = refused.Remaining.TotalSeconds < 120 ? $"{Math.Ceiling(refused.Remaining.TotalSeconds):0} seconds" : $"{Math.Ceiling(refused.Remaining.TotalMinutes):0} minutes";
                return new EffectResult.Refused(Reply.Closing($"Too many failed logins from your address; try again in {wait}."));
            case LoginVerdict.Delay delay:
                log.Warning("Slowing down logins from {Address} by {Seconds:0.#} s after repeated failures", address, delay.Duration.TotalSeconds);
                await Task.Delay(delay.Duration, lifetime.Token);
                break;
        }
        var (status, account) = host.Users.Authenticate(attempt.Name, attempt.Password);
        if (status == AuthStatus.Ok && account is not null)
        {
            host.Guard.RecordSuccess(address, account.Name);
            // The password just proved right is the only chance to hash a hand-written plain-text one. Best effort:
            // a users file that cannot be written (mounted read-only, say) must not cost the user their login.
            if (Passwords.IsPlainText(account.PasswordHash))
            {
                try { await host.Users.StoreHashedAsync(account.Name, attempt.Password); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException or InvalidOperationException)
                {
                    log.Warning("The plain-text password of {User} could not be replaced by its hash: {Reason}", account.Name, e.Message);
                }
            }
            string home;
            try
            {
                home = host.Users.HomePath(account);
                Directory.CreateDirectory(home);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                log.Error("Home folder of {User} is unavailable: {Reason}", account.Name, e.Message);
                return new EffectResult.Refused(new Reply(530, "Login refused: your home folder is unavailable; ask the administrator."));
            }
            files = new UserFiles(home);
            log = host.Log.ForContext("Session", $"[{state.Id} {peer} {account.Name}] ");
            log.Information("Logged in");
            var user = new UserView(account.Name, account.Admin, account.ReadOnly);
            var view = View with { User = account.Name };
            host.Hooks.LoggedIn(view);
            return new EffectResult.Authenticated(user);
        }
        host.Guard.RecordFailure(address, attempt.Name);
        host.Hooks.LoginFailed(View, attempt.Name);
        if (status == AuthStatus.Banned)
        {
            log.Warning("Login refused for banned user {User}", attempt.Name);
            return new EffectResult.Refused(new Reply(530, "Login refused: this account is banned."));
        }
        log.Warning("Failed login for {User}", attempt.Name);
        return new EffectResult.Refused(new Reply(530, "Login incorrect."));
    }

    private void StartTransfer(Outcome.Perform perform)
    {
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token);
        var counter = new DataChannel.Counter();
        var plan = state.Data;
        var listener = passiveListener;
        passiveListener = null;
        transfer = new RunningTransfer(TransferAsync(perform.Effect, plan, listener, counter, cancel.Token), cancel, perform.Then, counter);
    }

    private async Task FinishTransferAsync()
    {
        if (transfer is not { } running) return;
        EffectResult result;
        try { result = await running.Task; }
        catch (Exception e)
        {
            log.Error(e, "Transfer failed");
            result = new EffectResult.Transferred(running.Counter.Bytes, "", false, "Local error in processing.");
        }
        transfer = null;
        running.Cancel.Dispose();
        await RunAsync(running.Then(result));
    }

    private async Task<EffectResult> TransferAsync(Effect effect, DataPlan plan, Socket? listener, DataChannel.Counter counter, CancellationToken cancel)
    {
        // The plan is spent by this command whatever happens: a refused transfer must not leave the passive port open.
        using var _ = listener;
        try
        {
            var userFiles = files!;
            var (virtualPath, upload) = effect switch
            {
                Effect.SendFile s => (s.Path, false),
                Effect.ReceiveFile r => (r.Path, true),
                Effect.SendText t => (t.What, false),
                _ => throw new ArgumentException("not a transfer", nameof(effect)),
            };
            string? physical = null;
            if (effect is not Effect.SendText)
            {
                physical = userFiles.Physical(virtualPath);
                if (physical is null) return new EffectResult.Failed("File name not allowed.");
            }
            var verdict = effect is Effect.ReceiveFile ? await host.Hooks.BeforeUploadAsync(View, userFiles, virtualPath, cancel) : UploadVerdict.Go;
            if (verdict.Refusal is { } refusal)
            {
                log.Information("Upload of {Path} refused by a plugin: {Reply}", virtualPath, refusal.Lines.FirstOrDefault());
                return new EffectResult.Refused(refusal);
            }
            // A download's file is opened before the data connection, so an unreadable file is a 550, not a broken transfer.
            await using var source = effect is Effect.SendFile ? OpenForReading(physical!) : null;
            if (effect is Effect.SendFile && source is null) return new EffectResult.Failed("Permission denied.");

            Socket data;
            try
            {
                data = plan switch
                {
                    DataPlan.Passive when listener is not null => await DataChannel.AcceptAsync(listener, state.Remote.Address, cancel),
                    DataPlan.Active a => await DataChannel.ConnectAsync(a.Target, state.Local.Address, cancel),
                    _ => throw new SocketException((int)SocketError.NotConnected),
                };
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                log.Information("Data connection failed: {Reason}", e.Message);
                return new EffectResult.Refused(Reply.CantOpenData);
            }
            listener?.Dispose();

            using (data)
            {
                var type = effect switch { Effect.SendFile s => s.Type, Effect.ReceiveFile r => r.Type, _ => TransferType.Ascii };
                var mode = type == TransferType.Ascii ? "ASCII" : "BINARY";
                var watch = Stopwatch.StartNew();
                var result = effect switch
                {
                    Effect.SendFile s => await SendFileAsync(data, s, source!, mode, counter, cancel),
                    Effect.SendText t => await SendTextAsync(data, t, counter, cancel),
                    Effect.ReceiveFile r => await ReceiveFileAsync(data, r, physical!, mode, verdict.MaxBytes, counter, cancel),
                    _ => throw new ArgumentException("not a transfer", nameof(effect)),
                };
                try { data.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
                if (result is EffectResult.Transferred t2 && effect is not Effect.SendText)
                {
                    log.Information("{Direction} {Path}: {Bytes} bytes in {Seconds:0.###} s{Status}", upload ? "Upload" : "Download",
                        t2.StoredAs, t2.Bytes, watch.Elapsed.TotalSeconds, t2.Completed ? "" : " (incomplete)");
                    if (t2.Completed)
                    {
                        if (upload) host.Hooks.FileReceived(View, t2.StoredAs, t2.Bytes);
                        else host.Hooks.FileSent(View, t2.StoredAs, t2.Bytes);
                    }
                }
                return result;
            }
        }
        catch (OperationCanceledException)
        {
            return new EffectResult.Transferred(counter.Bytes, "", false, null);
        }
    }

    private static FileStream? OpenForReading(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 0, FileOptions.Asynchronous | FileOptions.SequentialScan); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    private async Task<EffectResult> SendFileAsync(Socket data, Effect.SendFile send, FileStream file, string mode, DataChannel.Counter counter, CancellationToken cancel)
    {
        await SendAsync([new Reply(150, $"Opening {mode} mode data connection for {VirtualPath.Name(send.Path)} ({file.Length - send.Offset} bytes).")]);
        try
        {
            var bytes = await DataChannel.SendFileAsync(data, file, send.Offset, send.Type, host.Config.DataTimeout, counter, cancel);
            return new EffectResult.Transferred(bytes, send.Path, true, null);
        }
        catch (DataChannel.LocalFileException e)
        {
            log.Error("Reading {Path} failed: {Reason}", send.Path, e.Message);
            return new EffectResult.Transferred(counter.Bytes, send.Path, false, "Local error: the file could not be read.");
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            log.Debug("Download cut short: {Reason}", e.Message);
            return new EffectResult.Transferred(counter.Bytes, send.Path, false, null);
        }
    }

    private async Task<EffectResult> SendTextAsync(Socket data, Effect.SendText send, DataChannel.Counter counter, CancellationToken cancel)
    {
        await SendAsync([new Reply(150, "Here comes the directory listing.")]);
        try
        {
            var bytes = await DataChannel.SendTextAsync(data, send.Text, host.Config.DataTimeout, cancel);
            counter.Bytes = bytes;
            return new EffectResult.Transferred(bytes, send.What, true, null);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return new EffectResult.Transferred(counter.Bytes, send.What, false, null);
        }
    }

    private async Task<EffectResult> ReceiveFileAsync(Socket data, Effect.ReceiveFile receive, string physical, string mode, long? limit, DataChannel.Counter counter, CancellationToken cancel)
    {
        var inPlace = receive.Mode is WriteMode.Resume or WriteMode.Append;
        // Whole-file uploads go to a hidden partial file first, so a broken upload never leaves a truncated file under the real name.
        var target = inPlace ? physical : UserFiles.PartialFor(physical);
        FileStream file;
        try
        {
            file = receive.Mode switch
            {
                WriteMode.Append => new FileStream(target, FileMode.Append, FileAccess.Write, FileShare.Read, 0, FileOptions.Asynchronous),
                WriteMode.Resume => new FileStream(target, FileMode.Open, FileAccess.Write, FileShare.Read, 0, FileOptions.Asynchronous),
                _ => new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous),
            };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new EffectResult.Failed(e is UnauthorizedAccessException ? "Permission denied." : "Cannot create the file.");
        }
        if (receive.Mode == WriteMode.Unique) physical = FreeName(physical);
        // RFC 1123 4.1.2.9: STOU names the file in its preliminary reply.
        await SendAsync([receive.Mode == WriteMode.Unique
            ? new Reply(150, $"FILE: {Path.GetFileName(physical)}")
            : new Reply(150, $"Ok to send data ({mode} mode).")]);
        var completed = false;
        string? error = null;
        var errorCode = 451;
        var storedAs = receive.Path;
        var receiving = Stopwatch.StartNew();
        try
        {
            await using (file)
            {
                if (receive.Mode == WriteMode.Resume)
                {
                    file.SetLength(receive.Offset);
                    file.Seek(receive.Offset, SeekOrigin.Begin);
                }
                var before = file.Length;
                try
                {
                    await DataChannel.ReceiveAsync(data, file, receive.Type, host.Config.DataTimeout, counter, cancel, limit);
                    completed = true;
                }
                catch (DataChannel.TooLargeException e)
                {
                    log.Information("Upload of {Path} cut off: {Reason}", receive.Path, e.Message);
                    // An append or resume is undone; a whole-file upload's partial file is removed below.
                    if (inPlace) file.SetLength(before);
                    error = $"{VirtualPath.Name(receive.Path)}: Exceeded storage allocation (this upload may bring at most {e.Limit} bytes).";
                    errorCode = 552;
                }
                catch (DataChannel.LocalFileException e)
                {
                    log.Error("Writing {Path} failed: {Reason}", receive.Path, e.Message);
                    error = "Local error: the file could not be written (disk full?).";
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { }
            }
            // In stream mode the end of the data connection marks the end of the file, and a client that dies mid-upload
            // closes it the same way. Its control connection goes down with it, but not always first: a killed process
            // closes its sockets one by one, and under load the two ends can arrive milliseconds apart. Only a file
            // about to be moved into place is worth waiting for. A client that said QUIT meant its upload to stand.
            if (completed && !quitQueued && (inPlace ? ControlGone() : await ControlClosesWithinAsync(SettleTime(receiving.Elapsed))))
            {
                completed = false;
                log.Information("Upload of {Path} discarded: the control connection closed with the data connection", receive.Path);
            }
            if (completed && !inPlace)
            {
                var placed = Place(target, physical, receive.Mode);
                if (placed is null) return new EffectResult.Transferred(counter.Bytes, receive.Path, false, $"{VirtualPath.Name(receive.Path)}: File exists; overwriting is disabled on this server.");
                storedAs = VirtualPath.Parent(receive.Path).TrimEnd('/') + "/" + Path.GetFileName(placed);
            }
            return new EffectResult.Transferred(counter.Bytes, storedAs, completed, error, errorCode);
        }
        finally
        {
            if (!inPlace && File.Exists(target)) File.Delete(target);
        }
    }

    /// <summary>
    /// How long a finished whole-file upload waits for a dying client's control connection to close. Bounded by the
    /// transfer's own length, so a batch of small files is not slowed much; a client is rarely killed inside a
    /// transfer that short.
    /// </summary>
    private static TimeSpan SettleTime(TimeSpan transfer) =>
        // Windows timers tick every 15.6 ms: a shorter wait would last a whole tick, more than the transfer itself.
        OperatingSystem.IsWindows() && transfer < TimeSpan.FromMilliseconds(16) ? TimeSpan.Zero
        : transfer < MaxSettleTime ? transfer : MaxSettleTime;

    private static readonly TimeSpan MaxSettleTime = TimeSpan.FromMilliseconds(50);

    private async Task<bool> ControlClosesWithinAsync(TimeSpan wait)
    {
        if (ControlGone()) return true;
        await Task.WhenAny(reader.Closed, Task.Delay(wait));
        return ControlGone();
    }

    private bool ControlGone()
    {
        try { return reader.Ended || (socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { return true; }
    }

    /// <summary>STOU's names for <paramref name="physical"/>: itself, then name.1, name.2, …</summary>
    private static IEnumerable<string> UniqueNames(string physical)
    {
        yield return physical;
        for (var i = 1; ; i++) yield return $"{physical}.{i}";
    }

    private static string FreeName(string physical) => UniqueNames(physical).First(c => !File.Exists(c) && !Directory.Exists(c));

    /// <summary>Moves a finished upload to its name; null when the name was taken meanwhile and overwriting is off.</summary>
    private static string? Place(string partial, string physical, WriteMode mode)
    {
        switch (mode)
        {
            case WriteMode.Overwrite:
                File.Move(partial, physical, overwrite: true);
                return physical;
            case WriteMode.Create:
                try { File.Move(partial, physical, overwrite: false); return physical; }
                catch (IOException) when (File.Exists(physical)) { return null; }
            case WriteMode.Unique:
                foreach (var candidate in UniqueNames(physical))
                {
                    try { File.Move(partial, candidate, overwrite: false); return candidate; }
                    catch (IOException) when (File.Exists(candidate) || Directory.Exists(candidate)) { }
                }
                throw new UnreachableException();
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "not a whole-file upload");
        }
    }

    /// <summary>Reads control lines with the core's framer, over a fixed buffer.</summary>
    private sealed class LineReader(Stream stream, int maxLength)
    {
        public readonly record struct Line(string Text, bool TooLong);
        private readonly byte[] buffer = new byte[maxLength * 2 + 2];
        private int start;
        private int end;
        private bool discarding;

        private readonly TaskCompletionSource closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The client closed the control connection.</summary>
        public bool Ended { get; private set; }

        /// <summary>Completes when a read finds the control connection closed or broken.</summary>
        public Task Closed => closed.Task;

        public async Task<Line?> ReadAsync(CancellationToken cancel)
        {
            while (true)
            {
                var frame = LineFramer.Next(buffer.AsSpan(start, end - start), maxLength);
                var endedLine = frame.Consumed > 0 && buffer[start + frame.Consumed - 1] == (byte)'\n';
                start += frame.Consumed;
                if (frame.TooLong)
                {
                    if (endedLine) { discarding = false; return new Line("", true); }
                    discarding = true;
                }
                else if (frame.Line is not null)
                {
                    if (!discarding) return new Line(frame.Line, false);
                    // The tail of an overlong line: report the whole line once.
                    discarding = false;
                    return new Line("", true);
                }
                if (start == end) start = end = 0;
                else if (start > 0)
                {
                    Array.Copy(buffer, start, buffer, 0, end - start);
                    end -= start;
                    start = 0;
                }
                int read;
                try { read = await stream.ReadAsync(buffer.AsMemory(end), cancel); }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
                {
                    Ended = true;
                    closed.TrySetResult();
                    throw;
                }
                if (read == 0)
                {
                    Ended = true;
                    closed.TrySetResult();
                    return null;
                }
                end += read;
            }
        }
    }
}
