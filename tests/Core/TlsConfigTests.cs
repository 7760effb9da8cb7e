using ScriptFtp.Security;
using ScriptFtp.Toml;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Core;

/// <summary>The [tls] table of ftp.toml: defaults, values, and errors that name the line.</summary>
public class TlsConfigTests
{
    private static ServerConfig Bind(string toml) =>
        ServerConfig.FromToml(ScriptFtp.Toml.Toml.Parse(toml, "ftp.toml"), "ftp.toml", "/srv/ftp");

    [Test]
    public void Shipped_file_allows_plain_ftp_from_loopback_only_and_generates_a_certificate_next_to_it()
    {
        var config = ServerConfig.Load(Support.Repo.File("ftp.toml"));
        config.PlainAllowedFrom.ShouldBe([AddressRange.Parse("127.0.0.0/8"), AddressRange.Parse("::1/128")]);
        config.ImplicitPort.ShouldBe(0);
        config.RequireSessionReuse.ShouldBeTrue();
        var folder = Path.GetDirectoryName(Support.Repo.File("ftp.toml"));
        config.Certificate.ShouldBeOfType<CertificateSource.SelfSigned>().Folder.ShouldBe(folder);
        config.Options.TlsEnabled.ShouldBeTrue();
    }

    [Test]
    public void Values_are_bound()
    {
        var config = Bind("""
            [tls]
            certificate = "fullchain.pem"
            key = "/etc/keys/privkey.pem"
            plain_allowed_from = []
            implicit_port = 990
            require_session_reuse = false
            """);
        config.Certificate.ShouldBe(new CertificateSource.PemFiles("/srv/ftp/fullchain.pem", "/etc/keys/privkey.pem"));
        config.PlainAllowedFrom.ShouldBeEmpty();
        config.ImplicitPort.ShouldBe(990);
        config.RequireSessionReuse.ShouldBeFalse();
        Bind("[tls]\npfx = \"a.pfx\"\npfx_password = \"x\"").Certificate.ShouldBe(new CertificateSource.Pfx("/srv/ftp/a.pfx", "x"));
    }

    [TestCase("[tls]\nplain_allowed_from = [\"10.0.0.0/33\"]", "ftp.toml(2,")]
    [TestCase("[tls]\ncertificate = \"a.pem\"", "ftp.toml(2,")]
    [TestCase("[tls]\nimplicit_port = 70000", "ftp.toml(2,")]
    [TestCase("[tls]\npfx = \"a.pfx\"\ncertificate = \"a.pem\"\nkey = \"k.pem\"", "ftp.toml(")]
    [TestCase("[tls]\nimplicit = 990", "ftp.toml(2,1): unknown key \"implicit\" in [tls]")]
    public void Mistakes_name_the_line(string toml, string start) =>
        Should.Throw<TomlException>(() => Bind(toml)).Message.ShouldStartWith(start);
}
