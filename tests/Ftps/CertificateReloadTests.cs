using System.Security.Cryptography.X509Certificates;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Ftps;

/// <summary>A renewed certificate (as after a Let's Encrypt renewal) reaches new sessions; running sessions go on.</summary>
public class CertificateReloadTests
{
    private static string Fingerprint(TlsFtp client) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(client.Certificate!.GetRawCertData()));

    private static async Task<TlsFtp> ConnectAsync(int port)
    {
        var client = await TlsFtp.ConnectAsync(port);
        await client.StartTlsAsync();
        return client;
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
            await using var running = await ConnectAsync(server.Port);
            (await running.SendAsync("USER demo")).Code.ShouldBe(331);
            var before = Fingerprint(running);

            // Written aside and moved into place, as certbot's symlink switch makes it appear at once.
            SelfSignedCertificate.Save("second.test", DateTimeOffset.UtcNow, certificate + ".new", key + ".new");
            File.Move(key + ".new", key, overwrite: true);
            File.Move(certificate + ".new", certificate, overwrite: true);
            await Task.Delay(TlsCertificates.CheckInterval * 2);

            await using var fresh = await ConnectAsync(server.Port);
            Fingerprint(fresh).ShouldNotBe(before);
            Fingerprint(fresh).ShouldBe(Convert.ToHexString(
                System.Security.Cryptography.SHA256.HashData(X509Certificate2.CreateFromPemFile(certificate, key).RawData)));
            (await running.SendAsync($"PASS {TestServer.DemoPassword}")).Code.ShouldBe(230);
            (await running.SendAsync("NOOP")).Code.ShouldBe(200);
        }
        finally
        {
            Tools.DeleteQuietly(folder);
        }
    }
}
