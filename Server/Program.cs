using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Serilog;
using Serilog.Core;
using ScriptFtp.Plugins;
using ScriptFtp.Toml;

namespace ScriptFtp;

internal static class Program
{
    private const string Usage = """
        Usage:
          ScriptFtp.Server [--config PATH] [PORT]   run the server (default config: ftp.toml)
          ScriptFtp.Server hash-password            print a password hash for users.toml
        """;

    public static async Task<int> Main(string[] args)
    {
        Console.OutputEncoding = Encoding.UTF8;
        if (args is ["hash-password", ..]) return HashPassword();
        if (args is ["--help" or "-h" or "help"]) { Console.WriteLine(Usage); return 0; }
        if (ParseArguments(args) is not { } options)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        ServerConfig config;
        try
        {
            config = ServerConfig.Load(options.ConfigPath);
        }
        catch (TomlException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"{options.ConfigPath}: {e.Message}");
            return 2;
        }
        if (options.Port is { } port) config = config with { Port = port };

        using var log = CreateLogger(config);
        try
        {
            return await RunAsync(config, log);
        }
        catch (Exception e) when (e is TomlException or StartupException)
        {
            log.Fatal("{Error}", e.Message);
            return 2;
        }
        catch (Exception e)
        {
            log.Fatal(e, "The server failed to start: {Reason}", e.Message);
            return 1;
        }
    }

    private sealed record Options(string ConfigPath, int? Port);

    private static Options? ParseArguments(string[] args)
    {
        var options = new Options("ftp.toml", null);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length) options = options with { ConfigPath = args[++i] };
            else if (int.TryParse(args[i], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535)
                options = options with { Port = port };
            else
            {
                Console.Error.WriteLine($"Unknown argument \"{args[i]}\".");
                return null;
            }
        }
        return options;
    }

    private static async Task<int> RunAsync(ServerConfig config, Logger log)
    {
        // Before the users file creates the home folders in it, so a root that cannot be made is told as such.
        StartupError.CheckRoot(config.Root);
        using var users = UserStore.Open(config.UsersFile, config.Root, log);
        using var plugins = await PluginHost.LoadAsync(config, log);
        if (config.PluginsStrict && !plugins.Errors.IsEmpty)
        {
            log.Fatal("Not starting: {Count} plugin error(s) and [plugins] strict = true", plugins.Errors.Length);
            return 2;
        }
        await using var server = FtpServer.Start(config, log, users, host => plugins.Attach(host));
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        Console.WriteLine($"ScriptFtp is listening on port {server.Endpoint.Port}. Press Ctrl+C to stop.");
        await stop.Task;
        await server.StopAsync();
        return 0;
    }

    /// <summary>
    /// Console gets one line per event; the file also gets stack traces. Both are written by one background thread, so that
    /// a session never waits for a write (a line per command, at thousands of commands a second, cost a third of the
    /// login rate when written in place). No line is dropped: when the queue is full, loggers wait. The file is written
    /// in blocks and flushed at least every second; disposing the logger drains the queue and flushes the file.
    /// </summary>
    private static Logger CreateLogger(ServerConfig config) =>
        new LoggerConfiguration()
            .MinimumLevel.Is(config.LogLevel)
            .WriteTo.Async(sinks =>
            {
                sinks.Console(outputTemplate: "{Timestamp:HH:mm:ss} [{Level:u3}] {Session}{Message:lj}{NewLine}",
                    formatProvider: CultureInfo.InvariantCulture);
                if (config.LogFile is { } file)
                    sinks.File(file, rollingInterval: RollingInterval.Day, retainedFileCountLimit: 14,
                        formatProvider: CultureInfo.InvariantCulture, buffered: true, flushToDiskInterval: LogFlushInterval,
                        outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {Session}{Message:lj}{NewLine}{Exception}");
            }, bufferSize: LogQueue, blockWhenFull: true)
            .CreateLogger();

    private const int LogQueue = 10_000;
    private static readonly TimeSpan LogFlushInterval = TimeSpan.FromSeconds(1);

    private static int HashPassword()
    {
        var first = ReadSecret("Password: ");
        if (!Console.IsInputRedirected)
        {
            var second = ReadSecret("Repeat password: ");
            if (first != second)
            {
                Console.Error.WriteLine("The passwords do not match.");
                return 1;
            }
        }
        if (string.IsNullOrEmpty(first))
        {
            Console.Error.WriteLine("The password is empty.");
            return 1;
        }
        Console.WriteLine(Passwords.Hash(first));
        return 0;
    }

    private static string? ReadSecret(string prompt)
    {
        if (Console.IsInputRedirected) return Console.In.ReadLine();
        Console.Error.Write(prompt);
        return HiddenConsoleInput.ReadLine(Console.Error);
    }
}
