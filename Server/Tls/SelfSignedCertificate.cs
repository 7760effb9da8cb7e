using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ScriptFtp.Tls;

/// <summary>
/// The certificate a server uses when none is configured: ECDSA P-256, CN = the host name, valid for the host name,
/// localhost, 127.0.0.1 and ::1, for ten years. Clients trust it on first use by its fingerprint, not by a CA.
/// </summary>
internal static class SelfSignedCertificate
{
    /// <summary>How long a generated certificate is valid.</summary>
    public static readonly TimeSpan Validity = TimeSpan.FromDays(3650);

    private const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";

    /// <summary>A new certificate and its key, both PEM (the key as PKCS#8).</summary>
    public static (string CertificatePem, string KeyPem) Create(string hostName, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(hostName);
        var request = new CertificateRequest(name.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(ServerAuthentication)], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(AlternativeNames(hostName));
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now + Validity);
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>Generates a certificate and saves it; the key file is readable and writable by its owner only (0600).</summary>
    /// <exception cref="TlsCertificateException">A file cannot be written.</exception>
    public static void Save(string hostName, DateTimeOffset now, string certificatePath, string keyPath)
    {
        var (certificatePem, keyPem) = Create(hostName, now);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(keyPath))!);
            WriteNew(keyPath, keyPem, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            WriteNew(certificatePath, certificatePem,
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TlsCertificateException($"cannot save the self-signed certificate to {certificatePath}: {e.Message.TrimEnd('.')}. "
                + "Let the server's user write to that folder, or configure a certificate in [tls]", e);
        }
    }

    private static X509Extension AlternativeNames(string hostName)
    {
        var names = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(hostName, out var address))
        {
            if (!IPAddress.IsLoopback(address)) names.AddIpAddress(address);
        }
        else if (!hostName.Equals("localhost", StringComparison.OrdinalIgnoreCase) && Uri.CheckHostName(hostName) == UriHostNameType.Dns)
            names.AddDnsName(hostName);
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        return names.Build();
    }

    // Written under a temporary name created with its final mode, then renamed: never a half-written or briefly
    // world-readable key, and never over an existing file.
    private static void WriteNew(string path, string text, UnixFileMode mode)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        try
        {
            using (var file = new FileStream(temporary, options))
            {
                file.Write(Encoding.ASCII.GetBytes(text));
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: false);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
