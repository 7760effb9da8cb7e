using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ScriptFtp.Client;

/// <summary>What the known-hosts file says about a server's certificate.</summary>
internal enum HostKeyStatus
{
    /// <summary>The server is not in the file: first connection.</summary>
    Unknown,

    /// <summary>The file holds this very fingerprint for the server.</summary>
    Match,

    /// <summary>The file holds another fingerprint for the server: the certificate changed.</summary>
    Mismatch,
}

/// <summary>The result of <see cref="KnownHosts.Lookup"/>; <paramref name="KnownFingerprint"/> is the one on file, if any.</summary>
internal sealed record HostLookup(HostKeyStatus Status, string? KnownFingerprint);

/// <summary>
/// Servers whose certificate the user trusted on first use, as ssh's known_hosts: one line per server,
/// <c>host:port FINGERPRINT</c> (SHA-256, AA:BB:...; IPv6 hosts as <c>[::1]:2121</c>). Comments (#), blank lines and
/// lines this version does not understand are kept when the file is rewritten. The file is read on every lookup and
/// replaced atomically on every change, so several clients may share it.
/// </summary>
internal sealed class KnownHosts(string path)
{
    private static readonly Encoding Utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    /// <summary><c>~/.scriptftp/known_hosts</c>.</summary>
    public static string DefaultPath =>
        System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".scriptftp", "known_hosts");

    /// <summary>The file.</summary>
    public string Path => path;

    /// <summary>How a server is written in the file: lower-case host, IPv6 in brackets, then the port.</summary>
    public static string Key(string host, int port) => AddressOf(host) switch
    {
        { AddressFamily: AddressFamily.InterNetworkV6 } v6 => $"[{v6}]:{port}",
        { } address => $"{address}:{port}",
        null => $"{Bare(host).ToLowerInvariant()}:{port}",
    };

    /// <summary>The host as an IP address (IPv6 with or without brackets); null for a host name.</summary>
    public static IPAddress? AddressOf(string host) => IPAddress.TryParse(Bare(host), out var address) ? address : null;

    private static string Bare(string host) => host.Trim().TrimStart('[').TrimEnd(']');

    /// <summary>Compares a server's certificate fingerprint with the file.</summary>
    public HostLookup Lookup(string host, int port, string fingerprint)
    {
        var known = Entries().FirstOrDefault(e => e.Key == Key(host, port)).Fingerprint;
        return known is null ? new HostLookup(HostKeyStatus.Unknown, null)
            : string.Equals(known, fingerprint, StringComparison.OrdinalIgnoreCase) ? new HostLookup(HostKeyStatus.Match, known)
            : new HostLookup(HostKeyStatus.Mismatch, known);
    }

    /// <summary>Writes the server's fingerprint to the file, replacing any it had.</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Remember(string host, int port, string fingerprint)
    {
        var key = Key(host, port);
        var kept = ReadLines().Where(line => Parse(line)?.Key != key);
        Write([.. kept, $"{key} {fingerprint.ToUpperInvariant()}"]);
    }

    private IEnumerable<(string Key, string Fingerprint)> Entries() =>
        ReadLines().Select(Parse).OfType<(string Key, string Fingerprint)>();

    private static (string Key, string Fingerprint)? Parse(string line)
    {
        var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return fields.Length == 2 && !fields[0].StartsWith('#') ? (fields[0].ToLowerInvariant(), fields[1]) : null;
    }

    private string[] ReadLines()
    {
        try
        {
            return File.ReadAllLines(path, Utf8);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }
    }

    // A new file under a temporary name, then renamed over the old one: a reader sees the old or the new file, whole.
    private void Write(IEnumerable<string> lines)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllLines(temporary, lines, Utf8);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
