using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Admin;

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
        password = "{TestHashes.Of("boss-pass")}"
        admin = true
        """;

    /// <summary>Logs in on a fresh connection and returns the PASS reply (the connection is closed afterwards).</summary>
    public static async Task<(int Code, string Text)> TryLoginAsync(int port, string user, string password, IPAddress? from = null)
    {
        await using var ctl = await RawFtp.ConnectAsync(port, from: from);
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
