using System.Collections.Concurrent;
using ScriptFtp.Tests.Support;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace ScriptFtp.Tests.Users;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class FakeTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public FakeTimeProvider()
        : this(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Serilog sink that keeps rendered events for assertions.</summary>
internal sealed class CollectingSink : ILogEventSink
{
    public ConcurrentQueue<(LogEventLevel Level, string Text)> Events { get; } = new();

    public void Emit(LogEvent logEvent) => Events.Enqueue((logEvent.Level, logEvent.RenderMessage()));

    public IEnumerable<string> At(LogEventLevel level) => Events.Where(e => e.Level == level).Select(e => e.Text);
}

/// <summary>A temp folder with an ftp root and a users.toml; deleted afterwards.</summary>
internal sealed class TempSetup : IDisposable
{
    public TempSetup()
    {
        Directory = Path.Combine(Path.GetTempPath(), "scriptftp-users-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Root = Path.Combine(Directory, "ftproot");
        UsersPath = Path.Combine(Directory, "users.toml");
        Log = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(Sink).CreateLogger();
    }

    public string Directory { get; }

    public string Root { get; }

    public string UsersPath { get; }

    public CollectingSink Sink { get; } = new();

    public ILogger Log { get; }

    public List<UserStore> Stores { get; } = [];

    public string Text => File.ReadAllText(UsersPath);

    public void Write(string text) => File.WriteAllText(UsersPath, text);

    public UserStore Open()
    {
        var store = UserStore.Open(UsersPath, Root, Log);
        Stores.Add(store);
        return store;
    }

    /// <summary>Writes users.toml with an admin "root" (password "rootpw") plus the given extra text, then opens it.</summary>
    public UserStore OpenWithAdmin(string extra = "")
    {
        Write(AdminToml + extra);
        return Open();
    }

    public static readonly string RootHash = TestHashes.Of("rootpw");

    public static string AdminToml => $"""
        [users.root]
        password = "{RootHash}"
        home = "/"
        admin = true

        """;

    public void Dispose()
    {
        foreach (var store in Stores)
            store.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
