using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ScriptFtp.Client;

/// <summary>What to do with a server certificate.</summary>
internal enum TrustDecision
{
    /// <summary>Go on with the connection.</summary>
    Accept,

    /// <summary>First connection to a server whose certificate no authority vouches for: show the fingerprint and ask.</summary>
    AskUser,

    /// <summary>The certificate differs from the one trusted before: refuse, loudly.</summary>
    Refuse,
}

/// <summary>
/// Trust on first use, as ssh does. A certificate that the system trusts for the host name is accepted as in a
/// browser (a renewed Let's Encrypt certificate must not alarm anyone). Any other certificate (self-signed, as the
/// server makes by default) is looked up in the known-hosts file by its SHA-256 fingerprint: a known one is accepted,
/// an unknown one is shown to the user, who may accept and remember it, and a changed one is refused. With
/// <c>--insecure</c> every certificate is accepted.
/// </summary>
internal static class CertificateTrust
{
    /// <summary>SHA-256 of a certificate as the server logs it and FileZilla shows it: AA:BB:...</summary>
    public static string Fingerprint(X509Certificate certificate) =>
        BitConverter.ToString(certificate.GetCertHash(HashAlgorithmName.SHA256)).Replace('-', ':');

    /// <summary>The decision, from the flags and what the system and the known-hosts file say.</summary>
    public static TrustDecision Decide(bool insecure, SslPolicyErrors errors, HostKeyStatus known) =>
        (insecure, errors, known) switch
        {
            (true, _, _) => TrustDecision.Accept,
            (_, SslPolicyErrors.None, _) => TrustDecision.Accept,
            (_, var e, _) when e.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) => TrustDecision.Refuse,
            (_, _, HostKeyStatus.Match) => TrustDecision.Accept,
            (_, _, HostKeyStatus.Unknown) => TrustDecision.AskUser,
            (_, _, HostKeyStatus.Mismatch) => TrustDecision.Refuse,
            _ => throw new ArgumentOutOfRangeException(nameof(known), known, "unknown host key status"),
        };

    /// <summary>
    /// The validation callback for every TLS connection (control and data) to <paramref name="host"/>:<paramref name="port"/>.
    /// <paramref name="ask"/> shows its text to the user and returns whether they trust the certificate;
    /// <paramref name="warn"/> shows a refusal. A certificate accepted once is not asked about again in this process,
    /// even if it could not be written to the file.
    /// </summary>
    public static RemoteCertificateValidationCallback Create(KnownHosts knownHosts, string host, int port, bool insecure,
        Func<string, bool> ask, Action<string> warn)
    {
        var accepted = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        return (_, certificate, _, errors) => certificate is null ? insecure : Check(certificate, errors);

        bool Check(X509Certificate certificate, SslPolicyErrors errors)
        {
            var fingerprint = Fingerprint(certificate);
            lock (accepted)
                if (accepted.Contains(fingerprint)) return true;
            var known = knownHosts.Lookup(host, port, fingerprint);
            var trusted = Decide(insecure, errors, known.Status) switch
            {
                TrustDecision.Accept => true,
                TrustDecision.AskUser => Confirm(ask, knownHosts, host, port, certificate, fingerprint, warn),
                TrustDecision.Refuse => Refuse(warn, KnownHosts.Key(host, port), certificate, fingerprint, known, knownHosts.Path),
                _ => throw new InvalidOperationException("unknown trust decision"),
            };
            if (trusted)
                lock (accepted)
                    accepted.Add(fingerprint);
            return trusted;
        }
    }

    private static bool Confirm(Func<string, bool> ask, KnownHosts knownHosts, string host, int port, X509Certificate certificate,
        string fingerprint, Action<string> warn)
    {
        var question = $"""
            The certificate of {KnownHosts.Key(host, port)} is not signed by an authority this computer trusts.
              Subject:             {certificate.Subject}
              SHA-256 fingerprint: {fingerprint}
            Compare the fingerprint with the one the server logs at start.
            Trust this certificate and remember it in {knownHosts.Path}?
            """;
        if (!ask(question)) return false;
        try
        {
            knownHosts.Remember(host, port, fingerprint);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            warn($"Could not remember the certificate in {knownHosts.Path}: {e.Message}");
        }
        return true;
    }

    private static bool Refuse(Action<string> warn, string server, X509Certificate certificate, string fingerprint, HostLookup known,
        string path)
    {
        warn(known.Status == HostKeyStatus.Mismatch
            ? $"""
              WARNING: THE CERTIFICATE OF {server} HAS CHANGED.
              Someone may be intercepting the connection, or the server got a new certificate.
                Trusted fingerprint:   {known.KnownFingerprint}
                Presented fingerprint: {fingerprint}
                Subject:               {certificate.Subject}
              The connection is refused. If the change is expected, delete the line for {server} from {path}.
              """
            : $"The certificate of {server} cannot be used; the connection is refused.");
        return false;
    }
}
