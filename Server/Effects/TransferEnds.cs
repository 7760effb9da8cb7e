using System.Diagnostics;
using System.Net.Sockets;
using Serilog;

namespace ScriptFtp;

/// <summary>
/// The file side of a transfer, as the runner in <see cref="Transfers"/> drives it: prepared before the data connection,
/// opened after it, then the bytes move. One kind per direction; the runner does not care which.
/// </summary>
internal abstract class TransferEnd : IDisposable
{
    /// <summary>The file side for a transfer effect: the only place that looks at which kind of transfer it is.</summary>
    public static TransferEnd For(Effect.Transfer transfer, UserFiles files, FtpHost host, SessionView session, ILogger log)
    {
        var stall = host.Config.DataTimeout;
        return transfer switch
        {
            Effect.SendFile send => new FileDownload(send, files, stall, log),
            Effect.SendText text => new TextDownload(text, stall),
            Effect.SendListing listing => new ListingDownload(listing, files, stall, log),
            Effect.ReceiveFile receive => new FileUpload(receive, files, host.Hooks, session, stall, log),
            _ => throw new ArgumentException($"unknown transfer {transfer.GetType().Name}", nameof(transfer)),
        };
    }

    /// <summary>Before the data connection: null to go ahead, or the result that refuses the transfer.</summary>
    public virtual Task<EffectResult?> PrepareAsync(CancellationToken cancel) => Task.FromResult<EffectResult?>(null);

    /// <summary>After the data connection, before the 150: null to go ahead, or the failure.</summary>
    public virtual EffectResult? Open() => null;

    /// <summary>The 150 reply.</summary>
    public abstract Reply Opening { get; }

    /// <summary>Moves the bytes; how it ended is in the result, not in an exception.</summary>
    public abstract Task<EffectResult.Transferred> MoveAsync(DataChannel.Link data, DataChannel.Counter counter, CancellationToken cancel);

    public virtual void Dispose() { }

    protected static Task<EffectResult?> Result(EffectResult? result) => Task.FromResult(result);

    protected static void LogEnd(ILogger log, string direction, string path, EffectResult.Transferred result) =>
        log.Information("{Direction} {Path}: {Bytes} bytes in {Seconds:0.###} s{Status}", direction, path, result.Bytes,
            result.Elapsed.TotalSeconds, result.Completed ? "" : " (incomplete)");

    /// <summary>RETR: a file, sent with the kernel's sendfile in binary mode.</summary>
    private sealed class FileDownload(Effect.SendFile send, UserFiles files, TimeSpan stall, ILogger log) : TransferEnd
    {
        private FileStream? _file;

        public override Task<EffectResult?> PrepareAsync(CancellationToken cancel)
        {
            // Opened before the data connection, so an unreadable file is a 550, not a broken transfer.
            if (files.Physical(send.Path) is not { } physical) return Result(new EffectResult.Failed(Reasons.NameNotAllowed));
            _file = UserFiles.OpenForReading(physical);
            return Result(_file is null ? new EffectResult.Failed(Reasons.PermissionDenied) : null);
        }

        public override Reply Opening => Protocol.Opening(send, _file!.Length - send.Offset);

        public override async Task<EffectResult.Transferred> MoveAsync(DataChannel.Link data, DataChannel.Counter counter,
            CancellationToken cancel)
        {
            var watch = Stopwatch.StartNew();
            EffectResult.Transferred result;
            try
            {
                var bytes = await DataChannel.SendFileAsync(data, _file!, send.Offset, send.Type, stall, counter, cancel);
                result = new(bytes, watch.Elapsed);
            }
            catch (DataChannel.LocalFileException e)
            {
                log.Error("Reading {Path} failed: {Reason}", send.Path, e.Message);
                result = new(counter.Bytes, watch.Elapsed, TransferFault.ReadError);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                log.Debug("Download cut short: {Reason}", e.Message);
                result = new(counter.Bytes, watch.Elapsed, TransferFault.Interrupted);
            }
            LogEnd(log, "Download", send.Path, result);
            return result;
        }

        public override void Dispose() => _file?.Dispose();
    }

    /// <summary>LIST, NLST, MLSD: text made by the core.</summary>
    private sealed class TextDownload(Effect.SendText text, TimeSpan stall) : TransferEnd
    {
        public override Reply Opening => Protocol.Opening(text);

        public override async Task<EffectResult.Transferred> MoveAsync(DataChannel.Link data, DataChannel.Counter counter,
            CancellationToken cancel)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                counter.Bytes = await DataChannel.SendTextAsync(data, text.Text, stall, cancel);
                return new(counter.Bytes, watch.Elapsed);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                return new(counter.Bytes, watch.Elapsed, TransferFault.Interrupted);
            }
        }
    }

    /// <summary>
    /// LIST, NLST, MLSD of a folder: sent as it is read, each entry made into a line by the core's <see cref="Listing.Line"/>.
    /// Up to <see cref="Listing.SortedUpTo"/> lines are made first; a listing that has no more is sent sorted by name.
    /// </summary>
    private sealed class ListingDownload(Effect.SendListing listing, UserFiles files, TimeSpan stall, ILogger log) : TransferEnd
    {
        private IEnumerator<(string Name, string Line)>? _rest;
        private IEnumerable<string> _lines = [];

        public override Task<EffectResult?> PrepareAsync(CancellationToken cancel)
        {
            // Read before the data connection, so that a folder that has gone or cannot be read is a 550, not a broken transfer.
            try
            {
                _rest = files.Entries(listing.Path)
                    .Select(e => Listing.Line(listing.Format, e) is { } line ? (e.Name, Line: line) : default)
                    .Where(l => l.Line is not null).GetEnumerator();
                var head = new List<(string Name, string Line)>();
                while (head.Count <= Listing.SortedUpTo && _rest.MoveNext()) head.Add(_rest.Current);
                _lines = head.Count <= Listing.SortedUpTo
                    ? head.OrderBy(l => l.Name, StringComparer.Ordinal).Select(l => l.Line)
                    : head.Concat(Rest(_rest)).Select(l => l.Line);
                return Result(null);
            }
            catch (Exception e) when (FileEffects.ReasonFor(e) is { } reason)
            {
                return Result(new EffectResult.Failed(reason));
            }
        }

        private static IEnumerable<T> Rest<T>(IEnumerator<T> rest)
        {
            while (rest.MoveNext()) yield return rest.Current;
        }

        public override Reply Opening => Protocol.Opening(listing);

        public override async Task<EffectResult.Transferred> MoveAsync(DataChannel.Link data, DataChannel.Counter counter,
            CancellationToken cancel)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                await DataChannel.SendLinesAsync(data, _lines, stall, counter, cancel);
                return new(counter.Bytes, watch.Elapsed);
            }
            catch (DataChannel.LocalFileException e)
            {
                log.Warning("Reading the folder {Path} failed: {Reason}", listing.Path, e.Message);
                return new(counter.Bytes, watch.Elapsed, TransferFault.ReadError);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                return new(counter.Bytes, watch.Elapsed, TransferFault.Interrupted);
            }
        }

        public override void Dispose() => _rest?.Dispose();
    }

    /// <summary>
    /// STOR, APPE, STOU: a whole-file upload goes to a hidden partial file first, so that a broken upload never leaves a
    /// truncated file under the real name; it is moved into place only when the core commits it.
    /// </summary>
    internal sealed class FileUpload(Effect.ReceiveFile receive, UserFiles files, IServerHooks hooks, SessionView session, TimeSpan stall,
        ILogger log) : TransferEnd
    {
        private readonly bool _inPlace = receive.Mode is WriteMode.Resume or WriteMode.Append;
        private string _physical = "";
        private string _target = "";
        private FileStream? _file;
        private UploadCap? _cap;
        private long _written;
        private EffectResult.Transferred? _received;

        public override async Task<EffectResult?> PrepareAsync(CancellationToken cancel)
        {
            if (files.Physical(receive.Path) is not { } physical) return new EffectResult.Failed(Reasons.NameNotAllowed);
            _physical = physical;
            var verdict = await hooks.BeforeUploadAsync(session, files, receive.Path, cancel);
            if (verdict.Refusal is { } refusal)
            {
                log.Information("Upload of {Path} refused by a plugin: {Reply}", receive.Path, refusal.Lines.FirstOrDefault());
                return new EffectResult.Refused(refusal);
            }
            _cap = UploadCap.For(verdict.MaxBytes, verdict.Allowances);
            return null;
        }

        public override EffectResult? Open()
        {
            _target = _inPlace ? _physical : UserFiles.PartialFor(_physical);
            try
            {
                _file = UserFiles.OpenForWriting(_target, receive.Mode);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return new EffectResult.Failed(e is UnauthorizedAccessException ? Reasons.PermissionDenied : Reasons.CannotCreate);
            }
            if (receive.Mode == WriteMode.Unique) _physical = UserFiles.FreeName(_physical);
            return null;
        }

        public override Reply Opening => Protocol.Opening(receive, storedName: Path.GetFileName(_physical));

        public override async Task<EffectResult.Transferred> MoveAsync(DataChannel.Link data, DataChannel.Counter counter,
            CancellationToken cancel)
        {
            var watch = Stopwatch.StartNew();
            var (fault, limit) = (TransferFault.None, 0L);
            await using (var file = _file!)
            {
                var original = file.Length;
                if (receive.Mode == WriteMode.Resume)
                {
                    file.SetLength(receive.Offset);
                    file.Seek(receive.Offset, SeekOrigin.Begin);
                }
                var before = file.Length;
                try
                {
                    await DataChannel.ReceiveAsync(data, file, receive.Type, stall, counter, cancel, _cap);
                }
                catch (DataChannel.TooLargeException e)
                {
                    log.Information("Upload of {Path} cut off: {Reason}", receive.Path, e.Message);
                    // An append or resume is undone; a whole-file upload's partial file goes when the transfer does.
                    if (_inPlace) file.SetLength(before);
                    (fault, limit) = (TransferFault.TooLarge, e.Limit);
                }
                catch (DataChannel.LocalFileException e)
                {
                    log.Error("Writing {Path} failed: {Reason}", receive.Path, e.Message);
                    fault = TransferFault.WriteError;
                }
                catch (DataChannel.NoCloseNotifyException e)
                {
                    log.Warning("Upload of {Path} not stored: {Reason}", receive.Path, e.Message);
                    fault = TransferFault.Unterminated;
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                {
                    fault = TransferFault.Interrupted;
                }
                _written = file.Length;
                // An append or resume stays as written whatever comes next: the home grew (or shrank) by this much.
                if (_inPlace) _cap?.Settle(_written - original);
            }
            _file = null;
            _received = new EffectResult.Transferred(counter.Bytes, watch.Elapsed, fault) { Limit = limit, StoredAs = receive.Path };
            if (!_received.Completed) LogEnd(log, "Upload", receive.Path, _received);
            return _received;
        }

        /// <summary>Stores the upload under its name (STOU: the first free one).</summary>
        public EffectResult.Transferred Commit()
        {
            var received = _received ?? throw new InvalidOperationException("the upload has not ended");
            if (_inPlace) return Stored(received, receive.Path);
            try
            {
                // Only a cap needs to know what the upload replaced: the common upload pays no extra look at the disk.
                var replaced = _cap is not null && receive.Mode != WriteMode.Unique
                    && UserFiles.Describe(_physical) is { IsDirectory: false } old ? old.Size : 0;
                var placed = UserFiles.Place(_target, _physical, receive.Mode);
                _cap?.Settle(placed is null ? 0 : _written - replaced);
                return placed is not null
                    ? Stored(received, VirtualPath.Parent(receive.Path).TrimEnd('/') + "/" + Path.GetFileName(placed))
                    : received with { Fault = TransferFault.NameTaken };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                log.Error(e, "Transfer failed");
                _cap?.Settle(0);
                return received with { Fault = TransferFault.Crashed };
            }
        }

        private EffectResult.Transferred Stored(EffectResult.Transferred received, string storedAs)
        {
            var stored = received with { StoredAs = storedAs };
            LogEnd(log, "Upload", storedAs, stored);
            return stored;
        }

        /// <summary>Throws the upload away: a partial file is removed; an append or resume stays as written.</summary>
        public void Discard(string reason)
        {
            log.Information("Upload of {Path} discarded: {Reason}", receive.Path, reason);
            if (_received is { } received) LogEnd(log, "Upload", receive.Path, received with { Fault = TransferFault.Interrupted });
            RemovePartial();
        }

        public override void Dispose()
        {
            _file?.Dispose();
            RemovePartial();
            // Not stored (or settled already): the allowances get back all it took.
            _cap?.Settle(0);
        }

        private void RemovePartial()
        {
            if (!_inPlace && _target.Length > 0 && File.Exists(_target)) File.Delete(_target);
        }
    }
}
