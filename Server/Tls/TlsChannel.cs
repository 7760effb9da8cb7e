using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace ScriptFtp.Tls;

/// <summary>A TLS handshake that failed or timed out; the message is the reason, fit for the log.</summary>
internal sealed class TlsHandshakeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The server side of one TLS connection (control or data) on an accepted socket: the handshake with a time limit,
/// what it negotiated, whether it resumed a session, how the client ended it, and a proper end from this side
/// (close_notify, then FIN). Owns the socket.
/// </summary>
internal sealed class TlsChannel : IAsyncDisposable
{
    /// <summary>The handshake time limit when none is given.</summary>
    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(15);

    private readonly Socket _socket;

    private TlsChannel(Socket socket, SslStream stream, TlsTransportStream transport)
    {
        _socket = socket;
        Stream = stream;
        Transport = transport;
    }

    /// <summary>The TLS stream to read and write application data on.</summary>
    public SslStream Stream { get; }

    /// <summary>The stream under <see cref="Stream"/>.</summary>
    public TlsTransportStream Transport { get; }

    /// <summary>Whether the handshake resumed an earlier session (null: the handshake was not understood).</summary>
    public bool? Resumed => Transport.Resumed;

    /// <summary>True when this connection sent no TLS 1.3 session tickets (see <see cref="SessionTickets"/>).</summary>
    public bool TicketsDisabled { get; private set; }

    /// <summary>How the client ended the stream; ask after a read of <see cref="Stream"/> returned 0.</summary>
    public TlsEndKind EndKind => Transport.EndKind;

    /// <summary>Protocol and cipher suite, for the session log, e.g. <c>TLS 1.3, TLS_AES_256_GCM_SHA384</c>.</summary>
    public string Summary => $"{Stream.SslProtocol switch
    {
        SslProtocols.Tls13 => "TLS 1.3",
        SslProtocols.Tls12 => "TLS 1.2",
        _ => Stream.SslProtocol.ToString(),
    }}, {Stream.NegotiatedCipherSuite}";

    /// <summary>
    /// Runs the server handshake on <paramref name="socket"/> (taking it over) within <paramref name="timeout"/>.
    /// With <paramref name="withoutTickets"/> (data connections) no TLS 1.3 session tickets are sent, where possible.
    /// </summary>
    /// <exception cref="TlsHandshakeException">The handshake failed or timed out; the socket is closed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired; the socket is closed.</exception>
    public static async Task<TlsChannel> AcceptAsync(Socket socket, SslServerAuthenticationOptions options, TimeSpan timeout,
        bool withoutTickets = false, CancellationToken cancel = default)
    {
        SslStream? stream = null;
        var ticketsDisabled = false;
        var transport = new TlsTransportStream(new NetworkStream(socket, ownsSocket: true),
            withoutTickets ? () => ticketsDisabled = SessionTickets.TryDisable(stream!) : null);
        stream = new SslStream(transport, leaveInnerStreamOpen: false);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        var accepted = false;
        try
        {
            await stream.AuthenticateAsServerAsync(options, limit.Token);
            accepted = true;
            return new TlsChannel(socket, stream, transport) { TicketsDisabled = ticketsDisabled };
        }
        catch (OperationCanceledException e) when (!cancel.IsCancellationRequested)
        {
            throw new TlsHandshakeException($"no TLS handshake within {timeout.TotalSeconds:0.#} s", e);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            throw new TlsHandshakeException(
                transport.TransportEnded ? "the client closed the connection during the TLS handshake" : Reason(e), e);
        }
        finally
        {
            if (!accepted) await stream.DisposeAsync();
        }
    }

    /// <summary>
    /// Ends this side properly, as after a download: close_notify, then FIN, so the client can tell the data is
    /// complete. Reading stays possible (see <see cref="LingerAsync"/>).
    /// </summary>
    public async Task SendCloseAsync(CancellationToken cancel = default)
    {
        await Stream.ShutdownAsync().WaitAsync(cancel);
        _socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>
    /// After <see cref="SendCloseAsync"/>: waits at most <paramref name="limit"/> for the client to close its side,
    /// discarding what it sends. Closing a socket with unread bytes makes the kernel send a reset, which can destroy
    /// data the client has not read yet; waiting for its FIN avoids that.
    /// </summary>
    public async Task LingerAsync(TimeSpan limit)
    {
        var buffer = new byte[16 * 1024];
        using var timer = new CancellationTokenSource(limit);
        try
        {
            while (await _socket.ReceiveAsync(buffer, SocketFlags.None, timer.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Closes the TLS stream and the socket (without close_notify unless <see cref="SendCloseAsync"/> ran).</summary>
    public ValueTask DisposeAsync() => Stream.DisposeAsync();

    // "Authentication failed, see inner exception." says nothing; the innermost messages do (the OpenSSL error).
    private static string Reason(Exception e)
    {
        var messages = new List<string>();
        for (Exception? current = e; current is not null; current = current.InnerException)
            if (!current.Message.Contains("see inner exception", StringComparison.OrdinalIgnoreCase)) messages.Add(current.Message);
        return messages.Count == 0 ? e.GetType().Name : $"TLS handshake failed: {string.Join(": ", messages)}";
    }
}
