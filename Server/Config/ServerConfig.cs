using System.Collections.Immutable;
using System.Net;
using Serilog.Events;
using ScriptFtp.Security;
using ScriptFtp.Toml;

namespace ScriptFtp;

/// <summary>
/// The server's configuration, read once from <c>ftp.toml</c>. Relative paths are already resolved against the file's folder.
/// </summary>
public sealed record ServerConfig
{
    // Default relative paths: against the working folder for a config built in code, the config file's folder in FromToml.
    private const string DefaultRoot = "ftproot";
    private const string DefaultUsersFile = "users.toml";
    private const string DefaultLogFile = "logs/scriptftp-.log";
    private const string DefaultPluginsFolder = "plugins";

    /// <summary>Address to listen on; <c>::</c> serves IPv6 and IPv4 at once.</summary>
    public IPAddress Listen { get; init; } = IPAddress.IPv6Any;
    /// <summary>Control port (0 picks a free one).</summary>
    public int Port { get; init; } = 2121;
    /// <summary>Folder under which every user's home lives.</summary>
    public string Root { get; init; } = Path.GetFullPath(DefaultRoot);
    /// <summary>The users file.</summary>
    public string UsersFile { get; init; } = Path.GetFullPath(DefaultUsersFile);
    /// <summary>Greeting text.</summary>
    public string Banner { get; init; } = "ScriptFtp ready.";
    /// <summary>Whether STOR may replace an existing file.</summary>
    public bool AllowOverwrite { get; init; }
    /// <summary>Mode bits SITE CHMOD never sets (<c>chmod_mask</c>, octal like a umask).</summary>
    public int ChmodMask { get; init; } = ServerOptions.DefaultChmodMask;
    /// <summary>A session idle this long is closed with 421.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>A data connection (or a control reply) that makes no progress for this long is dropped.</summary>
    public TimeSpan DataTimeout { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Most sessions at once; more get 421.</summary>
    public int MaxConnections { get; init; } = 5_000;
    /// <summary>Most sessions from one address at once.</summary>
    public int MaxConnectionsPerAddress { get; init; } = 50;
    /// <summary>Lowest passive port (0 with <see cref="PassivePortMax"/> 0: any free port).</summary>
    public int PassivePortMin { get; init; }
    /// <summary>Highest passive port.</summary>
    public int PassivePortMax { get; init; }
    /// <summary>Address advertised in PASV replies when the server sits behind NAT.</summary>
    public IPAddress? PublicAddress { get; init; }
    /// <summary>Rolling log file path, or null for console only.</summary>
    public string? LogFile { get; init; } = Path.GetFullPath(DefaultLogFile);
    /// <summary>Lowest level logged.</summary>
    public LogEventLevel LogLevel { get; init; } = LogEventLevel.Information;
    /// <summary>Failed logins of one user name from one address before that name is locked out for that address.</summary>
    public int MaxFailedLogins { get; init; } = 5;
    /// <summary>Failed logins from one address, all names together, before the address is banned.</summary>
    public int MaxFailedLoginsPerAddress { get; init; } = 20;
    /// <summary>How long failed logins are remembered.</summary>
    public TimeSpan FailureWindow { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Delay before each failed login is answered (a timer; the connection is closed after 3 failures).</summary>
    public TimeSpan LoginDelay { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How long a user name is locked out for the address that reached <see cref="MaxFailedLogins"/>.</summary>
    public TimeSpan Lockout { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>The first ban of an address; each further ban within a day doubles it.</summary>
    public TimeSpan Ban { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>Networks never penalised by the login defence.</summary>
    internal ImmutableArray<AddressRange> TrustedNetworks { get; init; } = [];
    /// <summary>Connections that have not logged in yet, in all; more evict the oldest of the address holding the most.</summary>
    public int MaxPreLoginConnections { get; init; } = 2_000;
    /// <summary>Time from connect to a successful login; traffic does not extend it.</summary>
    public TimeSpan LoginGraceTime { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Folder of <c>.csx</c> plugins, or null for none.</summary>
    public string? PluginsFolder { get; init; } = Path.GetFullPath(DefaultPluginsFolder);
    /// <summary>Refuse to start when a plugin does not compile.</summary>
    public bool PluginsStrict { get; init; }
    /// <summary>A plugin handler running longer than this gets a 451.</summary>
    public TimeSpan PluginTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Recompile plugins when the folder changes.</summary>
    public bool PluginsReload { get; init; } = true;
    /// <summary>Each plugin's own <c>[plugin.NAME]</c> table.</summary>
    public ImmutableDictionary<string, TomlTable> PluginSettings { get; init; } = ImmutableDictionary<string, TomlTable>.Empty;
    /// <summary>How long running transfers may finish at shutdown.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The options the protocol core needs.</summary>
    public ServerOptions Options => new(Banner, AllowOverwrite)
    {
        TlsEnabled = Certificate is not null, UnixModes = !OperatingSystem.IsWindows(), ChmodMask = ChmodMask,
    };

    /// <summary>Addresses that may log in without TLS (<c>[tls] plain_allowed_from</c>); the default is loopback.</summary>
    internal ImmutableArray<Security.AddressRange> PlainAllowedFrom { get; init; } =
        [Security.AddressRange.Parse("127.0.0.0/8"), Security.AddressRange.Parse("::1/128")];

    /// <summary>The implicit FTPS port (TLS from the first byte); 0 is off.</summary>
    public int ImplicitPort { get; init; }

    /// <summary>Whether a TLS data connection must resume the control connection's TLS session (522 otherwise).</summary>
    public bool RequireSessionReuse { get; init; } = true;

    /// <summary>How long a TLS handshake may take before the connection is closed.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(15);

    internal Tls.CertificateSource? Certificate { get; init; }

    /// <summary>Reads <c>ftp.toml</c>; throws <see cref="TomlException"/> positioned at the bad line.</summary>
    public static ServerConfig Load(string path) =>
        FromToml(Toml.Toml.ParseFile(path), Path.GetFileName(path), Path.GetDirectoryName(Path.GetFullPath(path))!);

    /// <summary>Binds a parsed document; <paramref name="baseFolder"/> anchors relative paths.</summary>
    public static ServerConfig FromToml(TomlTable document, string sourceName, string baseFolder)
    {
        var top = new TomlTableReader(document, sourceName);
        // A missing section reads as an empty one, so every default (relative paths included) is applied in one place.
        TomlTableReader Section(string name) => top.Table(name) ?? new TomlTableReader(TomlTable.Empty, sourceName, name);
        var paths = new Paths(baseFolder);
        var config = new ServerConfig();
        config = ReadServer(config, Section("server"), paths);
        config = ReadPassive(config, Section("passive"));
        config = ReadLog(config, Section("log"), paths);
        config = ReadSecurity(config, Section("security"));
        config = ReadPlugins(config, Section("plugins"), paths);
        config = ReadTls(config, Section("tls"), paths);
        config = ReadPluginSettings(config, top, sourceName);
        top.RejectUnknown();
        return config;
    }

    /// <summary>Relative paths in the file are relative to the file's folder.</summary>
    private sealed record Paths(string BaseFolder)
    {
        public string Full(string path) => Path.GetFullPath(Path.Combine(BaseFolder, path));

        // An empty string switches the feature off.
        public string? Optional(TomlTableReader reader, string key, string fallback) =>
            reader.String(key, fallback) is { Length: > 0 } path ? Full(path) : null;
    }

    private static ServerConfig ReadServer(ServerConfig config, TomlTableReader server, Paths paths)
    {
        var defaults = new ServerConfig();
        config = config with
        {
            Listen = Address(server, "listen", defaults.Listen)!,
            Port = server.Int32("port", defaults.Port, 0, 65535),
            Root = paths.Full(server.String("root", DefaultRoot)),
            UsersFile = paths.Full(server.String("users_file", DefaultUsersFile)),
            Banner = server.String("banner", defaults.Banner),
            AllowOverwrite = server.Boolean("allow_overwrite", defaults.AllowOverwrite),
            IdleTimeout = Duration(server, "idle_timeout", defaults.IdleTimeout, 1),
            DataTimeout = Duration(server, "data_timeout", defaults.DataTimeout, 1),
            MaxConnections = server.Int32("max_connections", defaults.MaxConnections, 1, 100_000),
            MaxConnectionsPerAddress = server.Int32("max_connections_per_address", defaults.MaxConnectionsPerAddress, 1, 100_000),
            ShutdownGrace = Duration(server, "shutdown_grace", defaults.ShutdownGrace, 0),
            ChmodMask = OctalMask(server, "chmod_mask", defaults.ChmodMask),
        };
        if (config.Banner.Contains('\n') || config.Banner.Contains('\r')) throw server.Error("banner", "banner must be a single line");
        server.RejectUnknown();
        return config;
    }

    /// <summary>An octal mode mask written as a string ("7002"), so that it reads as it does for chmod and umask.</summary>
    private static int OctalMask(TomlTableReader section, string key, int fallback)
    {
        var text = section.String(key, Listing.Octal(fallback));
        return Listing.ParseOctal(text)
            ?? throw section.Error(key, $"{key} must be 1 to 4 octal digits as a string, like \"7002\" (got \"{text}\")");
    }

    private static ServerConfig ReadPassive(ServerConfig config, TomlTableReader passive)
    {
        config = config with
        {
            PassivePortMin = passive.Int32("port_min", 0, 0, 65535),
            PassivePortMax = passive.Int32("port_max", 0, 0, 65535),
            PublicAddress = Address(passive, "public_address", null),
        };
        if (config.PassivePortMin > config.PassivePortMax)
            throw passive.Error("port_min", "port_min must not be greater than port_max");
        if ((config.PassivePortMin == 0) != (config.PassivePortMax == 0))
            throw passive.Error("port_min", "set both port_min and port_max, or neither");
        if (config.PublicAddress is { AddressFamily: not System.Net.Sockets.AddressFamily.InterNetwork })
            throw passive.Error("public_address", "public_address must be an IPv4 address (PASV can only advertise IPv4)");
        passive.RejectUnknown();
        return config;
    }

    private static ServerConfig ReadTls(ServerConfig config, TomlTableReader tls, Paths paths)
    {
        var ranges = tls.StringArray("plain_allowed_from", [.. config.PlainAllowedFrom.Select(r => r.ToString())]);
        var parsed = ranges.Select(text => Security.AddressRange.TryParse(text, out var range, out var error)
            ? range
            : throw tls.Error("plain_allowed_from", $"plain_allowed_from: \"{text}\" is not an address range: {error}"));
        config = config with
        {
            PlainAllowedFrom = [.. parsed],
            ImplicitPort = tls.Int32("implicit_port", 0, 0, 65535),
            RequireSessionReuse = tls.Boolean("require_session_reuse", true),
            HandshakeTimeout = Duration(tls, "handshake_timeout", config.HandshakeTimeout, 1),
            Certificate = CertificateFrom(tls, paths),
        };
        tls.RejectUnknown();
        return config;
    }

    private static Tls.CertificateSource CertificateFrom(TomlTableReader tls, Paths paths)
    {
        var (certificate, key) = (paths.Optional(tls, "certificate", ""), paths.Optional(tls, "key", ""));
        var pfx = paths.Optional(tls, "pfx", "");
        var password = tls.OptionalString("pfx_password");
        if (pfx is not null && (certificate ?? key) is not null) throw tls.Error("pfx", "give either pfx or certificate and key, not both");
        if (pfx is not null) return new Tls.CertificateSource.Pfx(pfx, password);
        if ((certificate is null) != (key is null))
            throw tls.Error(certificate is null ? "key" : "certificate", "give both certificate and key");
        return certificate is not null
            ? new Tls.CertificateSource.PemFiles(certificate, key!)
            : new Tls.CertificateSource.SelfSigned(paths.BaseFolder, System.Net.Dns.GetHostName());
    }

    private static ServerConfig ReadLog(ServerConfig config, TomlTableReader log, Paths paths)
    {
        config = config with
        {
            LogFile = paths.Optional(log, "file", DefaultLogFile),
            LogLevel = log.Enum("level", config.LogLevel),
        };
        log.RejectUnknown();
        return config;
    }

    private static ServerConfig ReadSecurity(ServerConfig config, TomlTableReader security)
    {
        config = config with
        {
            MaxFailedLogins = security.Int32("max_failed_logins", config.MaxFailedLogins, 1, 1_000_000),
            MaxFailedLoginsPerAddress = security.Int32("max_failed_logins_per_address", config.MaxFailedLoginsPerAddress, 1, 1_000_000),
            FailureWindow = Duration(security, "failure_window", config.FailureWindow, 1),
            LoginDelay = Duration(security, "login_delay", config.LoginDelay, 0),
            Lockout = Duration(security, "lockout", config.Lockout, 0),
            Ban = Duration(security, "ban", config.Ban, 0),
            TrustedNetworks = Networks(security, "trusted_networks"),
            MaxPreLoginConnections = security.Int32("max_prelogin_connections", config.MaxPreLoginConnections, 1, 1_000_000),
            LoginGraceTime = Duration(security, "login_grace_time", config.LoginGraceTime, 1),
        };
        security.RejectUnknown();
        return config;
    }

    private static ServerConfig ReadPlugins(ServerConfig config, TomlTableReader plugins, Paths paths)
    {
        config = config with
        {
            PluginsFolder = paths.Optional(plugins, "folder", DefaultPluginsFolder),
            PluginsStrict = plugins.Boolean("strict", config.PluginsStrict),
            PluginTimeout = Duration(plugins, "timeout", config.PluginTimeout, 0.001),
            PluginsReload = plugins.Boolean("reload", config.PluginsReload),
        };
        plugins.RejectUnknown();
        return config;
    }

    // Each plugin's own [plugin.NAME] table is handed to it unread: the plugin checks its own keys.
    private static ServerConfig ReadPluginSettings(ServerConfig config, TomlTableReader top, string sourceName)
    {
        if (top.RawTable("plugin") is not { } pluginSections)
            return config;
        var sections = ImmutableDictionary.CreateBuilder<string, TomlTable>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in pluginSections)
        {
            sections[name] = value as TomlTable
                ?? throw new TomlException(sourceName, pluginSections.PositionOf(name), $"[plugin.{name}] must be a table");
        }
        return config with { PluginSettings = sections.ToImmutable() };
    }

    /// <summary>Longest duration any setting takes: timers and date arithmetic stay far from their limits.</summary>
    private const double MaxSeconds = 7 * 24 * 3600;

    private static TimeSpan Duration(TomlTableReader reader, string key, TimeSpan fallback, double minSeconds)
    {
        var value = reader.Seconds(key, fallback);
        return value.TotalSeconds >= minSeconds && value.TotalSeconds <= MaxSeconds
            ? value
            : throw reader.Error(key, $"{key} must be between {minSeconds} and {MaxSeconds} seconds (one week), not {value.TotalSeconds}");
    }

    private static ImmutableArray<AddressRange> Networks(TomlTableReader reader, string key) =>
    [
        .. reader.StringArray(key, []).Select(text => AddressRange.TryParse(text, out var range, out var error)
            ? range
            : throw reader.Error(key, error)),
    ];

    private static IPAddress? Address(TomlTableReader reader, string key, IPAddress? fallback)
    {
        var text = reader.OptionalString(key);
        if (text is null || text.Length == 0) return fallback;
        return IPAddress.TryParse(text, out var address)
            ? address
            : throw reader.Error(key, $"\"{text}\" is not an IP address (examples: \"::\", \"0.0.0.0\", \"127.0.0.1\")");
    }
}
