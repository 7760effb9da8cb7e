using System.Net.Sockets;
using ScriptFtp.Plugins;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Plugins;

/// <summary>A <see cref="TestServer"/> whose plugins folder holds the given scripts, loaded once before the server starts.</summary>
internal sealed class PluginTestServer : IAsyncDisposable
{
    private PluginTestServer(TestServer server, PluginHost plugins)
    {
        Server = server;
        Plugins = plugins;
    }

    public TestServer Server { get; }
    public PluginHost Plugins { get; }
    public int Port => Server.Port;
    public string PluginsFolder => Server.Config.PluginsFolder!;

    public static async Task<PluginTestServer> StartAsync(IReadOnlyDictionary<string, string> scripts, Func<ServerConfig, ServerConfig>? configure = null)
    {
        PluginHost? plugins = null;
        var server = await TestServer.StartAsync(configure, hooks: (host, config, log) =>
        {
            // The hooks callback runs before the port is bound: the right moment to fill the folder and compile.
            foreach (var (name, code) in scripts) File.WriteAllText(Path.Combine(config.PluginsFolder!, name), code);
            plugins = PluginHost.LoadAsync(config, log).GetAwaiter().GetResult();
            return plugins.Attach(host);
        });
        return new PluginTestServer(server, plugins!);
    }

    /// <summary>The plugins shipped in the repository's plugins/ folder.</summary>
    public static Dictionary<string, string> ShippedPlugins()
    {
        var plugins = Repo.File("plugins");
        return Directory.GetFiles(plugins, "*.csx").ToDictionary(p => Path.GetFileName(p), File.ReadAllText);
    }

    public async ValueTask DisposeAsync()
    {
        Plugins.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>STOR (or <paramref name="verb"/>) over EPSV; the final reply (or the refusal that came instead of 150).</summary>
    public static async Task<(int Code, string Text)> UploadAsync(RawFtp ftp, string name, byte[] content, string verb = "STOR")
    {
        using var data = await ftp.EpsvAsync();
        await ftp.SendLineAsync($"{verb} {name}");
        var first = await ftp.ReadAsync();
        if (first.Code != 150) return first;
        try
        {
            await data.GetStream().WriteAsync(content);
            data.Client.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The server may cut an upload off (a size limit) while we are still sending.
        }
        data.Close();
        return await ftp.ReadAsync();
    }

    /// <summary>RETR over EPSV; the final reply and the bytes received.</summary>
    public static async Task<(int Code, byte[] Content)> DownloadAsync(RawFtp ftp, string name)
    {
        using var data = await ftp.EpsvAsync();
        await ftp.SendLineAsync($"RETR {name}");
        var first = await ftp.ReadAsync();
        if (first.Code != 150) return (first.Code, []);
        using var content = new MemoryStream();
        await data.GetStream().CopyToAsync(content);
        return ((await ftp.ReadAsync()).Code, content.ToArray());
    }
}
