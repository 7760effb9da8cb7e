using System.Net.Sockets;

namespace ScriptFtp;

/// <summary>The server cannot start for a reason the person running it can fix; the message says what to do.</summary>
internal sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Startup failures put in the words of the person who runs the server, with the setting that changes them.</summary>
internal static class StartupError
{
    private const int FirstUnprivilegedPort = 1024;

    /// <summary>The message for a port that cannot be bound, or null when the error is not one a person can act on.</summary>
    public static string? ForBind(SocketError error, int port) => error switch
    {
        SocketError.AddressAlreadyInUse =>
            $"port {port} is already in use (another FTP server?). Choose another: [server] port in ftp.toml, or ScriptFtp.Server {Other(port)}",
        SocketError.AccessDenied when port < FirstUnprivilegedPort =>
            $"port {port} is below {FirstUnprivilegedPort}, which only an administrator may open. Choose a port of "
            + $"{FirstUnprivilegedPort} or more: [server] port in ftp.toml, or ScriptFtp.Server {Other(port)}",
        SocketError.AccessDenied => $"port {port} may not be opened by this user. Choose another: [server] port in ftp.toml",
        _ => null,
    };

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
            throw new StartupException($"the root folder {root} cannot be created or written ({e.Message}). "
                + "Give the server's user the right to write there, or choose another: [server] root in ftp.toml", e);
        }
    }

    private static int Other(int port) => port == 2200 ? 2201 : 2200;
}
