using System.Globalization;

namespace ScriptFtp.Client;

// Command line: [host] [port] [--user NAME] [--password SECRET] [--timeout SECONDS] [--plain] [--insecure]
// [--known-hosts PATH] [--verbose].
internal sealed record ReplOptions(string Host, int Port, string? User, string? Password, bool Verbose, bool ShowHelp)
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(DefaultTimeoutSeconds);

    // No AUTH TLS: the password and the files travel in clear text.
    public bool Plain { get; init; }

    // TLS without checking the server's certificate.
    public bool Insecure { get; init; }

    public string KnownHostsPath { get; init; } = KnownHosts.DefaultPath;

    public const string DefaultHost = "127.0.0.1";
    public const int DefaultPort = 2121;
    public const int DefaultTimeoutSeconds = 60;

    public const string Usage = """
        Usage: ScriptFtp.Client [host] [port] [--user NAME] [--password SECRET] [--timeout SECONDS]
                                [--plain] [--insecure] [--known-hosts PATH] [--verbose]
          host          server address (default 127.0.0.1)
          port          control port (default 2121)
          --user        log in as NAME instead of asking (with input redirected: instead of the first line)
          --password    use SECRET instead of asking
          --timeout     give up on a server that sends no reply, or a transfer that moves no data,
                        for SECONDS (default 60)
          --plain       do not use TLS: the password and the files travel in clear text. Without it the client
                        secures the connection with AUTH TLS and will not log in to a server that offers no TLS.
          --insecure    use TLS but accept any server certificate (no fingerprint check)
          --known-hosts the file of trusted server fingerprints (default ~/.scriptftp/known_hosts)
          --verbose     show every command sent and reply received
        """;

    // Throws ArgumentException with a message fit for the user.
    public static ReplOptions Parse(IReadOnlyList<string> args)
    {
        var options = new ReplOptions(DefaultHost, DefaultPort, null, null, false, false);
        var positional = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var (name, inlineValue) = args[i].Split('=', 2) switch
            {
                [var n, var v] when n.StartsWith("--", StringComparison.Ordinal) => (n, (string?)v),
                _ => (args[i], null),
            };
            string Value() => inlineValue ?? (++i < args.Count ? args[i] : throw new ArgumentException($"{name} needs a value."));
            switch (name)
            {
                case "--user" or "-u": options = options with { User = Value() }; break;
                case "--password" or "-p": options = options with { Password = Value() }; break;
                case "--timeout" or "-t": options = options with { Timeout = ParseTimeout(Value()) }; break;
                case "--verbose" or "-v": options = options with { Verbose = true }; break;
                case "--plain": options = options with { Plain = true }; break;
                case "--insecure" or "-k": options = options with { Insecure = true }; break;
                case "--known-hosts": options = options with { KnownHostsPath = Value() }; break;
                case "--help" or "-h" or "-?": options = options with { ShowHelp = true }; break;
                case var unknown when unknown.StartsWith('-') && unknown.Length > 1:
                    throw new ArgumentException($"Unknown option '{unknown}'.");
                default: positional.Add(name); break;
            }
        }
        return positional switch
        {
            [] => options,
            [var host] => options with { Host = host },
            [var host, var port] => options with { Host = host, Port = ParsePort(port) },
            _ => throw new ArgumentException($"Unexpected argument '{positional[2]}'."),
        };
    }

    static TimeSpan ParseTimeout(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 86_400
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"'{text}' is not a timeout in seconds (more than 0, at most 86400).");

    static int ParsePort(string text) =>
        int.TryParse(text, out var port) && port is > 0 and <= 65535 ? port
            : throw new ArgumentException($"'{text}' is not a port number.");
}
