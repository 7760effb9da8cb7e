using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Serilog;

namespace ScriptFtp.Tls;

/// <summary>What <see cref="TlsCertificates.Refresh"/> found.</summary>
internal abstract record CertificateRefresh
{
    private CertificateRefresh()
    {
    }

    /// <summary>The files have not changed since they were last read.</summary>
    public sealed record Unchanged : CertificateRefresh;

    /// <summary>The files changed and the new certificate is now in use.</summary>
    public sealed record Reloaded(string Fingerprint) : CertificateRefresh;

    /// <summary>The files changed but cannot be used; the previous certificate stays in use.</summary>
    public sealed record Failed(string Error) : CertificateRefresh;
}

/// <summary>
/// The server's certificate, kept current: when a session asks for it, the files are checked (at most once per
/// <see cref="CheckInterval"/>; their last write time and size, no watcher) and reloaded if they changed, as after a
/// Let's Encrypt renewal. New sessions get the new certificate; running sessions keep theirs. A reload that fails
/// keeps the old certificate and is logged as a warning. Thread-safe.
/// </summary>
internal sealed class TlsCertificates
{
    /// <summary>TLS 1.2 and 1.3 only.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>How often at most the files are looked at.</summary>
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    private readonly CertificateSource _source;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private volatile LoadedCertificate _current;
    private FileStamp[] _seen;
    private long _nextCheckTicks;

    private TlsCertificates(CertificateSource source, LoadedCertificate loaded, ILogger log, TimeProvider time)
    {
        _source = source;
        _current = loaded;
        _seen = loaded.Stamps;
        _log = log;
        _time = time;
        _nextCheckTicks = (time.GetUtcNow() + CheckInterval).UtcTicks;
    }

    /// <summary>
    /// Loads the configured certificate, or for <see cref="CertificateSource.SelfSigned"/> the one generated on an earlier
    /// start (generating and saving it now if there is none), and logs its SHA-256 fingerprint.
    /// </summary>
    /// <exception cref="TlsCertificateException">The certificate cannot be loaded (or generated); the message says why.</exception>
    public static TlsCertificates Load(CertificateSource source, ILogger log, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        if (source is CertificateSource.SelfSigned self) EnsureSelfSigned(self, log, time);
        var loaded = CertificateFiles.Load(source);
        var certificate = loaded.Certificate;
        log.Information("TLS certificate {Subject} from {Source}, valid until {NotAfter:yyyy-MM-dd}, SHA-256 fingerprint {Fingerprint}",
            certificate.Subject, Describe(source), certificate.NotAfter.ToUniversalTime(), loaded.Fingerprint);
        if (certificate.NotAfter.ToUniversalTime() < time.GetUtcNow().UtcDateTime)
            log.Warning("TLS certificate {Subject} expired on {NotAfter:yyyy-MM-dd}: clients will refuse it", certificate.Subject,
                certificate.NotAfter.ToUniversalTime());
        return new TlsCertificates(source, loaded, log, time);
    }

    /// <summary>The certificate for a new session: the files are checked first when the last check is older than a second.</summary>
    public SslStreamCertificateContext Current
    {
        get
        {
            if (_time.GetUtcNow().UtcTicks >= Interlocked.Read(ref _nextCheckTicks)) RefreshIfDue();
            return _current.Context;
        }
    }

    /// <summary>The certificate in use (without looking at the files).</summary>
    public X509Certificate2 Certificate => _current.Certificate;

    /// <summary>SHA-256 fingerprint of the certificate in use, AA:BB:... as FileZilla and openssl show it.</summary>
    public string Fingerprint => _current.Fingerprint;

    /// <summary>Options for a new session's handshake, with the current certificate.</summary>
    public SslServerAuthenticationOptions ServerOptions() => ServerOptionsFor(Current);

    /// <summary>
    /// Handshake options for a certificate. A data connection must use its control connection's certificate, not the
    /// current one: .NET on Linux shares the TLS session cache only between connections with the same certificate and
    /// protocols, so after a reload the data connection could not resume the control connection's session.
    /// </summary>
    public static SslServerAuthenticationOptions ServerOptionsFor(SslStreamCertificateContext certificate) => new()
    {
        ServerCertificateContext = certificate,
        EnabledSslProtocols = Protocols,
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        AllowTlsResume = true,
    };

    /// <summary>Looks at the files now and reloads them if they changed since they were last read (or last failed).</summary>
    public CertificateRefresh Refresh()
    {
        lock (_lock)
            return RefreshLocked();
    }

    private void RefreshIfDue()
    {
        lock (_lock)
        {
            if (_time.GetUtcNow().UtcTicks >= Interlocked.Read(ref _nextCheckTicks)) RefreshLocked();
        }
    }

    private CertificateRefresh RefreshLocked()
    {
        Interlocked.Exchange(ref _nextCheckTicks, (_time.GetUtcNow() + CheckInterval).UtcTicks);
        var stamps = CertificateFiles.Stamps(_source);
        if (stamps.SequenceEqual(_seen)) return new CertificateRefresh.Unchanged();
        _seen = stamps;
        try
        {
            var loaded = CertificateFiles.Load(_source);
            _seen = loaded.Stamps;
            _current = loaded;
            _log.Information("TLS certificate reloaded: {Subject}, valid until {NotAfter:yyyy-MM-dd}, SHA-256 fingerprint {Fingerprint}",
                loaded.Certificate.Subject, loaded.Certificate.NotAfter.ToUniversalTime(), loaded.Fingerprint);
            return new CertificateRefresh.Reloaded(loaded.Fingerprint);
        }
        catch (TlsCertificateException e)
        {
            _log.Warning("TLS certificate not reloaded, the previous one stays in use: {Error}", e.Message);
            return new CertificateRefresh.Failed(e.Message);
        }
    }

    private static void EnsureSelfSigned(CertificateSource.SelfSigned self, ILogger log, TimeProvider time)
    {
        var (hasCertificate, hasKey) = (File.Exists(self.CertificatePath), File.Exists(self.KeyPath));
        if (hasCertificate && hasKey)
        {
            WarnIfKeyIsShared(self.KeyPath, log);
            return;
        }
        if (hasCertificate || hasKey)
            throw new TlsCertificateException($"found {(hasCertificate ? self.CertificatePath : self.KeyPath)} but not " +
                                              $"{(hasCertificate ? self.KeyPath : self.CertificatePath)}: delete it to have a new " +
                                              "self-signed certificate generated, or configure a certificate in [tls]");
        SelfSignedCertificate.Save(self.HostName, time.GetUtcNow(), self.CertificatePath, self.KeyPath);
        log.Information("Generated a self-signed TLS certificate for {Host}: {Certificate}, key {Key} (readable by its owner only)",
            self.HostName, self.CertificatePath, self.KeyPath);
    }

    private static void WarnIfKeyIsShared(string keyPath, ILogger log)
    {
        const UnixFileMode Others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(keyPath) & Others) != 0)
            log.Warning("TLS key file {Key} can be read by other users: chmod 600 it", keyPath);
    }

    private static string Describe(CertificateSource source) => source switch
    {
        CertificateSource.PemFiles pem => $"{pem.CertificatePath} and {pem.KeyPath}",
        CertificateSource.Pfx pfx => pfx.Path,
        CertificateSource.SelfSigned self => $"{self.CertificatePath} (self-signed)",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "unknown certificate source"),
    };
}
