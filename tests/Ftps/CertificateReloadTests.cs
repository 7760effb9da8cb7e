using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Ftps;

/// <summary>A renewed certificate (as after a Let's Encrypt renewal) reaches new sessions; running sessions go on.</summary>
public class CertificateReloadTests
{
    private sealed class Client(TcpClient tcp, SslStream tls, StreamReader reader) : IAsyncDisposable
    {
        public string Fingerprint => Convert.ToHexString(
            System.Security.Cryptography.SHA256.HashData(tls.RemoteCertificate!.GetRawCertData()));

        public async Task<string> CommandAsync(string line)
        {
            await tls.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
            return (await reader.ReadLineAsync())!;
        }

        public async ValueTask DisposeAsync()
        {
            await tls.DisposeAsync();
            tcp.Dispose();
        }

        public static async Task<Client> ConnectAsync(int port)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync("127.0.0.1", port);
            var plain = new StreamReader(tcp.GetStream(), Encoding.ASCII);
            (await plain.ReadLineAsync())!.ShouldStartWith("220");
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes("AUTH TLS\r\n"));
            (await plain.ReadLineAsync())!.ShouldStartWith("234");
            var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync("localhost");
            return new Client(tcp, tls, new StreamReader(tls, Encoding.ASCII));
        }
    }

    [Test]
    public async Task New_sessions_get_the_new_certificate_and_running_sessions_are_not_dropped()
    {
        var folder = Tools.NewFolder("scriptftp-reload-");
        try
        {
            var (certificate, key) = (Path.Combine(folder, "cert.pem"), Path.Combine(folder, "key.pem"));
            SelfSignedCertificate.Save("first.test", DateTimeOffset.UtcNow, certificate, key);
            var source = new CertificateSource.PemFiles(certificate, key);
            await using var server = await TestServer.StartAsync(c => c with { Certificate = source });
            await using var running = await Client.ConnectAsync(server.Port);
            (await running.CommandAsync("USER demo")).ShouldStartWith("331");
            var before = running.Fingerprint;

            // Written aside and moved into place, as certbot's symlink switch makes it appear at once.
            SelfSignedCertificate.Save("second.test", DateTimeOffset.UtcNow, certificate + ".new", key + ".new");
            File.Move(key + ".new", key, overwrite: true);
            File.Move(certificate + ".new", certificate, overwrite: true);
            await Task.Delay(TlsCertificates.CheckInterval * 2);

            await using var fresh = await Client.ConnectAsync(server.Port);
            fresh.Fingerprint.ShouldNotBe(before);
            fresh.Fingerprint.ShouldBe(Convert.ToHexString(
                System.Security.Cryptography.SHA256.HashData(X509Certificate2.CreateFromPemFile(certificate, key).RawData)));
            (await running.CommandAsync($"PASS {TestServer.DemoPassword}")).ShouldStartWith("230");
            (await running.CommandAsync("NOOP")).ShouldStartWith("200");
        }
        finally
        {
            Tools.DeleteQuietly(folder);
        }
    }
}
