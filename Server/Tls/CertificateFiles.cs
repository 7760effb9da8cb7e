using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ScriptFtp.Tls;

/// <summary>A certificate or key that cannot be used; the message names the file and says what is wrong.</summary>
internal sealed class TlsCertificateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A loaded server certificate, ready for SslStream, and the state of the files it came from.</summary>
/// <param name="Certificate">The server certificate, with its private key.</param>
/// <param name="Context">The certificate with its intermediates, as SslStream takes it.</param>
/// <param name="Fingerprint">SHA-256 of the certificate in the form FileZilla and openssl show (AA:BB:...).</param>
/// <param name="Stamps">The files as they were just before they were read.</param>
internal sealed record LoadedCertificate(X509Certificate2 Certificate, SslStreamCertificateContext Context, string Fingerprint,
    FileStamp[] Stamps);

/// <summary>
/// What tells a changed file: its final target (a Let's Encrypt <c>live/</c> file is a symbolic link that a renewal
/// points elsewhere), last write time and size. A missing or unreadable file has size -1.
/// </summary>
internal readonly record struct FileStamp(string Path, DateTime LastWriteUtc, long Length)
{
    /// <summary>The stamp of a file now.</summary>
    public static FileStamp Of(string path)
    {
        try
        {
            var file = new FileInfo(path);
            var target = file.LinkTarget is null ? file : file.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? file;
            return target.Exists ? new(target.FullName, target.LastWriteTimeUtc, target.Length) : new(path, default, -1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(path, default, -1);
        }
    }
}

/// <summary>Reads certificates and keys from PEM and PKCS#12 files, with errors that name the file and the problem.</summary>
internal static class CertificateFiles
{
    /// <summary>SHA-256 of a certificate as FileZilla and <c>openssl x509 -fingerprint -sha256</c> show it: AA:BB:...</summary>
    public static string Fingerprint(X509Certificate certificate) =>
        BitConverter.ToString(certificate.GetCertHash(HashAlgorithmName.SHA256)).Replace('-', ':');

    /// <summary>The files a source reads, stamped now.</summary>
    public static FileStamp[] Stamps(CertificateSource source) => source switch
    {
        CertificateSource.PemFiles pem => [FileStamp.Of(pem.CertificatePath), FileStamp.Of(pem.KeyPath)],
        CertificateSource.Pfx pfx => [FileStamp.Of(pfx.Path)],
        CertificateSource.SelfSigned self => [FileStamp.Of(self.CertificatePath), FileStamp.Of(self.KeyPath)],
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "unknown certificate source"),
    };

    /// <summary>Loads the certificate a source names (a self-signed source must have its files already).</summary>
    /// <exception cref="TlsCertificateException">A file is missing, unreadable, malformed, or the key does not match.</exception>
    public static LoadedCertificate Load(CertificateSource source) => source switch
    {
        CertificateSource.PemFiles pem => LoadPem(pem.CertificatePath, pem.KeyPath),
        CertificateSource.Pfx pfx => LoadPfx(pfx.Path, pfx.Password),
        CertificateSource.SelfSigned self => LoadPem(self.CertificatePath, self.KeyPath),
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "unknown certificate source"),
    };

    private static LoadedCertificate LoadPem(string certificatePath, string keyPath)
    {
        FileStamp[] stamps = [FileStamp.Of(certificatePath), FileStamp.Of(keyPath)];
        var chain = ReadChain(certificatePath);
        var keyText = ReadText(keyPath, "key file");
        X509Certificate2 leaf;
        try
        {
            leaf = X509Certificate2.CreateFromPem(chain[0].ExportCertificatePem(), keyText);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException) // a key of another certificate: ArgumentException
        {
            throw new TlsCertificateException(KeyProblem(keyText, keyPath, certificatePath, e), e);
        }
        return Build(leaf, chain.Skip(1), stamps);
    }

    private static X509Certificate2Collection ReadChain(string path)
    {
        var text = ReadText(path, "certificate file");
        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPem(text);
        }
        catch (CryptographicException e)
        {
            throw new TlsCertificateException($"certificate file {path} cannot be read: {e.Message}", e);
        }
        return chain.Count > 0 ? chain
            : throw new TlsCertificateException($"certificate file {path} cannot be read: it holds no PEM certificate " +
                                               "(-----BEGIN CERTIFICATE-----)");
    }

    private static string ReadText(string path, string what)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TlsCertificateException($"{what} {path} cannot be read: {ReadProblem(path, e)}", e);
        }
    }

    // "Access to the path is denied" is what .NET says for a folder too: tell the two apart.
    private static string ReadProblem(string path, Exception error) => error switch
    {
        FileNotFoundException or DirectoryNotFoundException => "it does not exist",
        _ when Directory.Exists(path) => "it is a folder, not a file",
        UnauthorizedAccessException => $"permission denied: the server's user ({Environment.UserName}) may not read it",
        _ => error.Message,
    };

    // CreateFromPem says the same for a missing, malformed or mismatched key; tell them apart for the user.
    private static string KeyProblem(string keyText, string keyPath, string certificatePath, Exception error)
    {
        var labels = PemLabels(keyText);
        if (labels.Contains("ENCRYPTED PRIVATE KEY"))
            return $"key file {keyPath} cannot be read: the key is encrypted; store it unencrypted " +
                   $"(openssl pkey -in {keyPath} -out key.pem) and make the file readable by the server's user only";
        if (!labels.Any(l => l.EndsWith("PRIVATE KEY", StringComparison.Ordinal)))
            return $"key file {keyPath} cannot be read: it holds no PEM private key (-----BEGIN PRIVATE KEY-----)";
        return IsReadableKey(keyText)
            ? $"key file {keyPath} does not match certificate file {certificatePath}"
            : $"key file {keyPath} cannot be read: {error.Message}";
    }

    private static List<string> PemLabels(string text)
    {
        var labels = new List<string>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            labels.Add(rest[fields.Label].ToString());
            rest = rest[fields.Location.End..];
        }
        return labels;
    }

    private static bool IsReadableKey(string keyText) => CanImport(RSA.Create(), keyText) || CanImport(ECDsa.Create(), keyText);

    private static bool CanImport(AsymmetricAlgorithm key, string keyText)
    {
        using (key)
        {
            try
            {
                key.ImportFromPem(keyText);
                return true;
            }
            catch (Exception e) when (e is CryptographicException or ArgumentException)
            {
                return false;
            }
        }
    }

    private static LoadedCertificate LoadPfx(string path, string? password)
    {
        FileStamp[] stamps = [FileStamp.Of(path)];
        X509Certificate2Collection all;
        try
        {
            // Read here: the loader reports a missing file as "Error occurred during a cryptographic operation".
            all = X509CertificateLoader.LoadPkcs12Collection(File.ReadAllBytes(path), password);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TlsCertificateException($"certificate file {path} cannot be read: {ReadProblem(path, e)}", e);
        }
        catch (CryptographicException e)
        {
            throw new TlsCertificateException($"certificate file {path} cannot be read: {e.Message}", e);
        }
        var leaf = all.FirstOrDefault(c => c.HasPrivateKey)
            ?? throw new TlsCertificateException($"certificate file {path} holds no certificate with its private key");
        return Build(leaf, all.Where(c => !ReferenceEquals(c, leaf)), stamps);
    }

    private static LoadedCertificate Build(X509Certificate2 leaf, IEnumerable<X509Certificate2> intermediates, FileStamp[] stamps)
    {
        var context = SslStreamCertificateContext.Create(leaf, [.. intermediates], offline: true);
        return new LoadedCertificate(leaf, context, Fingerprint(leaf), stamps);
    }
}
