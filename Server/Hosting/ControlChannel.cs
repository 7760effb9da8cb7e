using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Serilog;

namespace ScriptFtp;

/// <summary>
/// The control connection's bytes: lines in, replies out. The one place the control stream lives, so that a TLS layer
/// (AUTH TLS) has one stream to wrap.
/// </summary>
internal sealed class ControlChannel : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly LineReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly TimeSpan _writeTimeout;
    private readonly CancellationToken _stopping;

    private ControlChannel(Socket socket, TimeSpan writeTimeout, CancellationToken stopping, ILogger log)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new LineReader(_stream, Protocol.MaxLineLength);
        _writeTimeout = writeTimeout;
        _stopping = stopping;
        Remote = (IPEndPoint)socket.RemoteEndPoint!;
        Local = (IPEndPoint)socket.LocalEndPoint!;
        Log = log;
    }

    /// <summary>Takes an accepted control socket; null (and the socket closed) when the peer is already gone.</summary>
    public static ControlChannel? Open(Socket socket, TimeSpan writeTimeout, CancellationToken stopping, ILogger log)
    {
        try
        {
            // Replies go out one whole write at a time. With Nagle on, the 226 after a transfer waits for the client's
            // delayed ACK of the 150 (40 ms on Linux), which made every small-file transfer 40 ms slower.
            socket.NoDelay = true;
            // Clients send the Telnet Synch before ABOR as TCP urgent data; inline, its DM byte reaches the framer instead of vanishing.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.OutOfBandInline, true);
            return new ControlChannel(socket, writeTimeout, stopping, log);
        }
        catch (SocketException e)
        {
            // A peer that resets at once (a port scan): some systems then refuse socket options.
            log.Debug("A connection ended before it was served: {Reason}", e.Message);
            socket.Dispose();
            return null;
        }
    }

    /// <summary>The client's end.</summary>
    public IPEndPoint Remote { get; }

    /// <summary>The server's end.</summary>
    public IPEndPoint Local { get; }

    /// <summary>Where replies are logged (the session's log, which names the user once logged in).</summary>
    public ILogger Log { get; set; }

    /// <summary>The next line; null when the client closed the connection.</summary>
    public Task<ControlLine?> ReadLineAsync() => _reader.ReadAsync(_stopping);

    /// <summary>Writes replies in one write; a client that does not read them within the data timeout is dropped.</summary>
    public async Task SendAsync(ImmutableArray<Reply> replies)
    {
        if (replies.IsEmpty) return;
        foreach (var reply in replies) Log.Debug("Reply {Code} {Text}", reply.Code, reply.Lines.FirstOrDefault());
        var bytes = Encoding.UTF8.GetBytes(string.Concat(replies.Select(r => r.Format())));
        await _writeLock.WaitAsync(_stopping);
        // A client that never reads its replies would otherwise hold the session (and a connection slot) forever.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        timeout.CancelAfter(_writeTimeout);
        try { await _stream.WriteAsync(bytes, timeout.Token); }
        finally { _writeLock.Release(); }
    }

    /// <summary>Whether the client closes the control connection within <paramref name="wait"/> (at once for zero).</summary>
    public async Task<bool> ClosesWithinAsync(TimeSpan wait)
    {
        if (Gone()) return true;
        // A read is pending in the connection's loop: it sees the close first.
        if (wait > TimeSpan.Zero) await Task.WhenAny(_reader.Closed, Task.Delay(wait));
        return Gone();
    }

    private bool Gone()
    {
        try { return _reader.Ended || (_socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { return true; }
    }

    public async ValueTask DisposeAsync()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        await _stream.DisposeAsync();
    }
}
