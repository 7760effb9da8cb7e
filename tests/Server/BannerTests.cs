using ScriptFtp.Client;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Server;

/// <summary>The <c>[server] banner</c> of ftp.toml is what a client reads in the 220 greeting.</summary>
public class BannerTests
{
    [Test]
    public async Task The_configured_banner_is_the_220_greeting()
    {
        const string banner = "Test rig 7 - uploads are scanned, be nice.";
        var fromToml = ServerConfig.FromToml(ScriptFtp.Toml.Toml.Parse($"[server]\nbanner = \"{banner}\"\n", "ftp.toml"), "ftp.toml", Path.GetTempPath());
        fromToml.Banner.ShouldBe(banner);
        fromToml.Banner.ShouldNotBe(new ServerConfig().Banner);
        await using var server = await TestServer.StartAsync(c => c with { Banner = fromToml.Banner });

        await using var client = await FtpClient.ConnectAsync("127.0.0.1", server.Port, TimeSpan.FromSeconds(20));

        client.Greeting.Code.ShouldBe(220);
        client.Greeting.Lines.ShouldBe([$"220 {banner}"]);
    }
}
