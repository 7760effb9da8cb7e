namespace ScriptFtp.Tls;

/// <summary>Where the server's TLS certificate comes from (the <c>[tls]</c> table of ftp.toml).</summary>
internal abstract record CertificateSource
{
    private CertificateSource()
    {
    }

    /// <summary>A PEM certificate file (the server certificate first, then any intermediates, as in a
    /// Let's Encrypt <c>fullchain.pem</c>) and an unencrypted PEM private key file.</summary>
    public sealed record PemFiles(string CertificatePath, string KeyPath) : CertificateSource;

    /// <summary>A PKCS#12 (.pfx/.p12) file holding the certificate with its key and any intermediates.</summary>
    public sealed record Pfx(string Path, string? Password) : CertificateSource
    {
        /// <summary>Never shows the password.</summary>
        public override string ToString() => $"Pfx {{ Path = {Path}, Password = {(Password is null ? "none" : "***")} }}";
    }

    /// <summary>
    /// No certificate configured: a self-signed one in <paramref name="Folder"/> (next to ftp.toml), generated on first
    /// start for <paramref name="HostName"/> and reused afterwards.
    /// </summary>
    public sealed record SelfSigned(string Folder, string HostName) : CertificateSource
    {
        /// <summary>File name of the generated certificate.</summary>
        public const string CertificateFileName = "ftps-cert.pem";

        /// <summary>File name of the generated private key (mode 0600).</summary>
        public const string KeyFileName = "ftps-key.pem";

        /// <summary>The generated certificate's path.</summary>
        public string CertificatePath => System.IO.Path.Combine(Folder, CertificateFileName);

        /// <summary>The generated key's path.</summary>
        public string KeyPath => System.IO.Path.Combine(Folder, KeyFileName);
    }
}
