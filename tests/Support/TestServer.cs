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
        password = "{Passwords.Hash(DemoPassword)}"
        home = "{DemoUser}"

        # the administrator
        [users.{AdminUser}]
        password = "{Passwords.Hash(AdminPassword)}"
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

/// <summary>A bare-bones control connection for tests: send a line, read one (possibly multi-line) reply.</summary>
internal sealed class RawFtp : IAsyncDisposable
{
    private readonly TcpClient client;
    private readonly StreamReader reader;
    private readonly Stream stream;

    private RawFtp(TcpClient client)
    {
        this.client = client;
        stream = client.GetStream();
        reader = new StreamReader(stream, new UTF8Encoding(false));
    }

    public static async Task<RawFtp> ConnectAsync(int port, IPAddress? address = null)
    {
        var client = new TcpClient(address?.AddressFamily ?? AddressFamily.InterNetwork);
        await client.ConnectAsync(address ?? IPAddress.Loopback, port);
        var ftp = new RawFtp(client);
        (await ftp.ReadAsync()).Code.ShouldBe(220);
        return ftp;
    }

    public static async Task<RawFtp> LoginAsync(int port, string user = TestServer.DemoUser, string password = TestServer.DemoPassword)
    {
        var ftp = await ConnectAsync(port);
        (await ftp.SendAsync($"USER {user}")).Code.ShouldBe(331);
        (await ftp.SendAsync($"PASS {password}")).Code.ShouldBe(230);
        return ftp;
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)client.Client.LocalEndPoint!;

    public async Task<(int Code, string Text)> SendAsync(string line)
    {
        await SendLineAsync(line);
        return await ReadAsync();
    }

    public async Task SendLineAsync(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line + "\r\n");
        await stream.WriteAsync(bytes);
    }

    public async Task SendRawAsync(byte[] bytes) => await stream.WriteAsync(bytes);

    /// <summary>Reads one reply; Text holds all its lines joined with '\n'. Code 0 when the server closed the connection.</summary>
    public async Task<(int Code, string Text)> ReadAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
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

    /// <summary>Opens a passive data connection with EPSV and returns it.</summary>
    public async Task<TcpClient> EpsvAsync()
    {
        var (code, text) = await SendAsync("EPSV");
        code.ShouldBe(229);
        var port = int.Parse(text.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture);
        var data = new TcpClient(AddressFamily.InterNetwork);
        await data.ConnectAsync(IPAddress.Loopback, port);
        return data;
    }

    public async ValueTask DisposeAsync()
    {
        client.Dispose();
        await Task.CompletedTask;
    }
}
