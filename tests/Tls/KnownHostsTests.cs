using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using ScriptFtp.Client;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Tls;

/// <summary>The client's trust on first use: the known-hosts file and the certificate validation built on it.</summary>
public class KnownHostsTests
{
    private const string Print = "AA:BB:CC", OtherPrint = "11:22:33";
    private string _folder = "";
    private string _path = "";

    [SetUp]
    public void SetUp()
    {
        _folder = Tools.NewFolder("scriptftp-known-");
        _path = Path.Combine(_folder, ".scriptftp", "known_hosts");
    }

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(_folder);

    [Test]
    public void A_missing_file_knows_nothing_and_is_not_created()
    {
        new KnownHosts(_path).Lookup("ftp.example.com", 21, Print).ShouldBe(new HostLookup(HostKeyStatus.Unknown, null));
        File.Exists(_path).ShouldBeFalse();
    }

    [Test]
    public void A_remembered_host_matches_only_its_fingerprint_and_port()
    {
        var hosts = new KnownHosts(_path);
        hosts.Remember("ftp.example.com", 21, Print);
        File.ReadAllText(_path).ShouldBe($"ftp.example.com:21 {Print}\n");
        File.GetUnixFileMode(Path.GetDirectoryName(_path)!)
            .ShouldBe(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        hosts.Lookup("FTP.Example.COM", 21, Print).ShouldBe(new HostLookup(HostKeyStatus.Match, Print));
        hosts.Lookup("ftp.example.com", 21, Print.ToLowerInvariant()).Status.ShouldBe(HostKeyStatus.Match);
        hosts.Lookup("ftp.example.com", 21, OtherPrint).ShouldBe(new HostLookup(HostKeyStatus.Mismatch, Print));
        hosts.Lookup("ftp.example.com", 990, Print).Status.ShouldBe(HostKeyStatus.Unknown);
        hosts.Lookup("example.com", 21, Print).Status.ShouldBe(HostKeyStatus.Unknown);
    }

    [TestCase("ftp.Example.com", 21, "ftp.example.com:21")]
    [TestCase("127.0.0.1", 2121, "127.0.0.1:2121")]
    [TestCase("::1", 2121, "[::1]:2121")]
    [TestCase("[::1]", 2121, "[::1]:2121")]
    [TestCase("2001:DB8:0:0::1", 21, "[2001:db8::1]:21")]
    public void Hosts_are_written_in_one_form(string host, int port, string key) => KnownHosts.Key(host, port).ShouldBe(key);

    [Test]
    public void Rewriting_keeps_other_lines_and_replaces_the_host()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        File.WriteAllLines(_path, ["# my servers", "", "ftp.example.com:21 00:00", "odd line with words", $"[::1]:2121 {OtherPrint}"]);
        var hosts = new KnownHosts(_path);
        hosts.Remember("ftp.example.com", 21, Print);
        hosts.Remember("localhost", 2121, OtherPrint);
        File.ReadAllLines(_path).ShouldBe(["# my servers", "", "odd line with words", $"[::1]:2121 {OtherPrint}",
            $"ftp.example.com:21 {Print}", $"localhost:2121 {OtherPrint}"]);
        hosts.Lookup("::1", 2121, OtherPrint).Status.ShouldBe(HostKeyStatus.Match);
        Directory.GetFiles(Path.GetDirectoryName(_path)!).ShouldBe([_path], "no temporary file is left behind");
    }

    [TestCase(false, SslPolicyErrors.RemoteCertificateChainErrors, "Unknown", "AskUser")]
    [TestCase(false, SslPolicyErrors.RemoteCertificateChainErrors, "Match", "Accept")]
    [TestCase(false, SslPolicyErrors.RemoteCertificateChainErrors, "Mismatch", "Refuse")]
    [TestCase(false, SslPolicyErrors.RemoteCertificateNameMismatch, "Unknown", "AskUser")]
    [TestCase(false, SslPolicyErrors.None, "Unknown", "Accept")]
    [TestCase(false, SslPolicyErrors.None, "Mismatch", "Accept")]
    [TestCase(false, SslPolicyErrors.RemoteCertificateNotAvailable, "Unknown", "Refuse")]
    [TestCase(true, SslPolicyErrors.RemoteCertificateChainErrors, "Mismatch", "Accept")]
    [TestCase(true, SslPolicyErrors.RemoteCertificateNotAvailable, "Unknown", "Accept")]
    public void Decides(bool insecure, SslPolicyErrors errors, string known, string expected) =>
        CertificateTrust.Decide(insecure, errors, Enum.Parse<HostKeyStatus>(known)).ShouldBe(Enum.Parse<TrustDecision>(expected));

    [Test]
    public void Client_and_server_compute_the_same_fingerprint()
    {
        var certificate = TestCertificates.Create();
        CertificateTrust.Fingerprint(certificate).ShouldBe(CertificateFiles.Fingerprint(certificate));
    }

    [Test]
    public void First_use_asks_once_and_remembers()
    {
        var (trust, asked, warned) = Trust(answer: true);
        var certificate = TestCertificates.Create();
        trust(this, certificate, null, SslPolicyErrors.RemoteCertificateChainErrors).ShouldBeTrue();
        trust(this, certificate, null, SslPolicyErrors.RemoteCertificateChainErrors).ShouldBeTrue();
        asked.Count.ShouldBe(1);
        asked[0].ShouldContain(CertificateTrust.Fingerprint(certificate));
        asked[0].ShouldContain(_path);
        warned.ShouldBeEmpty();
        new KnownHosts(_path).Lookup("ftp.example.com", 21, CertificateTrust.Fingerprint(certificate)).Status.ShouldBe(HostKeyStatus.Match);
    }

    [Test]
    public void A_declined_certificate_is_refused_and_not_remembered()
    {
        var (trust, asked, _) = Trust(answer: false);
        trust(this, TestCertificates.Create(), null, SslPolicyErrors.RemoteCertificateChainErrors).ShouldBeFalse();
        asked.Count.ShouldBe(1);
        File.Exists(_path).ShouldBeFalse();
    }

    [Test]
    public void A_changed_certificate_is_refused_loudly_without_asking()
    {
        var known = TestCertificates.Create();
        new KnownHosts(_path).Remember("ftp.example.com", 21, CertificateTrust.Fingerprint(known));
        var (trust, asked, warned) = Trust(answer: true);
        var changed = TestCertificates.Create();
        trust(this, changed, null, SslPolicyErrors.RemoteCertificateChainErrors).ShouldBeFalse();
        asked.ShouldBeEmpty();
        warned.Count.ShouldBe(1);
        warned[0].ShouldStartWith("WARNING: THE CERTIFICATE OF ftp.example.com:21 HAS CHANGED.");
        warned[0].ShouldContain($"Trusted fingerprint:   {CertificateTrust.Fingerprint(known)}");
        warned[0].ShouldContain($"Presented fingerprint: {CertificateTrust.Fingerprint(changed)}");
        warned[0].ShouldContain($"delete the line for ftp.example.com:21 from {_path}");
    }

    [Test]
    public void Insecure_and_authority_signed_certificates_are_accepted_without_the_file()
    {
        var (insecure, asked, _) = Trust(answer: false, insecure: true);
        insecure(this, TestCertificates.Create(), null, SslPolicyErrors.RemoteCertificateChainErrors).ShouldBeTrue();
        var (normal, _, _) = Trust(answer: false);
        normal(this, TestCertificates.Create(), null, SslPolicyErrors.None).ShouldBeTrue();
        asked.ShouldBeEmpty();
        File.Exists(_path).ShouldBeFalse();
    }

    [Test]
    public async Task Over_real_handshakes_the_first_is_asked_the_second_trusted_and_a_new_certificate_refused()
    {
        using var listener = new LoopbackListener();
        var original = TestCertificates.Context();
        var questions = 0;
        var warnings = new List<string>();
        RemoteCertificateValidationCallback Validate() => CertificateTrust.Create(new KnownHosts(_path), "127.0.0.1", listener.Port,
            insecure: false, _ => ++questions > 0, warnings.Add);

        await HandshakeAsync(listener, original, Validate());
        await HandshakeAsync(listener, original, Validate());
        questions.ShouldBe(1);
        var refused = HandshakeAsync(listener, TestCertificates.Context(), Validate());
        await Should.ThrowAsync<AuthenticationException>(refused);
        warnings.Single().ShouldContain("HAS CHANGED");
    }

    private static async Task HandshakeAsync(LoopbackListener listener, SslStreamCertificateContext certificate,
        RemoteCertificateValidationCallback validate)
    {
        var accepted = listener.AcceptTlsAsync(certificate);
        try
        {
            await using var client = await TestClient.ConnectAsync(listener.Port, "127.0.0.1", validate: validate);
        }
        finally
        {
            try
            {
                await (await accepted).DisposeAsync();
            }
            catch (TlsHandshakeException)
            {
                // the client refused the certificate
            }
        }
    }

    private (RemoteCertificateValidationCallback Trust, List<string> Asked, List<string> Warned) Trust(bool answer, bool insecure = false)
    {
        var asked = new List<string>();
        var warned = new List<string>();
        var trust = CertificateTrust.Create(new KnownHosts(_path), "ftp.example.com", 21, insecure, question =>
        {
            asked.Add(question);
            return answer;
        }, warned.Add);
        return (trust, asked, warned);
    }
}
