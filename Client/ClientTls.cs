using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace ScriptFtp.Client;

// The TLS settings for one server, shared by the control connection and every data connection. FTPS servers refuse a data
// connection that does not resume the control connection's TLS session (vsftpd's require_ssl_reuse, ScriptFtp's
// require_session_reuse), and .NET resumes only towards the same TargetHost, so one options object serves them all.
internal static class ClientTls
{
    public static SslClientAuthenticationOptions Options(string host, RemoteCertificateValidationCallback trust) => new()
    {
        TargetHost = SessionName(host),
        AllowTlsResume = true,
        RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
            trust(sender, certificate, chain, NameErrors(host, certificate, errors)),
    };

    // The TargetHost for a server. .NET on Linux keeps client sessions per SNI name and sends none for an IP address, so
    // towards 127.0.0.1 it would never resume. A server given by address is therefore named after the address in the
    // reserved .invalid domain (RFC 6761), which can name no real host: 127.0.0.1 becomes ip-127-0-0-1.invalid.
    public static string SessionName(string host) =>
        KnownHosts.AddressOf(host) switch
        {
            null => host,
            { AddressFamily: AddressFamily.InterNetwork } v4 => $"ip-{v4.ToString().Replace('.', '-')}.invalid",
            var v6 => $"ip-{Convert.ToHexStringLower(v6.GetAddressBytes())}.invalid",
        };

    // .NET checked the certificate against the made-up name; for an address, what counts is whether the certificate
    // names that address.
    internal static SslPolicyErrors NameErrors(string host, X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (KnownHosts.AddressOf(host) is not { } address || certificate is null)
            return errors;
        // SslStream hands over an X509Certificate2.
        var matches = certificate is X509Certificate2 full && full.MatchesHostname(address.ToString());
        const SslPolicyErrors Mismatch = SslPolicyErrors.RemoteCertificateNameMismatch;
        return matches ? errors & ~Mismatch : errors | Mismatch;
    }
}
