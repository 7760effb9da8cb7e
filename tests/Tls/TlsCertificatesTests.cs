using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Serilog;
using Serilog.Events;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Users;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Tls;

/// <summary>The server certificate: generated, loaded from PEM or PFX, reloaded when its files change, and its errors.</summary>
public class TlsCertificatesTests
{
    private string _folder = "";
    private CollectingSink _sink = new();
    private Serilog.Core.Logger _log = null!;

    [SetUp]
    public void SetUp()
    {
        _folder = Tools.NewFolder("scriptftp-tls-");
        _sink = new CollectingSink();
        _log = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(_sink).CreateLogger();
    }

    [TearDown]
    public void TearDown()
    {
        _log.Dispose();
        Tools.DeleteQuietly(_folder);
    }

    [Test]
    public void Self_signed_certificate_is_generated_once_then_reused()
    {
        var source = new CertificateSource.SelfSigned(_folder, "ftp.example.test");
        var first = TlsCertificates.Load(source, _log);
        File.Exists(source.CertificatePath).ShouldBeTrue();
        File.GetUnixFileMode(source.KeyPath).ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _sink.At(LogEventLevel.Information).ShouldContain(m => m.Contains("Generated a self-signed TLS certificate"));

        var certificate = first.Certificate;
        certificate.Subject.ShouldBe("CN=ftp.example.test");
        certificate.GetECDsaPublicKey()!.ExportParameters(false).Curve.Oid.Value.ShouldBe("1.2.840.10045.3.1.7", "P-256");
        (certificate.NotAfter - certificate.NotBefore).ShouldBeGreaterThanOrEqualTo(TimeSpan.FromDays(3650));
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        names.EnumerateDnsNames().ShouldBe(["ftp.example.test", "localhost"]);
        names.EnumerateIPAddresses().ShouldBe([IPAddress.Loopback, IPAddress.IPv6Loopback]);
        certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages[0].Value.ShouldBe("1.3.6.1.5.5.7.3.1");

        var sink = new CollectingSink();
        using var log = new LoggerConfiguration().WriteTo.Sink(sink).CreateLogger();
        var again = TlsCertificates.Load(source, log);
        again.Fingerprint.ShouldBe(first.Fingerprint);
        sink.Events.ShouldNotContain(e => e.Text.Contains("Generated"));
        sink.At(LogEventLevel.Information).ShouldContain(m => m.Contains(first.Fingerprint), "the fingerprint is logged at every start");
    }

    [Test]
    public async Task Fingerprint_is_the_one_openssl_shows()
    {
        var openssl = Tools.Require("openssl");
        var source = new CertificateSource.SelfSigned(_folder, "localhost");
        var certificates = TlsCertificates.Load(source, _log);
        var result = await Tools.RunAsync(openssl, ["x509", "-noout", "-fingerprint", "-sha256", "-in", source.CertificatePath]);
        result.Stdout.Trim().Split('=')[1].ShouldBe(certificates.Fingerprint);
        certificates.Fingerprint.ShouldMatch("^([0-9A-F]{2}:){31}[0-9A-F]{2}$");
    }

    [Test]
    public void A_lone_generated_file_is_an_error_not_overwritten()
    {
        var source = new CertificateSource.SelfSigned(_folder, "localhost");
        File.WriteAllText(source.KeyPath, "kept");
        var error = Should.Throw<TlsCertificateException>(() => TlsCertificates.Load(source, _log));
        error.Message.ShouldBe($"found {source.KeyPath} but not {source.CertificatePath}: delete it to have a new self-signed " +
                               "certificate generated, or configure a certificate in [tls]");
        File.ReadAllText(source.KeyPath).ShouldBe("kept");
    }

    [Test]
    public void Only_TLS_1_2_and_1_3_are_offered()
    {
        var options = TlsCertificates.Load(new CertificateSource.SelfSigned(_folder, "localhost"), _log).ServerOptions();
        options.EnabledSslProtocols.ShouldBe(SslProtocols.Tls12 | SslProtocols.Tls13);
        options.AllowTlsResume.ShouldBeTrue();
    }

    // Broken configurations and the message each must give ({cert}, {key} stand for the paths).
    private static readonly Dictionary<string, (Func<string, CertificateSource> Make, string Message)> Broken = new()
    {
        ["missing certificate"] = (f => Pem(f, certificate: null), "certificate file {cert} cannot be read: it does not exist"),
        ["missing key"] = (f => Pem(f, key: null), "key file {key} cannot be read: it does not exist"),
        ["no PEM certificate"] = (f => Pem(f, certificate: "hello"),
            "certificate file {cert} cannot be read: it holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        ["no PEM key"] = (f => Pem(f, key: "hello"),
            "key file {key} cannot be read: it holds no PEM private key (-----BEGIN PRIVATE KEY-----)"),
        ["key of another certificate"] = (f => Pem(f, key: NewPem().Key), "key file {key} does not match certificate file {cert}"),
        ["encrypted key"] = (f => Pem(f, key: Encrypted(NewPem().Key)), "key file {key} cannot be read: the key is encrypted"),
        ["damaged key"] = (f => Pem(f, key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            "key file {key} cannot be read: "),
        ["PFX with a wrong password"] = (f => Pfx(f, "right", "wrong"), "certificate file {cert} cannot be read: "),
        ["missing PFX"] = (f => new CertificateSource.Pfx(Path.Combine(f, "none.pfx"), null),
            "certificate file {cert} cannot be read: it does not exist"),
    };

    public static IEnumerable<string> BrokenCases => Broken.Keys;

    [TestCaseSource(nameof(BrokenCases))]
    public void Unusable_files_give_a_message_naming_the_file(string name)
    {
        var (make, message) = Broken[name];
        var source = make(_folder);
        var (certificate, key) = source switch
        {
            CertificateSource.PemFiles pem => (pem.CertificatePath, pem.KeyPath),
            CertificateSource.Pfx pfx => (pfx.Path, ""),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        var error = Should.Throw<TlsCertificateException>(() => TlsCertificates.Load(source, _log));
        error.Message.ShouldStartWith(message.Replace("{cert}", certificate).Replace("{key}", key));
    }

    [Test]
    public async Task PFX_with_password_and_intermediate_is_served_with_its_chain()
    {
        var (authority, leaf) = Chain();
        var path = Path.Combine(_folder, "server.pfx");
        File.WriteAllBytes(path, new X509Certificate2Collection { leaf, authority }.Export(X509ContentType.Pkcs12, "s3cret")!);
        var source = new CertificateSource.Pfx(path, "s3cret");
        source.ToString().ShouldNotContain("s3cret");
        var certificates = TlsCertificates.Load(source, _log);
        certificates.Certificate.Thumbprint.ShouldBe(leaf.Thumbprint);
        (await ChainSentAsync(certificates)).ShouldBe([leaf.Thumbprint, authority.Thumbprint]);
    }

    [Test]
    public async Task PEM_full_chain_is_served_with_its_chain()
    {
        var (authority, leaf) = Chain();
        var certificatePath = Path.Combine(_folder, "fullchain.pem");
        var keyPath = Path.Combine(_folder, "privkey.pem");
        File.WriteAllText(certificatePath, leaf.ExportCertificatePem() + "\n" + authority.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var certificates = TlsCertificates.Load(new CertificateSource.PemFiles(certificatePath, keyPath), _log);
        certificates.Current.IntermediateCertificates.Count.ShouldBe(1);
        (await ChainSentAsync(certificates)).ShouldBe([leaf.Thumbprint, authority.Thumbprint]);
    }

    [Test]
    public void Changed_files_are_read_again_at_most_once_a_second()
    {
        var time = new FakeTimeProvider();
        var source = Pem(_folder);
        var certificates = TlsCertificates.Load(source, _log, time);
        var before = certificates.Fingerprint;
        var renewed = Renew(source);

        certificates.Current.ShouldNotBeNull();
        certificates.Fingerprint.ShouldBe(before, "not looked at within the second");
        time.Advance(TimeSpan.FromSeconds(1));
        certificates.Current.TargetCertificate.Thumbprint.ShouldBe(renewed.Thumbprint);
        certificates.Fingerprint.ShouldBe(CertificateFiles.Fingerprint(renewed));
        _sink.At(LogEventLevel.Information)
            .ShouldContain(m => m.StartsWith("TLS certificate reloaded") && m.Contains(certificates.Fingerprint));
        certificates.Refresh().ShouldBe(new CertificateRefresh.Unchanged());
    }

    [Test]
    public void A_broken_renewal_keeps_the_old_certificate_warns_once_and_recovers()
    {
        var source = Pem(_folder);
        var certificates = TlsCertificates.Load(source, _log);
        var before = certificates.Fingerprint;
        Touch(source.KeyPath, NewPem().Key);

        var failed = certificates.Refresh().ShouldBeOfType<CertificateRefresh.Failed>();
        failed.Error.ShouldBe($"key file {source.KeyPath} does not match certificate file {source.CertificatePath}");
        certificates.Fingerprint.ShouldBe(before);
        _sink.At(LogEventLevel.Warning).ShouldBe([$"TLS certificate not reloaded, the previous one stays in use: \"{failed.Error}\""]);
        certificates.Refresh().ShouldBe(new CertificateRefresh.Unchanged(), "the same broken files are not read again");

        var renewed = Renew(source);
        certificates.Refresh().ShouldBe(new CertificateRefresh.Reloaded(CertificateFiles.Fingerprint(renewed)));
    }

    [Test]
    public void A_renewal_that_moves_a_symbolic_link_is_read_again()
    {
        var archive = Directory.CreateDirectory(Path.Combine(_folder, "archive")).FullName;
        var first = Pem(archive, name: "1");
        var second = Pem(archive, name: "2");
        var live = new CertificateSource.PemFiles(Path.Combine(_folder, "fullchain.pem"), Path.Combine(_folder, "privkey.pem"));
        File.CreateSymbolicLink(live.CertificatePath, first.CertificatePath);
        File.CreateSymbolicLink(live.KeyPath, first.KeyPath);
        var certificates = TlsCertificates.Load(live, _log);

        foreach (var (link, target) in new[] { (live.CertificatePath, second.CertificatePath), (live.KeyPath, second.KeyPath) })
        {
            File.Delete(link);
            File.CreateSymbolicLink(link, target);
        }
        var reloaded = certificates.Refresh().ShouldBeOfType<CertificateRefresh.Reloaded>();
        var expected = X509Certificate2.CreateFromPem(File.ReadAllText(second.CertificatePath));
        reloaded.Fingerprint.ShouldBe(CertificateFiles.Fingerprint(expected));
    }

    [Test]
    public async Task Running_sessions_keep_their_certificate_while_new_ones_get_the_renewed_one()
    {
        var source = Pem(_folder);
        var certificates = TlsCertificates.Load(source, _log);
        using var listener = new LoopbackListener();
        var (oldClient, oldServer, oldSeen) = await SessionAsync(listener, certificates);
        oldSeen.ShouldBe(certificates.Fingerprint);

        var renewed = Renew(source);
        certificates.Refresh().ShouldBeOfType<CertificateRefresh.Reloaded>();
        var (newClient, newServer, newSeen) = await SessionAsync(listener, certificates);
        newSeen.ShouldBe(CertificateFiles.Fingerprint(renewed));

        await TlsIo.PingAsync(oldClient, oldServer);
        foreach (var disposable in new IAsyncDisposable[] { oldClient, oldServer, newClient, newServer }) await disposable.DisposeAsync();
    }

    private static async Task<(TestClient Client, TlsChannel Server, string Seen)> SessionAsync(LoopbackListener listener,
        TlsCertificates certificates)
    {
        var accepted = AcceptAsync();
        var seen = "";
        var client = await TestClient.ConnectAsync(listener.Port, TlsIo.UniqueHost("session"), validate: (_, certificate, _, _) =>
        {
            seen = CertificateFiles.Fingerprint(certificate!);
            return true;
        });
        return (client, await accepted, seen);

        async Task<TlsChannel> AcceptAsync() =>
            await TlsChannel.AcceptAsync(await listener.AcceptSocketAsync(), certificates.ServerOptions(), TimeSpan.FromSeconds(20));
    }

    private static async Task<string[]> ChainSentAsync(TlsCertificates certificates)
    {
        using var listener = new LoopbackListener();
        var accepted = listener.AcceptTlsAsync(certificates.Current);
        string[] sent = [];
        await using var client = await TestClient.ConnectAsync(listener.Port, TlsIo.UniqueHost("chain"), validate: (_, _, chain, _) =>
        {
            sent = chain!.ChainElements.Select(e => e.Certificate.Thumbprint).ToArray();
            return true;
        });
        await using var server = await accepted;
        return sent;
    }

    private static (string Certificate, string Key) NewPem() => SelfSignedCertificate.Create("localhost", DateTimeOffset.UtcNow);

    private static CertificateSource.PemFiles Pem(string folder, string? certificate = "", string? key = "", string name = "server")
    {
        var generated = NewPem();
        var source = new CertificateSource.PemFiles(Path.Combine(folder, $"{name}-cert.pem"), Path.Combine(folder, $"{name}-key.pem"));
        if (certificate is not null) File.WriteAllText(source.CertificatePath, certificate == "" ? generated.Certificate : certificate);
        if (key is not null) File.WriteAllText(source.KeyPath, key == "" ? generated.Key : key);
        return source;
    }

    private static CertificateSource.Pfx Pfx(string folder, string password, string given)
    {
        var (certificate, key) = NewPem();
        var path = Path.Combine(folder, "server.pfx");
        File.WriteAllBytes(path, X509Certificate2.CreateFromPem(certificate, key).Export(X509ContentType.Pkcs12, password)!);
        return new CertificateSource.Pfx(path, given);
    }

    private static string Encrypted(string keyPem)
    {
        using var key = ECDsa.Create();
        key.ImportFromPem(keyPem);
        var encryption = new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000);
        return key.ExportEncryptedPkcs8PrivateKeyPem("pw", encryption);
    }

    // A renewal writes both files; the times are set apart so that even a coarse file system sees the change.
    private static X509Certificate2 Renew(CertificateSource.PemFiles source)
    {
        var (certificate, key) = NewPem();
        Touch(source.CertificatePath, certificate);
        Touch(source.KeyPath, key);
        return X509Certificate2.CreateFromPem(certificate, key);
    }

    private static void Touch(string path, string text)
    {
        var before = File.GetLastWriteTimeUtc(path);
        File.WriteAllText(path, text);
        File.SetLastWriteTimeUtc(path, before.AddSeconds(2));
    }

    // Root, intermediate, server, as a public CA issues them; .NET never sends the self-signed root, only the intermediate.
    private static (X509Certificate2 Intermediate, X509Certificate2 Leaf) Chain()
    {
        var now = DateTimeOffset.UtcNow;
        using var rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var root = AuthorityRequest("CN=Test Root", rootKey).CreateSelfSigned(now.AddDays(-1), now.AddYears(2));
        using var intermediateKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var issued = AuthorityRequest("CN=Test Intermediate", intermediateKey)
            .Create(root, now.AddDays(-1), now.AddYears(1), [5, 6, 7]);
        using var intermediate = issued.CopyWithPrivateKey(intermediateKey);
        var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=localhost", leafKey, HashAlgorithmName.SHA256);
        var leaf = leafRequest.Create(intermediate, now.AddDays(-1), now.AddMonths(3), [1, 2, 3, 4]).CopyWithPrivateKey(leafKey);
        return (X509CertificateLoader.LoadCertificate(issued.RawData), leaf);
    }

    private static CertificateRequest AuthorityRequest(string name, ECDsa key)
    {
        var request = new CertificateRequest(name, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request;
    }
}
