using System.Net.Sockets;
using ScriptFtp.Tls;

namespace ScriptFtp;

/// <summary>The server cannot start for a reason the person running it can fix; the message says what to do.</summary>
internal sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Startup failures put in the words of the person who runs the server, with the setting that changes them.</summary>
internal static class StartupError
{
    private const int FirstUnprivilegedPort = 1024;

    /// <summary>Which listening port failed to bind: each is changed by its own setting.</summary>
    public enum Listener
    {
        /// <summary>The FTP port: <c>[server] port</c> or the command line.</summary>
        Control,
        /// <summary>The implicit FTPS port: <c>[tls] implicit_port</c>.</summary>
        ImplicitTls,
    }

    /// <summary>The message for a port that cannot be bound, or null when the error is not one a person can act on.</summary>
    public static string? ForBind(SocketError error, int port, Listener listener = Listener.Control)
    {
        var (name, setting) = listener switch
        {
            Listener.Control => ($"port {port}", $"[server] port in ftp.toml, or ScriptFtp.Server {Other(port)}"),
            Listener.ImplicitTls => ($"port {port} (implicit FTPS)", "[tls] implicit_port in ftp.toml (0 switches it off)"),
            _ => throw new ArgumentOutOfRangeException(nameof(listener), listener, "unknown listener"),
        };
        return error switch
        {
            SocketError.AddressAlreadyInUse => $"{name} is already in use (another FTP server?). Choose another: {setting}",
            SocketError.AccessDenied when port < FirstUnprivilegedPort =>
                $"{name} is below {FirstUnprivilegedPort}, which only an administrator may open. Choose a port of "
                + $"{FirstUnprivilegedPort} or more: {setting}",
            SocketError.AccessDenied => $"{name} may not be opened by this user. Choose another: {setting}",
            _ => null,
        };
    }

    /// <summary>Creates the root folder if needed and proves it writable, or says why it is not.</summary>
    public static void CheckRoot(string root)
    {
        try
        {
            Directory.CreateDirectory(root);
            var probe = Path.Combine(root, $".scriptftp-probe-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new StartupException($"the root folder {root} cannot be created or written: {RootProblem(root, e)}", e);
        }
    }

    /// <summary>A certificate or key that cannot be used, with the settings that choose another.</summary>
    public static StartupException ForCertificate(CertificateSource source, TlsCertificateException error) => new(source switch
    {
        CertificateSource.PemFiles => $"{error.Message}. Fix it, or choose other files: [tls] certificate and key in ftp.toml "
            + "(leave both out for a self-signed certificate)",
        CertificateSource.Pfx => $"{error.Message}. Fix it, or choose another: [tls] pfx and pfx_password in ftp.toml "
            + "(leave pfx out for a self-signed certificate)",
        // Its messages already say what to do: delete a lone file, or let the server write the pair.
        CertificateSource.SelfSigned => $"{error.Message} (ftp.toml)",
        _ => throw new ArgumentOutOfRangeException(nameof(source), source, "unknown certificate source"),
    }, error);

    /// <summary>Two listeners on one port: the second could never bind.</summary>
    public static string? SamePorts(int port, int implicitPort) => port != 0 && port == implicitPort
        ? $"[tls] implicit_port {implicitPort} is the FTP port too. Choose another: [tls] implicit_port in ftp.toml (0 switches it off)"
        : null;

    // What went wrong and what to do, in words: "Could not find a part of the path" does not say that a file is in the way.
    private static string RootProblem(string root, Exception error)
    {
        const string Choose = "choose another: [server] root in ftp.toml";
        if (File.Exists(root)) return $"it is a file, not a folder. Move the file, or {Choose}";
        if (FileInTheWay(root) is { } file) return $"{file} is a file, not a folder. Move the file, or {Choose}";
        return error is UnauthorizedAccessException
            ? $"permission denied. Give the server's user ({Environment.UserName}) the right to write there, or {Choose}"
            : $"{error.Message.TrimEnd('.')}. Give the server's user ({Environment.UserName}) the right to write there, or {Choose}";
    }

    private static string? FileInTheWay(string path)
    {
        for (var parent = Path.GetDirectoryName(Path.GetFullPath(path)); parent is not null; parent = Path.GetDirectoryName(parent))
        {
            if (File.Exists(parent)) return parent;
            if (Directory.Exists(parent)) return null;
        }
        return null;
    }

    private static int Other(int port) => port == 2200 ? 2201 : 2200;
}
