using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ScriptFtp;

/// <summary>
/// Data connections: the one place they are made (passive listeners, accepts and active connects), and the byte pumps
/// that move files and listings over them.
/// </summary>
internal static class DataChannel
{
    /// <summary>An open data connection: the socket, and its TLS layer under PROT P.</summary>
    public sealed record Link(Socket Socket, Tls.TlsChannel? Tls);

    /// <summary>An upload over TLS whose stream ended without close_notify: it may be truncated (a reset drops unread data).</summary>
    public sealed class NoCloseNotifyException() : IOException("the TLS data connection ended without close_notify");

    public const int BufferSize = 1 << 20;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Listens on the control connection's local address, in the configured port range.</summary>
    public static Socket Listen(IPAddress local, int portMin, int portMax)
    {
        local = Addresses.Normalize(local);
        if (portMin == 0) return Bind(local, 0) ?? throw new SocketException((int)SocketError.AddressAlreadyInUse);
        var span = portMax - portMin + 1;
        var start = Random.Shared.Next(span);
        for (var i = 0; i < span; i++)
            if (Bind(local, portMin + (start + i) % span) is { } socket) return socket;
        throw new SocketException((int)SocketError.AddressAlreadyInUse);
    }

    private static Socket? Bind(IPAddress local, int port)
    {
        var socket = new Socket(local.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(local, port));
            socket.Listen(1);
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    /// <summary>Makes the data connection a plan describes: accepted on the plan's listener, or connected to the client.</summary>
    public static async Task<Socket> OpenAsync(DataPlan plan, Socket? listener, Session session, CancellationToken cancel) => plan switch
    {
        DataPlan.Passive when listener is not null => await AcceptAsync(listener, session.Remote.Address, cancel),
        DataPlan.Active active => await ConnectAsync(active.Target, session.Local.Address, cancel),
        _ => throw new SocketException((int)SocketError.NotConnected),
    };

    /// <summary>Accepts the client's data connection; connections from any other address are dropped (no stealing).</summary>
    private static async Task<Socket> AcceptAsync(Socket listener, IPAddress expected, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(ConnectTimeout);
        while (true)
        {
            var socket = await listener.AcceptAsync(timeout.Token);
            if (socket.RemoteEndPoint is IPEndPoint remote && DataAddress.SameHost(remote.Address, expected)) return Tune(socket);
            socket.Dispose();
        }
    }

    /// <summary>Connects to the client for PORT/EPRT, from the control connection's local address.</summary>
    private static async Task<Socket> ConnectAsync(IPEndPoint target, IPAddress local, CancellationToken cancel)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(ConnectTimeout);
        var address = target.Address;
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            var source = Addresses.Normalize(local);
            if (source.AddressFamily == address.AddressFamily) socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(target, timeout.Token);
            return Tune(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    // The kernel's buffer autotuning is left alone: fixing the sizes would cap throughput on long, fast links.
    private static Socket Tune(Socket socket)
    {
        socket.NoDelay = true;
        return socket;
    }

    /// <summary>Ends a TLS download: close_notify before the 226, then the client's own close.</summary>
    private static async Task EndDownloadAsync(Tls.TlsChannel tls, CancellationToken cancel)
    {
        await tls.SendCloseAsync(cancel);
        // Closing with the client's close_notify unread would reset the connection, and a reset can drop the data's tail.
        await tls.LingerAsync(LingerLimit);
    }

    /// <summary>Sends a file from an offset. Binary files go through the kernel's sendfile, in chunks so that a stall is noticed.</summary>
    public static async Task<long> SendFileAsync(Link link, FileStream file, long offset, TransferType type, TimeSpan stall,
        Counter counter, CancellationToken cancel)
    {
        using var watchdog = new Watchdog(stall, cancel);
        var socket = link.Socket;
        if (link.Tls is { } tls)
        {
            // TLS cannot use sendfile: the bytes go through the cipher. The download ends with close_notify, before the 226.
            file.Seek(offset, SeekOrigin.Begin);
            var sent = await CopyAsync(file, tls.Stream, file, type == TransferType.Ascii ? ToCrLf : null, false, watchdog, counter);
            await EndDownloadAsync(tls, watchdog.Token);
            return sent;
        }
        if (type == TransferType.Binary)
        {
            var length = file.Length;
            for (var position = offset; position < length;)
            {
                var chunk = (int)Math.Min(SendFileChunk, length - position);
                watchdog.Kick();
                await SendPacketsAsync(socket, new SendPacketsElement(file, position, chunk), watchdog.Token);
                position += chunk;
                counter.Bytes = position - offset;
            }
            return Math.Max(0, length - offset);
        }
        file.Seek(offset, SeekOrigin.Begin);
        await using var network = new NetworkStream(socket, ownsSocket: false);
        return await CopyAsync(file, network, file, ToCrLf, false, watchdog, counter);
    }

    private const int SendFileChunk = 16 << 20;

    private static readonly TimeSpan LingerLimit = TimeSpan.FromSeconds(5);

    // SendPackets takes no token; closing the socket is how a stalled or aborted sendfile is stopped.
    private static async Task SendPacketsAsync(Socket socket, SendPacketsElement element, CancellationToken cancel)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var args = new SocketAsyncEventArgs { SendPacketsElements = [element] };
        args.Completed += (_, e) => Finish(e, done);
        try
        {
            await using (cancel.Register(socket.Dispose))
            {
                if (!socket.SendPacketsAsync(args)) Finish(args, done);
                await done.Task;
            }
        }
        catch (Exception e) when (cancel.IsCancellationRequested && e is SocketException or ObjectDisposedException)
        {
            throw new OperationCanceledException("the transfer was aborted or stalled", e, cancel);
        }
        cancel.ThrowIfCancellationRequested();

        static void Finish(SocketAsyncEventArgs e, TaskCompletionSource done)
        {
            if (e.SocketError == SocketError.Success) done.TrySetResult();
            else done.TrySetException(new SocketException((int)e.SocketError));
        }
    }

    /// <summary>Sends text (listings) as UTF-8.</summary>
    public static async Task<long> SendTextAsync(Link link, string text, TimeSpan stall, CancellationToken cancel)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        using var watchdog = new Watchdog(stall, cancel);
        watchdog.Kick();
        if (link.Tls is { } tls)
        {
            await tls.Stream.WriteAsync(bytes, watchdog.Token);
            await EndDownloadAsync(tls, watchdog.Token);
        }
        else await link.Socket.SendAsync(bytes, SocketFlags.None, watchdog.Token);
        return bytes.Length;
    }

    /// <summary>
    /// Sends lines (a listing) as UTF-8, each ended by CRLF, a chunk at a time as they come: a long listing is never whole
    /// in memory. An I/O error while the lines are made (reading the folder) comes out as a <see cref="LocalFileException"/>.
    /// </summary>
    public static async Task<long> SendLinesAsync(Link link, IEnumerable<string> lines, TimeSpan stall, Counter counter,
        CancellationToken cancel)
    {
        const int chunk = 64 * 1024;
        using var watchdog = new Watchdog(stall, cancel);
        var buffer = ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            var used = 0;
            foreach (var line in Reading(lines))
            {
                var most = Encoding.UTF8.GetMaxByteCount(line.Length + 2);
                if (used > 0 && used + most > buffer.Length) used = await FlushAsync(buffer.AsMemory(0, used));
                if (most > buffer.Length)
                {
                    await FlushAsync(Encoding.UTF8.GetBytes(line + "\r\n"));
                    continue;
                }
                used += Encoding.UTF8.GetBytes(line, buffer.AsSpan(used));
                buffer[used++] = (byte)'\r';
                buffer[used++] = (byte)'\n';
            }
            if (used > 0) await FlushAsync(buffer.AsMemory(0, used));
            if (link.Tls is { } tls) await EndDownloadAsync(tls, watchdog.Token);
            return counter.Bytes;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        async Task<int> FlushAsync(ReadOnlyMemory<byte> bytes)
        {
            watchdog.Kick();
            if (link.Tls is { } tls) await tls.Stream.WriteAsync(bytes, watchdog.Token);
            else await link.Socket.SendAsync(bytes, SocketFlags.None, watchdog.Token);
            counter.Bytes += bytes.Length;
            return 0;
        }
    }

    private static IEnumerable<string> Reading(IEnumerable<string> lines)
    {
        using var each = lines.GetEnumerator();
        while (true)
        {
            try
            {
                if (!each.MoveNext()) yield break;
            }
            catch (IOException e) { throw new LocalFileException(e); }
            catch (UnauthorizedAccessException e) { throw new LocalFileException(new IOException(e.Message, e)); }
            yield return each.Current;
        }
    }

    /// <summary>Receives into a stream until the client closes the data connection.</summary>
    public static async Task<long> ReceiveAsync(Link link, Stream target, TransferType type, TimeSpan stall, Counter counter,
        CancellationToken cancel, UploadCap? cap = null)
    {
        await using var network = new NetworkStream(link.Socket, ownsSocket: false);
        using var watchdog = new Watchdog(stall, cancel);
        var ascii = type == TransferType.Ascii;
        Stream source = link.Tls is { } tls ? tls.Stream : network;
        var received = await CopyAsync(source, target, target, ascii ? FromCrLf : null, ascii, watchdog, counter, cap);
        // Over TLS a bare FIN or a reset also reads as the end: only close_notify says the client sent everything.
        if (link.Tls is { EndKind: Tls.TlsEndKind.TransportClosed }) throw new NoCloseNotifyException();
        // Answer the client's close_notify with ours: clients that unwrap the connection (ftplib) wait for it.
        if (link.Tls is { } done)
        {
            try { await done.SendCloseAsync(watchdog.Token); }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { }
        }
        return received;
    }

    /// <summary>An upload brought more than the limit a plugin set for it (the bytes past the limit were not written).</summary>
    public sealed class TooLargeException(long limit) : Exception($"the upload passed its limit of {limit} bytes")
    {
        public long Limit => limit;
    }

    /// <summary>Cancels when no progress was made for the stall limit, or when the transfer is aborted.</summary>
    private sealed class Watchdog(TimeSpan limit, CancellationToken outer) : IDisposable
    {
        private readonly CancellationTokenSource _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        public CancellationToken Token => _source.Token;
        public void Kick() => _source.CancelAfter(limit);
        public void Dispose() => _source.Dispose();
    }

    /// <summary>The file side of a transfer failed (disk full, read error): the server's fault, not the client's.</summary>
    public sealed class LocalFileException(IOException inner) : IOException(inner.Message, inner);

    /// <summary>Bytes moved so far, read by STAT while a transfer runs.</summary>
    public sealed class Counter
    {
        public long Bytes;
    }

    private delegate int Convert(ReadOnlySpan<byte> input, Span<byte> output, ref bool pendingCr);

    /// <summary>
    /// Copies until the source ends; an I/O error on <paramref name="file"/> (one of the two) becomes a <see cref="LocalFileException"/>.
    /// </summary>
    private static async Task<long> CopyAsync(Stream source, Stream target, Stream file, Convert? convert, bool flushPendingCr,
        Watchdog watchdog, Counter counter, UploadCap? cap = null)
    {
        var cancel = watchdog.Token;
        async ValueTask<int> ReadAsync(Memory<byte> into)
        {
            try { return await source.ReadAsync(into, cancel); }
            catch (IOException e) when (source == file) { throw new LocalFileException(e); }
        }
        async ValueTask WriteAsync(ReadOnlyMemory<byte> from)
        {
            try { await target.WriteAsync(from, cancel); }
            catch (IOException e) when (target == file) { throw new LocalFileException(e); }
        }
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        var converted = convert is null ? null : ArrayPool<byte>.Shared.Rent(BufferSize * 2);
        var pendingCr = false;
        long total = 0;
        try
        {
            int read;
            while (true)
            {
                watchdog.Kick();
                read = await ReadAsync(buffer.AsMemory(0, BufferSize));
                if (read == 0) break;
                if (convert is null)
                {
                    if (cap?.TryTake(read) == false) throw new TooLargeException(cap.Limit);
                    await WriteAsync(buffer.AsMemory(0, read));
                    total += read;
                }
                else
                {
                    var count = convert(buffer.AsSpan(0, read), converted, ref pendingCr);
                    if (cap?.TryTake(count) == false) throw new TooLargeException(cap.Limit);
                    await WriteAsync(converted.AsMemory(0, count));
                    total += count;
                }
                counter.Bytes = total;
            }
            if (pendingCr && flushPendingCr)
            {
                if (cap?.TryTake(1) == false) throw new TooLargeException(cap.Limit);
                await WriteAsync(new byte[] { (byte)'\r' });
                total++;
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (converted is not null) ArrayPool<byte>.Shared.Return(converted);
        }
    }

    // ASCII mode: bare LF on disk becomes CRLF on the wire; existing CRLF is left alone.
    private static int ToCrLf(ReadOnlySpan<byte> input, Span<byte> output, ref bool previousWasCr)
    {
        var n = 0;
        foreach (var b in input)
        {
            if (b == (byte)'\n' && !previousWasCr) output[n++] = (byte)'\r';
            output[n++] = b;
            previousWasCr = b == (byte)'\r';
        }
        return n;
    }

    // ASCII mode upload: CRLF on the wire becomes LF on disk; a lone CR is kept.
    private static int FromCrLf(ReadOnlySpan<byte> input, Span<byte> output, ref bool pendingCr)
    {
        var n = 0;
        foreach (var b in input)
        {
            if (pendingCr)
            {
                if (b != (byte)'\n') output[n++] = (byte)'\r';
                pendingCr = false;
            }
            if (b == (byte)'\r') pendingCr = true;
            else output[n++] = b;
        }
        return n;
    }
}
