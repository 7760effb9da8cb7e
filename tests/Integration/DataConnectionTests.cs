using System.Net;
using System.Net.Sockets;
using System.Text;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>Data connections under stress: stolen passive ports, unreachable active targets, races on one name, limits.</summary>
public class DataConnectionTests
{
    private static int PortOf(string epsvReply) => int.Parse(epsvReply.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    public async Task A_passive_port_cannot_be_stolen_from_another_address()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        File.WriteAllText(Path.Combine(server.DemoHome, "secret.txt"), "for the session owner only");
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var (code, text) = await ftp.SendAsync("EPSV");
        code.ShouldBe(229);
        // Another loopback address (127.0.0.2) races to the port first.
        using var thief = new TcpClient(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        await thief.ConnectAsync(IPAddress.Loopback, PortOf(text));
        await ftp.SendLineAsync("RETR secret.txt");
        await Task.Delay(200);
        using var owner = new TcpClient(AddressFamily.InterNetwork);
        await owner.ConnectAsync(IPAddress.Loopback, PortOf(text));

        (await ftp.ReadAsync()).Code.ShouldBe(150);
        (await new StreamReader(owner.GetStream()).ReadToEndAsync()).ShouldBe("for the session owner only");
        (await ftp.ReadAsync()).Code.ShouldBe(226);
        var stolen = new byte[100];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        var got = 0;
        try { got = await thief.GetStream().ReadAsync(stolen, timeout.Token); }
        catch (IOException) { } // dropped by the server
        catch (OperationCanceledException) { }
        got.ShouldBe(0, "the other address must not receive the file");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Port_to_a_closed_port_gives_425_and_the_session_goes_on()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        File.WriteAllText(Path.Combine(server.DemoHome, "a.txt"), "a");
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        // A port that was free a moment ago and has nobody listening now.
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        (await ftp.SendAsync($"EPRT |1|127.0.0.1|{closedPort}|")).Code.ShouldBe(200);
        var reply = await ftp.SendAsync("RETR a.txt");

        reply.Code.ShouldBe(425, reply.Text);
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        using var data = await ftp.EpsvAsync();
        (await ftp.SendAsync("RETR a.txt")).Code.ShouldBe(150);
        (await new StreamReader(data.GetStream()).ReadToEndAsync()).ShouldBe("a");
        (await ftp.ReadAsync()).Code.ShouldBe(226);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Two_uploads_racing_for_one_name_leave_one_complete_file_and_refuse_the_other()
    {
        await using var server = await TestServer.StartAsync();
        await using var first = await RawFtp.LoginAsync(server.Port);
        await using var second = await RawFtp.LoginAsync(server.Port);
        var contents = new[] { Tools.RandomBytes(3_000_000, seed: 50), Tools.RandomBytes(2_000_000, seed: 51) };

        var dataFirst = await first.EpsvAsync();
        var dataSecond = await second.EpsvAsync();
        (await first.SendAsync("STOR same.bin")).Code.ShouldBe(150);
        (await second.SendAsync("STOR same.bin")).Code.ShouldBe(150); // nothing is under the name yet: both may start
        await Task.WhenAll(
            Task.Run(async () => { await dataFirst.GetStream().WriteAsync(contents[0]); dataFirst.Close(); }),
            Task.Run(async () => { await dataSecond.GetStream().WriteAsync(contents[1]); dataSecond.Close(); }));
        var replies = await Task.WhenAll(first.ReadAsync(), second.ReadAsync());

        replies.Count(r => r.Code == 226).ShouldBe(1, string.Join(" / ", replies.Select(r => r.Text)));
        replies.Single(r => r.Code != 226).Code.ShouldBeOneOf(450, 451, 550, 553);
        var winner = replies[0].Code == 226 ? 0 : 1;
        File.ReadAllBytes(Path.Combine(server.DemoHome, "same.bin")).ShouldBe(contents[winner]);
        Tools.PartialFiles(server.Root).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [TestCase("STOR")]
    [TestCase("APPE")]
    [TestCase("STOU")]
    public async Task The_reserved_partial_file_prefix_cannot_be_used_for_uploads(string verb)
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        var name = UserFiles.PartialPrefix + "mine";

        using (var data = await ftp.EpsvAsync())
        {
            var reply = await ftp.SendAsync($"{verb} {name}");
            if (reply.Code == 150)
            {
                await data.GetStream().WriteAsync(new byte[10_000]);
                data.Close();
                reply = await ftp.ReadAsync();
            }
            // Like MKD and RNTO of such a name: refused. Otherwise the file is stored but invisible, and can never be listed, read or deleted.
            reply.Code.ShouldBeOneOf([550, 553], $"{verb} {name}: {reply.Text}");
        }

        Directory.EnumerateFileSystemEntries(server.DemoHome).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Ascii_mode_puts_CRLF_on_the_wire_and_stores_LF()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        (await ftp.SendAsync("TYPE A")).Code.ShouldBe(200);

        using (var up = await ftp.EpsvAsync())
        {
            (await ftp.SendAsync("STOR t.txt")).Code.ShouldBe(150);
            await up.GetStream().WriteAsync("a\r\nb\r\n\r\nlone\rcr\r\nend"u8.ToArray());
            up.Close();
            (await ftp.ReadAsync()).Code.ShouldBe(226);
        }
        File.ReadAllBytes(Path.Combine(server.DemoHome, "t.txt")).ShouldBe("a\nb\n\nlone\rcr\nend"u8.ToArray());

        using (var down = await ftp.EpsvAsync())
        {
            (await ftp.SendAsync("RETR t.txt")).Code.ShouldBe(150);
            var wire = new MemoryStream();
            await down.GetStream().CopyToAsync(wire);
            (await ftp.ReadAsync()).Code.ShouldBe(226);
            wire.ToArray().ShouldBe("a\r\nb\r\n\r\nlone\rcr\r\nend"u8.ToArray());
        }
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_name_in_a_legacy_8_bit_encoding_is_kept_as_Latin_1()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        using (var data = await ftp.EpsvAsync())
        {
            // "café.txt" in ISO-8859-1 (0xE9): not valid UTF-8.
            await ftp.SendRawAsync([.. "STOR caf"u8, 0xE9, .. ".txt\r\n"u8]);
            (await ftp.ReadAsync()).Code.ShouldBe(150);
            await data.GetStream().WriteAsync("latin"u8.ToArray());
            data.Close();
            (await ftp.ReadAsync()).Code.ShouldBe(226);
        }

        File.ReadAllText(Path.Combine(server.DemoHome, "café.txt")).ShouldBe("latin");
        (await ftp.SendAsync("SIZE café.txt")).Code.ShouldBe(213);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Connections_beyond_the_per_address_limit_get_421()
    {
        await using var server = await TestServer.StartAsync(c => c with { MaxConnectionsPerAddress = 5 });
        var sessions = new List<RawFtp>();
        try
        {
            for (var i = 0; i < 5; i++) sessions.Add(await RawFtp.ConnectAsync(server.Port));

            using var extra = new TcpClient();
            await extra.ConnectAsync(IPAddress.Loopback, server.Port);
            var greeting = await new StreamReader(extra.GetStream(), Encoding.ASCII).ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
            greeting.ShouldStartWith("421");

            await sessions[0].DisposeAsync();
            sessions.RemoveAt(0);
            (await Tools.EventuallyAsync(() => server.Server.Host.Sessions.Count == 4)).ShouldBeTrue();
            sessions.Add(await RawFtp.ConnectAsync(server.Port)); // a freed slot can be used again
        }
        finally
        {
            foreach (var session in sessions) await session.DisposeAsync();
        }
        server.ShouldHaveLoggedNoErrors();
    }
}
