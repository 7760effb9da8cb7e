using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Admin;

/// <summary>
/// A control connection for the admin tests: like <see cref="RawFtp"/>, but it can bind the client side to a chosen
/// local address (127.0.0.2 for "another machine") and reports a closed or reset connection as code 0.
/// </summary>
internal sealed class Ctl : IAsyncDisposable
{
    private readonly TcpClient client;
    private readonly Stream stream;
    private readonly StreamReader reader;

    private Ctl(TcpClient client)
    {
        this.client = client;
        stream = client.GetStream();
        reader = new StreamReader(stream, new UTF8Encoding(false));
    }

    /// <summary>Connects to the server (127.0.0.1 unless told) from <paramref name="from"/> when given, and reads the greeting.</summary>
    public static async Task<Ctl> ConnectAsync(int port, IPAddress? server = null, IPAddress? from = null)
    {
        server ??= IPAddress.Loopback;
        var socket = from is null ? new TcpClient(server.AddressFamily) : new TcpClient(new IPEndPoint(from, 0));
        await socket.ConnectAsync(server, port);
        var ctl = new Ctl(socket);
        var greeting = await ctl.ReadAsync();
        greeting.Code.ShouldBe(220, greeting.Text);
        return ctl;
    }

    /// <summary>Connects and logs in; fails the test unless the login succeeds.</summary>
    public static async Task<Ctl> LoginAsync(int port, string user, string password, IPAddress? server = null, IPAddress? from = null)
    {
        var ctl = await ConnectAsync(port, server, from);
        var reply = await ctl.LoginAsync(user, password);
        reply.Code.ShouldBe(230, $"login of {user}: {reply.Text}");
        return ctl;
    }

    /// <summary>USER then PASS; returns the last reply (the USER reply when it was not 331).</summary>
    public async Task<(int Code, string Text)> LoginAsync(string user, string password)
    {
        var reply = await SendAsync($"USER {user}");
        if (reply.Code != 331) return reply;
        return await SendAsync($"PASS {password}");
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)client.Client.LocalEndPoint!;

    public async Task<(int Code, string Text)> SendAsync(string line, TimeSpan? timeout = null)
    {
        await SendLineAsync(line);
        return await ReadAsync(timeout);
    }

    public async Task SendLineAsync(string line) => await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

    /// <summary>One reply, all lines joined with '\n'; code 0 when the server closed (or reset) the connection.</summary>
    public async Task<(int Code, string Text)> ReadAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        try
        {
            var first = await reader.ReadLineAsync(cancel.Token);
            if (first is null) return (0, "");
            var code = int.Parse(first[..3], System.Globalization.CultureInfo.InvariantCulture);
            var lines = new List<string> { first };
            if (first.Length > 3 && first[3] == '-')
            {
                while (await reader.ReadLineAsync(cancel.Token) is { } line)
                {
                    lines.Add(line);
                    if (line.Length >= 4 && line.StartsWith(first[..3], StringComparison.Ordinal) && line[3] == ' ') break;
                }
            }
            return (code, string.Join('\n', lines));
        }
        catch (IOException)
        {
            return (0, "");
        }
    }

    /// <summary>True when the server closes the connection within <paramref name="timeout"/> without sending anything more.</summary>
    public async Task<bool> ClosedAsync(TimeSpan? timeout = null)
    {
        var reply = await ReadAsync(timeout ?? TimeSpan.FromSeconds(5));
        return reply.Code == 0;
    }

    /// <summary>Uploads <paramref name="content"/> with EPSV + STOR.</summary>
    public async Task UploadAsync(string name, byte[] content)
    {
        var (code, text) = await SendAsync("EPSV");
        code.ShouldBe(229, text);
        var port = int.Parse(text.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture);
        using (var data = new TcpClient(AddressFamily.InterNetwork))
        {
            await data.ConnectAsync(IPAddress.Loopback, port);
            await SendLineAsync($"STOR {name}");
            (await ReadAsync()).Code.ShouldBe(150);
            await data.GetStream().WriteAsync(content);
            data.Client.Shutdown(SocketShutdown.Send);
        }
        var done = await ReadAsync();
        done.Code.ShouldBe(226, done.Text);
    }

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        await Task.CompletedTask;
    }
}

/// <summary>Starting in-process servers for the admin tests, and small helpers.</summary>
internal static class Admin
{
    public const string Demo = TestServer.DemoUser, DemoPass = TestServer.DemoPassword, Adm = TestServer.AdminUser, AdmPass = TestServer.AdminPassword;

    /// <summary>
    /// A test server whose login guard does not get in the way (tests that poll logins fail many of them).
    /// <paramref name="folder"/> points it at a users file and root that outlive the server (for restarts).
    /// </summary>
    public static Task<TestServer> StartAsync(string? usersToml = null, Func<ServerConfig, ServerConfig>? configure = null, SharedFolder? folder = null, IPAddress? listen = null) =>
        TestServer.StartAsync(config =>
        {
            config = config with { MaxFailedLogins = 10_000, LoginDelay = TimeSpan.Zero };
            if (folder is not null) config = config with { UsersFile = folder.UsersFile, Root = folder.Root };
            return configure?.Invoke(config) ?? config;
        }, usersToml, listen: listen);

    /// <summary>The default users plus a second admin, <c>boss</c>/<c>boss-pass</c>.</summary>
    public static string TwoAdminsToml() => TestServer.DefaultUsersToml() + $"""


        # a second administrator
        [users.boss]
        password = "{Passwords.Hash("boss-pass")}"
        admin = true
        """;

    /// <summary>Polls until <paramref name="condition"/> holds, for at most <paramref name="timeout"/>.</summary>
    public static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (await condition()) return true;
            if (watch.Elapsed > timeout) return false;
            await Task.Delay(100);
        }
    }

    /// <summary>Logs in on a fresh connection and returns the PASS reply (the connection is closed afterwards).</summary>
    public static async Task<(int Code, string Text)> TryLoginAsync(int port, string user, string password, IPAddress? from = null)
    {
        await using var ctl = await Ctl.ConnectAsync(port, from: from);
        return await ctl.LoginAsync(user, password);
    }

    /// <summary>The comment lines of a TOML text (what must survive every rewrite).</summary>
    public static IEnumerable<string> Comments(string text) =>
        text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.TrimStart().StartsWith('#'));

    /// <summary>The parsed [users] tables of a users file.</summary>
    public static ScriptFtp.Toml.TomlTable UsersTable(string path)
    {
        var document = ScriptFtp.Toml.Toml.Parse(File.ReadAllText(path), path);
        return document.TryGetValue("users", out var users) ? (ScriptFtp.Toml.TomlTable)users : ScriptFtp.Toml.TomlTable.Empty;
    }
}

/// <summary>A users file and root folder that several servers in a row use (restart tests); deleted at the end.</summary>
internal sealed class SharedFolder : IDisposable
{
    public SharedFolder(string? usersToml = null)
    {
        Folder = Path.Combine(Path.GetTempPath(), "scriptftp-admin-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        Root = Path.Combine(Folder, "root");
        UsersFile = Path.Combine(Folder, "users.toml");
        File.WriteAllText(UsersFile, usersToml ?? TestServer.DefaultUsersToml());
    }

    public string Folder { get; }
    public string Root { get; }
    public string UsersFile { get; }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
