using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Tls;

/// <summary>
/// Resumption detection on real handshakes over loopback, and the facts about .NET on Linux that data connections
/// depend on: the server shares its session cache between connections with the same certificate and protocols (not the
/// same options object), the .NET client resumes only towards a host name, and tickets can be left out on a
/// connection that still resumes.
/// </summary>
public class ResumptionTests
{
    private const string Reused = "Reused, TLSv1.", New = "New, TLSv1.", TicketArrived = "Post-Handshake New Session Ticket arrived";

    /// <summary>What the server saw of one connection served to openssl, and what openssl printed.</summary>
    private sealed record Served(bool? Resumed, bool TicketsDisabled, string Output);

    // The ticket tests below assume this; without it a .NET update that renames SslStream's internals would turn them
    // all inconclusive and the upload truncation they guard against would come back unnoticed.
    [Test, Platform("Linux")]
    public void Session_tickets_can_be_switched_off_on_linux() => SessionTickets.Supported.ShouldBeTrue();

    [TestCase(SslProtocols.Tls13)]
    [TestCase(SslProtocols.Tls12)]
    public async Task DotNet_client_resumes_towards_the_same_host_name(SslProtocols protocol)
    {
        using var listener = new LoopbackListener();
        var certificate = TestCertificates.Context();
        var host = TlsIo.UniqueHost("resume");
        (await ConnectOnceAsync(listener, certificate, host, protocol)).ShouldBe((false, protocol));
        (await ConnectOnceAsync(listener, certificate, host, protocol)).ShouldBe((true, protocol));
        (await ConnectOnceAsync(listener, certificate, host, protocol)).ShouldBe((true, protocol));
        (await ConnectOnceAsync(listener, certificate, TlsIo.UniqueHost("other"), protocol)).ShouldBe((false, protocol));
    }

    // .NET caches client sessions by TargetHost and never for an IP address: a client that connects by IP (as an FTP
    // client given 127.0.0.1 does) must use a host name as TargetHost to resume on its data connections.
    [Test]
    public async Task DotNet_client_never_resumes_towards_an_IP_address()
    {
        using var listener = new LoopbackListener();
        var certificate = TestCertificates.Context();
        (await ConnectOnceAsync(listener, certificate, "127.0.0.1", SslProtocols.Tls13)).Resumed.ShouldBe(false);
        (await ConnectOnceAsync(listener, certificate, "127.0.0.1", SslProtocols.Tls13)).Resumed.ShouldBe(false);
    }

    [TestCase("-tls1_3")]
    [TestCase("-tls1_2")]
    public async Task Openssl_sessions_are_resumed_and_seen_as_resumed(string version)
    {
        var folder = Tools.NewFolder("scriptftp-tls-");
        try
        {
            using var listener = new LoopbackListener();
            var certificate = TestCertificates.Context();
            var session = Path.Combine(folder, "session.pem");
            var first = await ServeOpensslAsync(listener, certificate, version, "-sess_out", session);
            first.Resumed.ShouldBe(false, first.Output);
            first.Output.ShouldContain(New);
            var second = await ServeOpensslAsync(listener, certificate, version, "-sess_in", session);
            second.Resumed.ShouldBe(true, second.Output);
            second.Output.ShouldContain(Reused);
            var again = await ServeOpensslAsync(listener, certificate, version, "-sess_in", session);
            again.Resumed.ShouldBe(true, again.Output);
            var fresh = await ServeOpensslAsync(listener, certificate, version);
            fresh.Resumed.ShouldBe(false, fresh.Output);
        }
        finally
        {
            Tools.DeleteQuietly(folder);
        }
    }

    // The data connection must be given the control connection's certificate: after a reload the current certificate
    // has another session cache. Another context or options object for the same certificate is fine.
    [TestCase("-tls1_3")]
    [TestCase("-tls1_2")]
    public async Task A_session_resumes_only_under_the_certificate_it_was_made_with(string version)
    {
        var folder = Tools.NewFolder("scriptftp-tls-");
        try
        {
            using var listener = new LoopbackListener();
            var original = TestCertificates.Create();
            var control = SslStreamCertificateContext.Create(original, null, offline: true);
            var session = Path.Combine(folder, "session.pem");
            (await ServeOpensslAsync(listener, control, version, "-sess_out", session)).Resumed.ShouldBe(false);

            var renewed = await ServeOpensslAsync(listener, TestCertificates.Context(), version, "-sess_in", session);
            renewed.Resumed.ShouldBe(false, renewed.Output);
            var reloaded = X509Certificate2.CreateFromPem(original.ExportCertificatePem(),
                original.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
            var sameCertificate = SslStreamCertificateContext.Create(reloaded, null, offline: true);
            var same = await ServeOpensslAsync(listener, sameCertificate, version, "-sess_in", session);
            same.Resumed.ShouldBe(true, same.Output);
        }
        finally
        {
            Tools.DeleteQuietly(folder);
        }
    }

    [Test]
    public async Task A_data_connection_without_tickets_still_resumes_and_sends_no_ticket()
    {
        Assume.That(SessionTickets.Supported, "SSL_set_num_tickets is not reachable on this runtime");
        var folder = Tools.NewFolder("scriptftp-tls-");
        try
        {
            using var listener = new LoopbackListener();
            var certificate = TestCertificates.Context();
            var session = Path.Combine(folder, "session.pem");
            var control = await ServeOpensslAsync(listener, certificate, "-tls1_3", "-sess_out", session);
            control.Output.ShouldContain(TicketArrived);
            control.TicketsDisabled.ShouldBeFalse();
            for (var i = 0; i < 3; i++)
            {
                var data = await ServeOpensslAsync(listener, certificate, "-tls1_3", withoutTickets: true, "-sess_in", session);
                data.Resumed.ShouldBe(true, data.Output);
                data.TicketsDisabled.ShouldBeTrue();
                data.Output.ShouldNotContain(TicketArrived);
            }
            var plain = await ServeOpensslAsync(listener, certificate, "-tls1_3", withoutTickets: false, "-sess_in", session);
            plain.Output.ShouldContain(TicketArrived);
        }
        finally
        {
            Tools.DeleteQuietly(folder);
        }
    }

    // The .NET client holds one TLS 1.3 ticket per host name and drops it once used (TLS 1.2 sessions it reuses).
    // Data connections without tickets therefore resume for it only when the control connection hands out a fresh
    // ticket before each one, with the reply that precedes the data connection.
    [TestCase(SslProtocols.Tls13, false, new[] { true, false, false, false })]
    [TestCase(SslProtocols.Tls13, true, new[] { true, true, true, true })]
    [TestCase(SslProtocols.Tls12, false, new[] { true, true, true, true })]
    [TestCase(SslProtocols.Tls12, true, new[] { true, true, true, true })]
    public async Task DotNet_client_resumes_ticketless_upload_connections(SslProtocols protocol, bool issueOnControl, bool[] expected)
    {
        Assume.That(SessionTickets.Supported, "SSL_set_num_tickets is not reachable on this runtime");
        using var listener = new LoopbackListener();
        var certificate = TestCertificates.Context();
        var host = TlsIo.UniqueHost("data");
        var controlServer = listener.AcceptTlsAsync(certificate);
        await using var control = await TestClient.ConnectAsync(listener.Port, host, protocol);
        await using var controlChannel = await controlServer;
        var resumed = new List<bool?>();
        foreach (var _ in expected)
        {
            if (issueOnControl)
                SessionTickets.TryIssue(controlChannel.Stream).ShouldBe(protocol == SslProtocols.Tls13, "TLS 1.2 has no tickets to issue");
            await TlsIo.PingAsync(control, controlChannel); // the reply before the data connection, e.g. 227
            resumed.Add(await UploadWithoutReadingAsync(listener, certificate, host, protocol));
        }
        resumed.ShouldBe(expected.Select(e => (bool?)e).ToList());
    }

    private static async Task<bool?> UploadWithoutReadingAsync(LoopbackListener listener, SslStreamCertificateContext certificate,
        string host, SslProtocols protocol)
    {
        var accepted = listener.AcceptTlsAsync(certificate, withoutTickets: true);
        await using (var client = await TestClient.ConnectAsync(listener.Port, host, protocol))
        {
            await client.Stream.WriteAsync(new byte[1000]);
            await client.Stream.ShutdownAsync();
        }
        await using var server = await accepted;
        var (bytes, error) = await TlsIo.DrainAsync(server.Stream);
        (bytes, error, server.EndKind).ShouldBe((1000L, null, TlsEndKind.CloseNotify));
        server.TicketsDisabled.ShouldBeTrue();
        return server.Resumed;
    }

    private static async Task<(bool? Resumed, SslProtocols Protocol)> ConnectOnceAsync(LoopbackListener listener,
        SslStreamCertificateContext certificate, string host, SslProtocols protocol)
    {
        var accepted = listener.AcceptTlsAsync(certificate);
        await using var client = await TestClient.ConnectAsync(listener.Port, host, protocol);
        await using var server = await accepted;
        await TlsIo.PingAsync(client, server);
        return (server.Resumed, server.Stream.SslProtocol);
    }

    private static Task<Served> ServeOpensslAsync(LoopbackListener listener, SslStreamCertificateContext certificate,
        params string[] arguments) =>
        ServeOpensslAsync(listener, certificate, arguments[0], withoutTickets: false, arguments[1..]);

    // openssl reads until the server closes (-ign_eof), so it has received the tickets before it saves the session.
    private static async Task<Served> ServeOpensslAsync(LoopbackListener listener, SslStreamCertificateContext certificate, string version,
        bool withoutTickets, params string[] arguments)
    {
        var openssl = Tools.Require("openssl");
        var serve = ServeOneAsync(listener, certificate, withoutTickets);
        string[] command = ["s_client", "-connect", $"127.0.0.1:{listener.Port}", version, "-ign_eof", .. arguments];
        var result = await Tools.RunAsync(openssl, command, stdin: "", timeout: TimeSpan.FromSeconds(30));
        var (resumed, ticketsDisabled) = await serve;
        return new Served(resumed, ticketsDisabled, result.Output);
    }

    private static async Task<(bool? Resumed, bool TicketsDisabled)> ServeOneAsync(LoopbackListener listener,
        SslStreamCertificateContext certificate, bool withoutTickets)
    {
        await using var channel = await listener.AcceptTlsAsync(certificate, withoutTickets);
        await channel.Stream.WriteAsync("hello\n"u8.ToArray());
        await channel.SendCloseAsync();
        await channel.LingerAsync(TimeSpan.FromSeconds(10));
        return (channel.Resumed, channel.TicketsDisabled);
    }
}
