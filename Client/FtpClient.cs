using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

namespace ScriptFtp.Client;

// A small passive-mode FTP client over one control connection. Every transfer is binary (TYPE I)
// and streamed through a fixed buffer, so file size never matters for memory. After SecureAsync (AUTH TLS) the
// control connection and every data connection run over TLS, the data connections resuming the control connection's
// session. Negative replies surface as FtpReplyException, a dead control connection as FtpConnectionLostException.
internal sealed class FtpClient : IAsyncDisposable
{
    internal const int BufferSize = 256 * 1024;
    const int WriteSlice = 16 * 1024;
    static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    readonly IPAddress peer;
    readonly Action<string>? trace;
    readonly TimeSpan timeout;
    Stream stream;
    StreamReader reader;
    // Set once PROT P is in force: the handshake options for every data connection.
    SslClientAuthenticationOptions? dataTls;
    bool binary;
    bool epsvRefused;

    FtpClient(Socket control, TimeSpan timeout, Action<string>? trace)
    {
        peer = Addresses.Normalize(((IPEndPoint)control.RemoteEndPoint!).Address);
        this.timeout = timeout;
        this.trace = trace;
        stream = new NetworkStream(control, ownsSocket: true);
        reader = ReaderOver(stream);
    }

    public FtpReply Greeting { get; private set; } = new(0, [""]);

    // The control connection's TLS stream once SecureAsync succeeded (its protocol and cipher are worth showing).
    public SslStream? Tls => stream as SslStream;

    // timeout: how long to wait for a reply, for the connection, and for a data connection that has stalled.
    public static async Task<FtpClient> ConnectAsync(string host, int port, TimeSpan timeout, Action<string>? trace = null,
        CancellationToken cancellationToken = default)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            await socket.ConnectAsync(host, port, limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new FtpConnectionLostException($"No answer within {Seconds(timeout)}.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var client = new FtpClient(socket, timeout, trace);
        try
        {
            // 120 means "ready in a few minutes"; the real greeting follows.
            var greeting = await client.ReadFinalReplyAsync(cancellationToken);
            if (!greeting.IsCompletion)
                throw new FtpReplyException(greeting);
            client.Greeting = greeting;
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    // AUTH TLS, the handshake, then PBSZ 0 and PROT P (RFC 4217): from here on the control connection and every data
    // connection are encrypted. Returns the AUTH reply; anything but 234 means the server offers no TLS, and then nothing
    // has changed. Throws AuthenticationException when the handshake fails (e.g. the certificate is not trusted), and
    // FtpReplyException when PBSZ or PROT is refused.
    public async Task<FtpReply> SecureAsync(SslClientAuthenticationOptions tls, CancellationToken cancellationToken = default)
    {
        var auth = await ExecuteAsync("AUTH TLS", cancellationToken);
        if (auth.Code != 234)
            return auth;
        // After a failed handshake the connection is of no use: disposing the TLS stream closes it.
        var secured = new SslStream(stream, leaveInnerStreamOpen: false);
        using (var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            limit.CancelAfter(timeout);
            try
            {
                await secured.AuthenticateAsClientAsync(tls, limit.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or AuthenticationException)
            {
                await secured.DisposeAsync();
                if (e is AuthenticationException)
                    throw;
                throw new FtpConnectionLostException(e is OperationCanceledException && !cancellationToken.IsCancellationRequested
                    ? $"The TLS handshake did not finish within {Seconds(timeout)}."
                    : $"The connection was lost during the TLS handshake: {e.Message}", e);
            }
        }
        // The plain reader has nothing buffered: the server sends nothing between 234 and the handshake.
        reader.Dispose();
        (stream, reader) = (secured, ReaderOver(secured));
        await ExpectAsync("PBSZ 0", cancellationToken);
        await ExpectAsync("PROT P", cancellationToken);
        dataTls = tls;
        return auth;
    }

    // USER then PASS. Returns the final reply; a refusal is returned, not thrown, so the caller can ask again.
    public async Task<FtpReply> LoginAsync(string user, string password, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync($"USER {user}", cancellationToken);
        if (reply.IsIntermediate)
            reply = await ExecuteAsync($"PASS {password}", cancellationToken);
        return reply;
    }

    // Sends one command and returns its final reply (any preliminary 1xx replies are skipped).
    public async Task<FtpReply> ExecuteAsync(string command, CancellationToken cancellationToken = default)
    {
        await SendAsync(command, cancellationToken);
        return await ReadFinalReplyAsync(cancellationToken);
    }

    async Task<FtpReply> ReadFinalReplyAsync(CancellationToken cancellationToken)
    {
        var reply = await ReadReplyAsync(cancellationToken);
        while (reply.IsPreliminary)
            reply = await ReadReplyAsync(cancellationToken);
        return reply;
    }

    public async Task<FtpReply> ExpectAsync(string command, CancellationToken cancellationToken = default)
    {
        var reply = await ExecuteAsync(command, cancellationToken);
        return reply.IsNegative ? throw new FtpReplyException(reply) : reply;
    }

    public async Task<string> PrintWorkingDirectoryAsync(CancellationToken cancellationToken = default)
    {
        var reply = await ExpectAsync("PWD", cancellationToken);
        // 257 "path" comment; quotes inside the path are doubled.
        var text = reply.Message;
        var start = text.IndexOf('"');
        var end = text.LastIndexOf('"');
        return start >= 0 && end > start ? text[(start + 1)..end].Replace("\"\"", "\"") : text;
    }

    public Task<FtpReply> ChangeDirectoryAsync(string path, CancellationToken cancellationToken = default) =>
        ExpectAsync($"CWD {path}", cancellationToken);

    // The size in bytes, or null when the server does not say (no SIZE support, no such file).
    public async Task<long?> GetSizeAsync(string path, CancellationToken cancellationToken = default)
    {
        await EnsureBinaryAsync(cancellationToken);
        var reply = await ExecuteAsync($"SIZE {path}", cancellationToken);
        return reply.Code == 213 && long.TryParse(reply.Message.Trim(), out var size) ? size : null;
    }

    public Task ListAsync(string? path, TextWriter output, CancellationToken cancellationToken = default) =>
        TransferAsync(string.IsNullOrEmpty(path) ? "LIST" : $"LIST {path}", async (data, stall, ct) =>
        {
            using var lines = new StreamReader(data.Stream, Utf8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
            while (await stall.RunAsync(t => lines.ReadLineAsync(t).AsTask()) is { } line)
                await output.WriteLineAsync(line);
            return 0;
        }, binaryType: false, cancellationToken);

    // Read to the end: over TLS the end is the server's close_notify.
    public Task<long> DownloadAsync(string remotePath, Stream destination, Action<long>? progress = null,
        CancellationToken cancellationToken = default) =>
        TransferAsync($"RETR {remotePath}", async (data, stall, ct) =>
        {
            var total = await PumpAsync(into => stall.RunAsync(t => data.Stream.ReadAsync(into, t).AsTask()),
                from => destination.WriteAsync(from, ct).AsTask(), BufferSize, progress);
            await destination.FlushAsync(ct);
            return total;
        }, binaryType: true, cancellationToken);

    public Task<long> UploadAsync(Stream source, string remotePath, Action<long>? progress = null,
        CancellationToken cancellationToken = default) =>
        TransferAsync($"STOR {remotePath}", async (data, stall, ct) =>
        {
            // Written in slices, so that the timeout is on the link stalling, not on a slow link moving a big buffer.
            var total = await PumpAsync(into => source.ReadAsync(into, ct).AsTask(),
                from => stall.RunAsync(async t => { await data.Stream.WriteAsync(from, t); return 0; }), WriteSlice, progress);
            await data.EndUploadAsync(stall);
            return total;
        }, binaryType: true, cancellationToken);

    // Copies until read returns 0, writing each read in pieces of at most slice bytes and reporting progress after each.
    static async Task<long> PumpAsync(Func<Memory<byte>, Task<int>> read, Func<ReadOnlyMemory<byte>, Task> write, int slice,
        Action<long>? progress)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            long total = 0;
            int count;
            while ((count = await read(buffer.AsMemory(0, BufferSize))) > 0)
            {
                for (var offset = 0; offset < count; offset += slice)
                {
                    var piece = buffer.AsMemory(offset, Math.Min(slice, count - offset));
                    await write(piece);
                    total += piece.Length;
                    progress?.Invoke(total);
                }
            }
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public Task<FtpReply> QuitAsync(CancellationToken cancellationToken = default) =>
        ExecuteAsync("QUIT", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        reader.Dispose();
        await stream.DisposeAsync();
    }

    async Task<long> TransferAsync(string command, Func<DataLink, Stall, CancellationToken, Task<long>> body, bool binaryType,
        CancellationToken cancellationToken)
    {
        if (binaryType)
            await EnsureBinaryAsync(cancellationToken);
        await using var data = await OpenPassiveAsync(cancellationToken);
        var start = await SendAndReadAsync(command, cancellationToken);
        if (!start.IsPreliminary && !start.IsCompletion)
            throw new FtpReplyException(start);
        // A server may answer 226 at once for an empty listing; then there is no data to move.
        if (!start.IsPreliminary)
            return 0;
        long count;
        try
        {
            using var stall = new Stall(timeout, cancellationToken);
            // The server starts its side of the TLS handshake once it has sent the 150.
            if (dataTls is not null)
                await data.SecureAsync(dataTls, stall);
            count = await body(data, stall, cancellationToken);
        }
        catch (Exception e) when (e is not FtpConnectionLostException)
        {
            // Keep the control connection in step: drop the data side and collect the server's verdict. A reset,
            // not a normal close: in stream mode a normal close tells the server an upload is complete.
            data.Reset();
            await data.DisposeAsync();
            var verdict = await ReadReplyAsync(cancellationToken);
            // The server's verdict explains a broken connection better, but not one we gave up on.
            if (e is FtpTransferException { InnerException: not TimeoutException } && verdict.IsNegative)
                throw new FtpReplyException(verdict);
            throw;
        }
        await data.DisposeAsync();
        var final = await ReadReplyAsync(cancellationToken);
        return final.IsCompletion ? count : throw new FtpReplyException(final);
    }

    async Task EnsureBinaryAsync(CancellationToken cancellationToken)
    {
        if (binary)
            return;
        await ExpectAsync("TYPE I", cancellationToken);
        binary = true;
    }

    async Task<DataLink> OpenPassiveAsync(CancellationToken cancellationToken)
    {
        int? port = null;
        if (!epsvRefused)
        {
            var epsv = await ExecuteAsync("EPSV", cancellationToken);
            port = epsv.Code == 229 ? PassiveReply.EpsvPort(epsv) : null;
            // Only a permanent refusal means "not supported"; a 4xx may pass.
            epsvRefused = port is null && epsv.Code >= 500;
        }
        if (port is null)
        {
            var pasv = await ExpectAsync("PASV", cancellationToken);
            port = PassiveReply.PasvPort(pasv) ?? throw new FtpProtocolException($"Cannot read the PASV reply: {pasv.Text}");
        }

        // Connect to the address we already reach the server on, not the one PASV names:
        // it is often a private address behind NAT, and trusting it invites the FTP bounce attack.
        var socket = new Socket(peer.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(peer, port.Value), cancellationToken);
            return new DataLink(socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new FtpProtocolException($"Cannot open the data connection to port {port}: {e.Message}");
        }
    }

    async Task<FtpReply> SendAndReadAsync(string command, CancellationToken cancellationToken)
    {
        await SendAsync(command, cancellationToken);
        return await ReadReplyAsync(cancellationToken);
    }

    async Task SendAsync(string command, CancellationToken cancellationToken)
    {
        // A CR or LF inside an argument would smuggle a second command onto the control connection.
        if (command.AsSpan().IndexOfAny('\r', '\n') >= 0)
            throw new ArgumentException("Commands and file names cannot contain line breaks.");
        trace?.Invoke("--> " + (command.StartsWith("PASS ", StringComparison.OrdinalIgnoreCase) ? "PASS ****" : command));
        try
        {
            await stream.WriteAsync(Utf8.GetBytes(command + "\r\n"), cancellationToken);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw new FtpConnectionLostException("Connection to the server was lost.", e);
        }
    }

    async Task<FtpReply> ReadReplyAsync(CancellationToken cancellationToken)
    {
        FtpReply? reply;
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            reply = await FtpReply.ReadAsync(reader, limit.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Half a reply may have been read: the control connection is out of step and cannot be used again.
            throw new FtpConnectionLostException($"The server did not reply within {Seconds(timeout)}; giving up.");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            throw new FtpConnectionLostException("Connection to the server was lost.", e);
        }
        if (reply is null)
            throw new FtpConnectionLostException("Connection to the server was lost.");
        if (trace is not null)
            foreach (var line in reply.Lines)
                trace("<-- " + line);
        return reply;
    }

    // One stall timer for a whole transfer, armed only around each data read or write (local disk time does not
    // count); it also tells data-connection failures apart from local file errors.
    sealed class Stall(TimeSpan timeout, CancellationToken outer) : IDisposable
    {
        readonly CancellationTokenSource source = CancellationTokenSource.CreateLinkedTokenSource(outer);

        public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation)
        {
            source.CancelAfter(timeout);
            try
            {
                return await operation(source.Token);
            }
            catch (OperationCanceledException) when (!outer.IsCancellationRequested)
            {
                throw new FtpTransferException(new TimeoutException($"nothing moved for {Seconds(timeout)}"));
            }
            catch (Exception e) when (e is IOException or SocketException or AuthenticationException)
            {
                throw new FtpTransferException(e);
            }
            finally
            {
                source.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }

        public void Dispose() => source.Dispose();
    }

    static string Seconds(TimeSpan span) => $"{span.TotalSeconds:0.#} seconds";

    static StreamReader ReaderOver(Stream stream) =>
        new(stream, Utf8, detectEncodingFromByteOrderMarks: false, bufferSize: 4096, leaveOpen: true);

    // One data connection: its socket (for a half close or a reset) and the stream the bytes go through, which is the
    // socket's own or, under PROT P, a TLS stream over it.
    sealed class DataLink(Socket socket) : IAsyncDisposable
    {
        public Stream Stream { get; private set; } = new NetworkStream(socket, ownsSocket: true);

        // The same options as the control connection's handshake: that is what lets the server see this one resume it.
        public async Task SecureAsync(SslClientAuthenticationOptions tls, Stall stall)
        {
            var secured = new SslStream(Stream, leaveInnerStreamOpen: false);
            Stream = secured;
            await stall.RunAsync(async t => { await secured.AuthenticateAsClientAsync(tls, t); return 0; });
        }

        // The server learns the file is complete only from our FIN on the data connection, and over TLS only from the
        // close_notify before it: a FIN alone could be forged by anyone on the path to cut the file short. Over TLS the
        // connection is then read to its end: a server may have sent session tickets on it (vsftpd does), which .NET files
        // only when it reads them and which the next data connection needs to resume; and closing a socket with unread
        // bytes would reset it. A broken read there is no failure: the server's verdict on the control connection decides.
        public async Task EndUploadAsync(Stall stall)
        {
            if (Stream is not SslStream tls)
            {
                socket.Shutdown(SocketShutdown.Send);
                return;
            }
            await stall.RunAsync(async _ => { await tls.ShutdownAsync(); return 0; });
            socket.Shutdown(SocketShutdown.Send);
            var rest = new byte[4096];
            try
            {
                while (await stall.RunAsync(t => tls.ReadAsync(rest, t).AsTask()) > 0)
                {
                }
            }
            catch (FtpTransferException e) when (e.InnerException is not TimeoutException)
            {
            }
        }

        public void Reset()
        {
            try { socket.Close(0); } catch (ObjectDisposedException) { }
        }

        public ValueTask DisposeAsync() => Stream.DisposeAsync();
    }

}
