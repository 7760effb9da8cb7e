using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Plugins.PluginTestServer;

namespace ScriptFtp.Tests.Integration;

/// <summary>
/// The server listening on <c>::</c> (the shipped default): an IPv4 client reaches it as ::ffff:127.0.0.1 and must still get
/// working IPv4 data connections in every mode.
/// </summary>
public partial class DualStackTests
{
    private static async Task<TestServer> StartDualStackAsync()
    {
        if (!Socket.OSSupportsIPv6) Assert.Ignore("this machine has no IPv6, so no dual-stack socket");
        var server = await TestServer.StartAsync(listen: IPAddress.IPv6Any);
        server.Server.Endpoint.AddressFamily.ShouldBe(AddressFamily.InterNetworkV6, "the listener must be the dual-stack IPv6 socket");
        return server;
    }

    [Test]
    public async Task An_IPv4_client_downloads_over_PASV_and_EPSV()
    {
        await using var server = await StartDualStackAsync();
        var content = Tools.RandomBytes(300_000, seed: 61);
        Directory.CreateDirectory(server.DemoHome);
        await File.WriteAllBytesAsync(Path.Combine(server.DemoHome, "both.bin"), content);
        await using var ftp = await RawFtp.LoginAsync(server.Port, server: IPAddress.Loopback);
        ftp.LocalEndPoint.AddressFamily.ShouldBe(AddressFamily.InterNetwork);

        // PASV must advertise the IPv4 address the client came in on, not 0.0.0.0 or an IPv6 form.
        var (code, text) = await ftp.SendAsync("PASV");
        code.ShouldBe(227, text);
        var match = PasvReply().Match(text);
        match.Success.ShouldBeTrue(text);
        match.Groups["host"].Value.ShouldBe("127,0,0,1");
        var port = int.Parse(match.Groups["p1"].Value, CultureInfo.InvariantCulture) * 256 + int.Parse(match.Groups["p2"].Value, CultureInfo.InvariantCulture);
        byte[] overPasv;
        using (var data = new TcpClient(AddressFamily.InterNetwork))
        {
            await data.ConnectAsync(IPAddress.Loopback, port);
            (await ftp.SendAsync("RETR both.bin")).Code.ShouldBe(150);
            using var received = new MemoryStream();
            await data.GetStream().CopyToAsync(received);
            overPasv = received.ToArray();
        }
        (await ftp.ReadAsync()).Code.ShouldBe(226);
        overPasv.ShouldBe(content, "PASV download");

        var (retr, overEpsv) = await DownloadAsync(ftp, "both.bin");
        retr.ShouldBe(226);
        overEpsv.ShouldBe(content, "EPSV download");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task An_IPv4_client_uploads_over_PORT()
    {
        await using var server = await StartDualStackAsync();
        var content = Tools.RandomBytes(250_000, seed: 62);
        await using var ftp = await RawFtp.LoginAsync(server.Port, server: IPAddress.Loopback);

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var (code, text) = await ftp.SendAsync($"PORT 127,0,0,1,{port >> 8},{port & 255}");
        code.ShouldBe(200, text);
        await ftp.SendLineAsync("STOR up.bin");
        var accept = listener.AcceptTcpClientAsync();
        var first = await ftp.ReadAsync();
        first.Code.ShouldBe(150, first.Text);
        using (var data = await accept.WaitAsync(TimeSpan.FromSeconds(20)))
        {
            ((IPEndPoint)data.Client.RemoteEndPoint!).Address.ShouldBe(IPAddress.Loopback, "the server connects back from its IPv4 address");
            await data.GetStream().WriteAsync(content);
            data.Client.Shutdown(SocketShutdown.Send);
        }
        var done = await ftp.ReadAsync();
        done.Code.ShouldBe(226, done.Text);

        (await File.ReadAllBytesAsync(Path.Combine(server.DemoHome, "up.bin"))).ShouldBe(content);
        server.ShouldHaveLoggedNoErrors();
    }

    [GeneratedRegex(@"^227 .*\((?<host>\d+,\d+,\d+,\d+),(?<p1>\d+),(?<p2>\d+)\)")]
    private static partial Regex PasvReply();
}
