using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Tls;

/// <summary>Certificates made in memory for tests.</summary>
internal static class TestCertificates
{
    /// <summary>A fresh self-signed certificate (a fresh one per test keeps .NET's per-certificate TLS session caches apart).</summary>
    public static X509Certificate2 Create(string host = "localhost")
    {
        var (certificate, key) = SelfSignedCertificate.Create(host, DateTimeOffset.UtcNow);
        return X509Certificate2.CreateFromPem(certificate, key);
    }

    public static SslStreamCertificateContext Context(string host = "localhost") =>
        SslStreamCertificateContext.Create(Create(host), null, offline: true);
}

/// <summary>A listener on 127.0.0.1, port 0, that accepts sockets for the TLS tests.</summary>
internal sealed class LoopbackListener : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public LoopbackListener() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Task<Socket> AcceptSocketAsync() => _listener.AcceptSocketAsync();

    /// <summary>Accepts one connection and runs the server handshake on it.</summary>
    public async Task<TlsChannel> AcceptTlsAsync(SslStreamCertificateContext certificate, bool withoutTickets = false,
        TimeSpan? timeout = null) =>
        await TlsChannel.AcceptAsync(await AcceptSocketAsync(), TlsCertificates.ServerOptionsFor(certificate),
            timeout ?? TimeSpan.FromSeconds(20), withoutTickets);

    public void Dispose() => _listener.Stop();
}

/// <summary>The client end of a TLS test connection: the socket, the observing transport, and the TLS stream.</summary>
internal sealed class TestClient(Socket socket, TlsTransportStream transport, SslStream stream) : IAsyncDisposable
{
    public Socket Socket => socket;
    public TlsTransportStream Transport => transport;
    public SslStream Stream => stream;

    /// <summary>
    /// Connects to 127.0.0.1 and runs the client handshake. <paramref name="targetHost"/> is what .NET keys its client
    /// session cache on: use a name unique to the test when resumption matters.
    /// </summary>
    public static async Task<TestClient> ConnectAsync(int port, string targetHost, SslProtocols protocols = SslProtocols.None,
        RemoteCertificateValidationCallback? validate = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var transport = new TlsTransportStream(new NetworkStream(socket, ownsSocket: true));
        var stream = new SslStream(transport, leaveInnerStreamOpen: false);
        try
        {
            await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = targetHost,
                EnabledSslProtocols = protocols,
                RemoteCertificateValidationCallback = validate ?? ((_, _, _, _) => true),
            });
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
        return new TestClient(socket, transport, stream);
    }

    public ValueTask DisposeAsync() => stream.DisposeAsync();
}

/// <summary>Small I/O helpers for the TLS tests.</summary>
internal static class TlsIo
{
    /// <summary>One byte there and back, so that the client has read the server's TLS 1.3 session tickets.</summary>
    public static async Task PingAsync(TestClient client, TlsChannel server)
    {
        await client.Stream.WriteAsync(new byte[] { 42 });
        var one = new byte[1];
        await server.Stream.ReadExactlyAsync(one);
        await server.Stream.WriteAsync(one);
        await client.Stream.ReadExactlyAsync(one);
    }

    /// <summary>Reads a stream until it returns 0; the byte count and whether the stream ended with an exception.</summary>
    public static async Task<(long Bytes, Exception? Error)> DrainAsync(Stream stream, TimeSpan? pause = null)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        try
        {
            if (pause is { } wait) await Task.Delay(wait);
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0) total += read;
            return (total, null);
        }
        catch (IOException e)
        {
            return (total, e);
        }
    }

    /// <summary>Writes <paramref name="size"/> random bytes in 64 KiB slices.</summary>
    public static async Task WriteRandomAsync(Stream stream, long size)
    {
        var slice = new byte[64 * 1024];
        Random.Shared.NextBytes(slice);
        for (long sent = 0; sent < size; sent += slice.Length)
            await stream.WriteAsync(slice.AsMemory(0, (int)Math.Min(slice.Length, size - sent)));
    }

    public static string UniqueHost(string what) => $"{what}-{Guid.NewGuid():N}.test";
}
