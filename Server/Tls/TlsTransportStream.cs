namespace ScriptFtp.Tls;

/// <summary>How a TLS stream ended, once <see cref="System.Net.Security.SslStream"/> reading returned 0.</summary>
internal enum TlsEndKind
{
    /// <summary>The peer sent close_notify: everything it wrote arrived.</summary>
    CloseNotify,

    /// <summary>The TCP stream ended (FIN) without close_notify: the data may have been cut short by anyone on the path.</summary>
    TransportClosed,
}

/// <summary>
/// The stream under an <see cref="System.Net.Security.SslStream"/>: passes every byte through unchanged, and watches
/// <list type="bullet">
/// <item>what this side writes first: on a server, its first handshake flight tells whether the session was resumed
/// (<see cref="Resumed"/>; see <see cref="ServerFlightParser"/>);</item>
/// <item>whether a read of the transport returned 0 (<see cref="TransportEnded"/>). SslStream returns 0 both for
/// close_notify and for a bare FIN; only in the second case has the transport itself ended (<see cref="EndKind"/>).</item>
/// </list>
/// Owns the inner stream: disposing this disposes it. <paramref name="beforeFirstWrite"/> runs once, just before this
/// side's first handshake bytes go out (see <see cref="SessionTickets"/>).
/// </summary>
internal sealed class TlsTransportStream(Stream inner, Action? beforeFirstWrite = null) : Stream
{
    private readonly ServerFlightParser _flight = new();
    private volatile bool _transportEnded;
    private Action? _beforeFirstWrite = beforeFirstWrite;

    /// <summary>On the server side, after the handshake: whether it resumed a session; null if the handshake was not understood.</summary>
    public bool? Resumed => _flight.Resumed;

    /// <summary>True once a read of the transport returned 0 bytes (the peer's FIN arrived).</summary>
    public bool TransportEnded => _transportEnded;

    /// <summary>
    /// How the TLS stream over this transport ended; ask only after reading the SslStream returned 0. The SslStream
    /// stops reading at close_notify, so the transport has ended by then only when the FIN came without one.
    /// </summary>
    public TlsEndKind EndKind => _transportEnded ? TlsEndKind.TransportClosed : TlsEndKind.CloseNotify;

    /// <inheritdoc/>
    public override bool CanRead => inner.CanRead;

    /// <inheritdoc/>
    public override bool CanWrite => inner.CanWrite;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer) => Noted(inner.Read(buffer), buffer.Length);

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Noted(await inner.ReadAsync(buffer, cancellationToken), buffer.Length);

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Observe(buffer);
        inner.Write(buffer);
    }

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Observe(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }

    /// <inheritdoc/>
    public override void Flush() => inner.Flush();

    /// <inheritdoc/>
    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }

    private int Noted(int read, int asked)
    {
        if (read == 0 && asked > 0) _transportEnded = true;
        return read;
    }

    // Only the handshake is parsed; afterwards a write costs one property check.
    private void Observe(ReadOnlySpan<byte> bytes)
    {
        if (_flight.Done) return;
        Interlocked.Exchange(ref _beforeFirstWrite, null)?.Invoke();
        _flight.Feed(bytes);
    }
}
