using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Tls;

/// <summary>The server handshake: its time limit, its failure reasons, the protocols it accepts and what it reports.</summary>
public class TlsChannelTests
{
    [Test]
    public async Task A_silent_client_is_given_up_on_after_the_time_limit()
    {
        using var listener = new LoopbackListener();
        using var silent = await ConnectRawAsync(listener.Port);
        var clock = Stopwatch.StartNew();
        var error = await Should.ThrowAsync<TlsHandshakeException>(
            listener.AcceptTlsAsync(TestCertificates.Context(), timeout: TimeSpan.FromMilliseconds(500)));
        error.Message.ShouldBe("no TLS handshake within 0.5 s");
        clock.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        (await silent.ReceiveAsync(new byte[16], SocketFlags.None)).ShouldBe(0, "the server closes the connection");
    }

    [Test]
    public async Task A_stalled_handshake_does_not_hold_up_another()
    {
        using var listener = new LoopbackListener();
        var certificate = TestCertificates.Context();
        using var silent = await ConnectRawAsync(listener.Port);
        var stalled = listener.AcceptTlsAsync(certificate, timeout: TimeSpan.FromSeconds(30));
        var accepted = listener.AcceptTlsAsync(certificate);
        await using var client = await TestClient.ConnectAsync(listener.Port, TlsIo.UniqueHost("second"));
        await using var server = await accepted.WaitAsync(TimeSpan.FromSeconds(20));
        stalled.IsCompleted.ShouldBeFalse();
        silent.Close();
        await Should.ThrowAsync<TlsHandshakeException>(stalled);
    }

    [Test]
    public async Task A_plain_FTP_command_fails_the_handshake_with_the_reason()
    {
        using var listener = new LoopbackListener();
        using var plain = await ConnectRawAsync(listener.Port);
        await plain.SendAsync("USER demo\r\n"u8.ToArray(), SocketFlags.None);
        var error = await Should.ThrowAsync<TlsHandshakeException>(listener.AcceptTlsAsync(TestCertificates.Context()));
        error.Message.ShouldStartWith("TLS handshake failed: ");
        error.Message.ShouldNotContain("see inner exception");
        TestContext.Out.WriteLine(error.Message);
    }

    [Test]
    public async Task A_client_that_hangs_up_is_reported_as_such()
    {
        using var listener = new LoopbackListener();
        (await ConnectRawAsync(listener.Port)).Dispose();
        var error = await Should.ThrowAsync<TlsHandshakeException>(listener.AcceptTlsAsync(TestCertificates.Context()));
        error.Message.ShouldBe("the client closed the connection during the TLS handshake");
    }

    [Test]
    public async Task Cancelling_is_not_reported_as_a_handshake_failure()
    {
        using var listener = new LoopbackListener();
        using var silent = await ConnectRawAsync(listener.Port);
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Should.ThrowAsync<OperationCanceledException>(TlsChannel.AcceptAsync(await listener.AcceptSocketAsync(),
            TlsCertificates.ServerOptionsFor(TestCertificates.Context()), TimeSpan.FromSeconds(30), cancel: stop.Token));
    }

    [TestCase(SslProtocols.Tls13, "TLS 1.3, TLS_")]
    [TestCase(SslProtocols.Tls12, "TLS 1.2, TLS_ECDHE_ECDSA_WITH_")]
    public async Task Summary_names_the_protocol_and_cipher(SslProtocols protocol, string start)
    {
        using var listener = new LoopbackListener();
        var accepted = listener.AcceptTlsAsync(TestCertificates.Context());
        await using var client = await TestClient.ConnectAsync(listener.Port, TlsIo.UniqueHost("summary"), protocol);
        await using var server = await accepted;
        server.Summary.ShouldStartWith(start);
    }

    [TestCase("-tls1")]
    [TestCase("-tls1_1")]
    public async Task Protocols_older_than_TLS_1_2_are_refused(string version)
    {
        var openssl = Tools.Require("openssl");
        using var listener = new LoopbackListener();
        var accepted = listener.AcceptTlsAsync(TestCertificates.Context());
        var result = await Tools.RunAsync(openssl,
            ["s_client", "-connect", $"127.0.0.1:{listener.Port}", version, "-cipher", "DEFAULT:@SECLEVEL=0"], stdin: "");
        var error = await Should.ThrowAsync<TlsHandshakeException>(accepted.WaitAsync(TimeSpan.FromSeconds(30)));
        TestContext.Out.WriteLine(error.Message);
        result.Output.ShouldNotContain("Cipher is ECDHE");
    }

    private static async Task<Socket> ConnectRawAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        return socket;
    }
}
