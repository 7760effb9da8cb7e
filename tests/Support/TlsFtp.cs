using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace ScriptFtp.Tests.Support;

/// <summary>
/// A hand-driven explicit-FTPS client for the replies and endings that real clients never produce: the control
/// connection after AUTH TLS, and data connections that resume its TLS session (or end without close_notify).
/// </summary>
internal sealed class TlsFtp : IAsyncDisposable
{
    // .NET resumes only towards a host name, and caches sessions per name: one name per client keeps each client's
    // data connections resuming its own control session and no other.
    private readonly string _host = $"tlsftp-{Guid.NewGuid():N}.test";
    private readonly TcpClient _tcp;
    private SslStream? _tls;
    private StreamReader _reader;

    private TlsFtp(TcpClient tcp)
    {
        _tcp = tcp;
        _reader = new StreamReader(tcp.GetStream(), Encoding.ASCII);
    }

    /// <summary>The server's certificate, once the control connection is secured.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate? Certificate => _tls?.RemoteCertificate;

    /// <summary>Connects from <paramref name="from"/> (any loopback address when null) and reads the 220.</summary>
    public static async Task<TlsFtp> ConnectAsync(int port, IPAddress? from = null)
    {
        var tcp = from is null ? new TcpClient(AddressFamily.InterNetwork) : new TcpClient(new IPEndPoint(from, 0));
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var client = new TlsFtp(tcp);
        (await client.ReadAsync()).Code.ShouldBe(220);
        return client;
    }

    /// <summary>Connects, secures the control connection, and sends PBSZ 0 and PROT P.</summary>
    public static async Task<TlsFtp> ConnectSecureAsync(int port, IPAddress? from = null)
    {
        var client = await ConnectAsync(port, from);
        await client.StartTlsAsync();
        (await client.SendAsync("PBSZ 0")).Code.ShouldBe(200);
        (await client.SendAsync("PROT P")).Code.ShouldBe(200);
        return client;
    }

    /// <summary>AUTH TLS (or the alias SSL) and the handshake.</summary>
    public async Task StartTlsAsync(string mechanism = "TLS")
    {
        (await SendAsync($"AUTH {mechanism}")).Code.ShouldBe(234);
        _tls = new SslStream(_tcp.GetStream(), false, (_, _, _, _) => true);
        await _tls.AuthenticateAsClientAsync(_host);
        _reader = new StreamReader(_tls, Encoding.ASCII);
    }

    /// <summary>One command and its reply (all lines joined with '\n'); code 0 when the server closed the connection.</summary>
    public async Task<(int Code, string Text)> SendAsync(string line)
    {
        await SendLineAsync(line);
        return await ReadAsync();
    }

    public async Task SendLineAsync(string line) =>
        await ((Stream?)_tls ?? _tcp.GetStream()).WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));

    public async Task<(int Code, string Text)> ReadAsync()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var first = await _reader.ReadLineAsync(cancel.Token);
        if (first is null) return (0, "");
        var lines = new List<string> { first };
        while (first.Length > 3 && first[3] == '-' && await _reader.ReadLineAsync(cancel.Token) is { } line)
        {
            lines.Add(line);
            if (line.Length > 3 && line.StartsWith(first[..3], StringComparison.Ordinal) && line[3] == ' ') break;
        }
        return (int.Parse(first[..3], System.Globalization.CultureInfo.InvariantCulture), string.Join('\n', lines));
    }

    /// <summary>USER then PASS; the last reply.</summary>
    public async Task<(int Code, string Text)> LoginAsync(string user, string password)
    {
        var reply = await SendAsync($"USER {user}");
        return reply.Code == 331 ? await SendAsync($"PASS {password}") : reply;
    }

    /// <summary>EPSV and a TCP connection to the port it names.</summary>
    public async Task<TcpClient> OpenDataAsync()
    {
        var (code, text) = await SendAsync("EPSV");
        code.ShouldBe(229, text);
        var data = new TcpClient(AddressFamily.InterNetwork);
        await data.ConnectAsync(IPAddress.Loopback, int.Parse(text.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture));
        return data;
    }

    /// <summary>TLS on a data connection, resuming the control connection's session.</summary>
    public async Task<SslStream> SecureDataAsync(TcpClient data)
    {
        var tls = new SslStream(data.GetStream(), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(_host);
        return tls;
    }

    public async ValueTask DisposeAsync()
    {
        if (_tls is not null) await _tls.DisposeAsync();
        _tcp.Dispose();
    }
}
