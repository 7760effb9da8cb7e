using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace ScriptFtp.Tests.Support;

/// <summary>
/// The real server in this process on a free port, with its own temp root, users file and plugins folder.
/// Errors the server logs are collected so a test can fail on them.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    public const string DemoUser = "demo", DemoPassword = "demo-pass", AdminUser = "admin", AdminPassword = "admin-pass";

    private readonly FtpServer server;
    private readonly UserStore users;
    private readonly Logger logger;

    private TestServer(string folder, ServerConfig config, FtpServer server, UserStore users, Logger logger, LogCollector collected)
    {
        Folder = folder;
        Config = config;
        this.server = server;
        this.users = users;
        this.logger = logger;
        Log = collected;
    }

    public string Folder { get; }
    public ServerConfig Config { get; }
    public LogCollector Log { get; }
    public int Port => server.Endpoint.Port;
    public string Root => Config.Root;
    public string UsersFile => Config.UsersFile;
    public string DemoHome => Path.Combine(Root, DemoUser);
    public string AdminHome => Path.Combine(Root, AdminUser);
    internal FtpServer Server => server;
    internal UserStore Users => users;

    /// <summary>The users file every test server starts with: a demo user and an admin, with comments to keep.</summary>
    public static string DefaultUsersToml() => $"""
        # Test users (this comment must survive rewrites)

        [users.{DemoUser}]
        password = "{TestHashes.Of(DemoPassword)}"
        home = "{DemoUser}"

        # the administrator
        [users.{AdminUser}]
        password = "{TestHashes.Of(AdminPassword)}"
        admin = true
        """;

    /// <summary>Starts a server. <paramref name="configure"/> adjusts the config (e.g. allow_overwrite); <paramref name="usersToml"/> replaces the users file.</summary>
    public static Task<TestServer> StartAsync(Func<ServerConfig, ServerConfig>? configure = null, string? usersToml = null,
        Func<FtpHost, ServerConfig, Logger, object>? hooks = null, IPAddress? listen = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "scriptftp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "users.toml"), usersToml ?? DefaultUsersToml());
        Directory.CreateDirectory(Path.Combine(folder, "plugins"));
        var config = new ServerConfig
        {
            Listen = listen ?? IPAddress.Loopback,
            Port = 0,
            Root = Path.Combine(folder, "root"),
            UsersFile = Path.Combine(folder, "users.toml"),
            LogFile = null,
            PluginsFolder = Path.Combine(folder, "plugins"),
            IdleTimeout = TimeSpan.FromMinutes(2),
            LoginDelay = TimeSpan.FromMilliseconds(200),
            ShutdownGrace = TimeSpan.FromSeconds(5),
        };
        config = configure?.Invoke(config) ?? config;
        var collected = new LogCollector();
        var logger = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(collected).CreateLogger();
        Directory.CreateDirectory(config.Root);
        var users = UserStore.Open(config.UsersFile, config.Root, logger);
        var server = FtpServer.Start(config, logger, users, hooks is null ? null : host => (IServerHooks)hooks(host, config, logger));
        return Task.FromResult(new TestServer(folder, config, server, users, logger, collected));
    }

    /// <summary>Fails the test if the server logged an error.</summary>
    public void ShouldHaveLoggedNoErrors() =>
        Log.Events.Where(e => e.Level >= LogEventLevel.Error).Select(e => e.RenderMessage() + " " + e.Exception).ShouldBeEmpty();

    public async ValueTask DisposeAsync()
    {
        await server.DisposeAsync();
        users.Dispose();
        await logger.DisposeAsync();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Keeps every log event in memory.</summary>
    internal sealed class LogCollector : ILogEventSink
    {
        private readonly ConcurrentQueue<LogEvent> events = new();
        public IReadOnlyCollection<LogEvent> Events => events;
        public void Emit(LogEvent logEvent) => events.Enqueue(logEvent);
        public bool Contains(string text) => events.Any(e => e.RenderMessage().Contains(text, StringComparison.Ordinal));
    }
}

/// <summary>
/// A bare control connection for tests: send a line, read one (possibly multi-line) reply. It can bind the client side to
/// a chosen local address (127.0.0.2 for "another machine") and reports a closed or reset connection as code 0.
/// </summary>
internal sealed class RawFtp : IAsyncDisposable
{
    private readonly TcpClient client;
    private readonly Stream stream;
    private readonly StreamReader reader;

    private RawFtp(TcpClient client)
    {
        this.client = client;
        stream = client.GetStream();
        reader = new StreamReader(stream, new UTF8Encoding(false));
    }

    /// <summary>Connects to the server (127.0.0.1 unless told) from <paramref name="from"/> when given, and reads the greeting.</summary>
    public static async Task<RawFtp> ConnectAsync(int port, IPAddress? server = null, IPAddress? from = null)
    {
        server ??= IPAddress.Loopback;
        var socket = from is null ? new TcpClient(server.AddressFamily) : new TcpClient(new IPEndPoint(from, 0));
        await socket.ConnectAsync(server, port);
        var ctl = new RawFtp(socket);
        var greeting = await ctl.ReadAsync();
        greeting.Code.ShouldBe(220, greeting.Text);
        return ctl;
    }

    /// <summary>Connects and logs in; fails the test unless the login succeeds.</summary>
    public static async Task<RawFtp> LoginAsync(int port, string user = TestServer.DemoUser, string password = TestServer.DemoPassword, IPAddress? server = null, IPAddress? from = null)
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

    private IPAddress RemoteAddress => ((IPEndPoint)client.Client.RemoteEndPoint!).Address;

    public async Task<(int Code, string Text)> SendAsync(string line, TimeSpan? timeout = null)
    {
        await SendLineAsync(line);
        return await ReadAsync(timeout);
    }

    public async Task SendLineAsync(string line) => await stream.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"));

    public async Task SendRawAsync(byte[] bytes) => await stream.WriteAsync(bytes);

    /// <summary>Closes the sending side only (FIN): the server sees the end of the commands; replies can still be read.</summary>
    public void ShutdownSend() => client.Client.Shutdown(SocketShutdown.Send);

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
        using (var data = new TcpClient(new IPEndPoint(LocalEndPoint.Address, 0)))
        {
            await data.ConnectAsync(RemoteAddress, port);
            await SendLineAsync($"STOR {name}");
            (await ReadAsync()).Code.ShouldBe(150);
            await data.GetStream().WriteAsync(content);
            data.Client.Shutdown(SocketShutdown.Send);
        }
        var done = await ReadAsync();
        done.Code.ShouldBe(226, done.Text);
    }

    /// <summary>Opens a passive data connection with EPSV and returns it.</summary>
    public async Task<TcpClient> EpsvAsync()
    {
        var (code, text) = await SendAsync("EPSV");
        code.ShouldBe(229);
        var port = int.Parse(text.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture);
        // From the control connection's address: the server refuses a data connection from anywhere else.
        var data = new TcpClient(new IPEndPoint(LocalEndPoint.Address, 0));
        await data.ConnectAsync(RemoteAddress, port);
        return data;
    }

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        await Task.CompletedTask;
    }
}

