using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography;

namespace ScriptFtp.Tls;

/// <summary>
/// Control over the TLS 1.3 session tickets a server connection sends, which .NET has no API for.
/// <list type="bullet">
/// <item><see cref="TryDisable"/>, for data connections: no NewSessionTicket, while a resumed session is still
/// accepted. An upload-only client never reads the tickets; when it closes, its kernel answers the unread bytes with a
/// reset instead of a FIN, and the reset destroys upload data still in flight (curl#6149, openssl#10880, proftpd#959).
/// Clients resume the control connection's session, so data connections need no tickets of their own.</item>
/// <item><see cref="TryIssue"/>, for the control connection: one more ticket, sent with the next reply. The .NET
/// client (and any client that uses a TLS 1.3 ticket once only, as RFC 8446 advises) holds a single ticket per host
/// and spends it on the first data connection; a fresh ticket before each data connection keeps it resuming.</item>
/// </list>
/// <para>
/// On Linux SslStream runs OpenSSL: <c>SSL_set_num_tickets(ssl, 0)</c> and <c>SSL_new_session_ticket(ssl)</c> on the
/// connection's <c>SSL*</c>, which is SslStream's private <c>_securityContext</c> (a <c>SafeSslHandle</c>). Every step is
/// checked; when anything differs (another .NET version or platform, another OpenSSL) nothing is done and false is
/// returned, and tickets are sent as usual. OpenSSL does not lock an <c>SSL*</c>: call these only while no read or write
/// runs on the stream.
/// </para>
/// </summary>
internal static class SessionTickets
{
    private const int OpenSsl3 = 3;

    private static readonly FieldInfo? SecurityContext =
        typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);

    private static readonly Lazy<bool> Available = new(IsAvailable);

    /// <summary>True when this runtime looks as expected (Linux, OpenSSL 3, the private field present).</summary>
    public static bool Supported => Available.Value;

    /// <summary>
    /// Disables tickets on the connection of a server SslStream whose handshake is under way: after the ClientHello was
    /// processed and before the client's Finished arrives, i.e. when the server writes its first flight (see
    /// <see cref="TlsTransportStream"/>). Returns whether it was done.
    /// </summary>
    public static bool TryDisable(SslStream stream) => WithSsl(stream, ssl => SetNumTickets(ssl, 0) == 1);

    /// <summary>
    /// Queues one more TLS 1.3 session ticket on an authenticated server SslStream; it goes out with the next write.
    /// Returns whether it was queued (false for TLS 1.2, which has no post-handshake tickets).
    /// </summary>
    public static bool TryIssue(SslStream stream) =>
        stream.IsAuthenticated && stream.SslProtocol == SslProtocols.Tls13
                               && WithSsl(stream, ssl => NewSessionTicket(ssl) == 1);

    private static bool WithSsl(SslStream stream, Func<IntPtr, bool> call)
    {
        if (!Supported || SecurityContext!.GetValue(stream) is not SafeHandle handle || handle.GetType().Name != "SafeSslHandle")
            return false;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return !handle.IsInvalid && call(handle.DangerousGetHandle());
        }
        catch (Exception e) when (e is ObjectDisposedException or DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    // The libssl that SslStream uses: "libssl.so.3" names every OpenSSL 3.x, and loading it again returns the same library.
    private static bool IsAvailable()
    {
        if (!OperatingSystem.IsLinux() || SecurityContext is null) return false;
        try
        {
            return SafeEvpPKeyHandle.OpenSslVersion >> 28 == OpenSsl3
                   && NativeLibrary.TryLoad("libssl.so.3", out var library)
                   && NativeLibrary.TryGetExport(library, "SSL_set_num_tickets", out _)
                   && NativeLibrary.TryGetExport(library, "SSL_new_session_ticket", out _);
        }
        catch (Exception e) when (e is PlatformNotSupportedException or DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libssl.so.3", EntryPoint = "SSL_set_num_tickets")]
    private static extern int SetNumTickets(IntPtr ssl, nuint count);

    [DllImport("libssl.so.3", EntryPoint = "SSL_new_session_ticket")]
    private static extern int NewSessionTicket(IntPtr ssl);
}
