using System.Net.Sockets;
using System.Text;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Server;

/// <summary>Clients that stall, flood or pipeline: each must cost the server a bounded time and leave it answering.</summary>
public class HardeningTests
{
    private static Task<TestServer> StartAsync(TimeSpan? dataTimeout = null) =>
        TestServer.StartAsync(c => c with { DataTimeout = dataTimeout ?? TimeSpan.FromSeconds(1), IdleTimeout = TimeSpan.FromSeconds(30) });

    [Test]
    public async Task An_upload_that_stops_sending_is_dropped_after_the_data_timeout_and_leaves_no_file()
    {
        await using var server = await StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        using var data = await ftp.EpsvAsync();
        (await ftp.SendAsync("STOR stalled.bin")).Code.ShouldBe(150);
        await data.GetStream().WriteAsync(new byte[100_000]);

        var (code, _) = await ftp.ReadAsync(TimeSpan.FromSeconds(15));
        code.ShouldBe(426);
        File.Exists(Path.Combine(server.DemoHome, "stalled.bin")).ShouldBeFalse();
        Directory.EnumerateFiles(server.DemoHome).ShouldBeEmpty("no partial file is left behind");
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_download_that_is_never_read_is_dropped_after_the_data_timeout()
    {
        await using var server = await StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        await File.WriteAllBytesAsync(Path.Combine(server.DemoHome, "big.bin"), new byte[64 << 20]);
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        using var data = await ftp.EpsvAsync();
        data.ReceiveBufferSize = 4096;
        (await ftp.SendAsync("RETR big.bin")).Code.ShouldBe(150);

        (await ftp.ReadAsync(TimeSpan.FromSeconds(20))).Code.ShouldBe(426);
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_client_that_never_reads_its_replies_is_disconnected()
    {
        await using var server = await StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
        client.ReceiveBufferSize = 4096;
        var stream = client.GetStream();
        var flood = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("HELP\r\n", 2000)));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var closed = false;
        try
        {
            for (var i = 0; i < 200 && !deadline.IsCancellationRequested; i++) await stream.WriteAsync(flood, deadline.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException) { closed = e is IOException; }
        if (!closed)
            (await Tools.EventuallyAsync(() => server.Server.Host.Sessions.IsEmpty, TimeSpan.FromSeconds(15))).ShouldBeTrue("the session should be dropped");
        (await Tools.EventuallyAsync(() => server.Server.Host.Sessions.IsEmpty, TimeSpan.FromSeconds(15))).ShouldBeTrue();
        await using var fresh = await RawFtp.LoginAsync(server.Port);
        (await fresh.SendAsync("NOOP")).Code.ShouldBe(200);
    }

    [Test]
    public async Task Abor_sent_after_another_command_during_a_transfer_still_aborts_it()
    {
        await using var server = await StartAsync(TimeSpan.FromSeconds(60));
        Directory.CreateDirectory(server.DemoHome);
        await File.WriteAllBytesAsync(Path.Combine(server.DemoHome, "big.bin"), new byte[128 << 20]);
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        using var data = await ftp.EpsvAsync();
        data.ReceiveBufferSize = 4096;
        (await ftp.SendAsync("RETR big.bin")).Code.ShouldBe(150);
        await data.GetStream().ReadExactlyAsync(new byte[1000]);

        // The client stops reading, then sends NOOP and ABOR: the ABOR must not wait behind the NOOP for the transfer.
        await ftp.SendLineAsync("NOOP");
        await ftp.SendLineAsync("ABOR");
        (await ftp.ReadAsync(TimeSpan.FromSeconds(10))).Code.ShouldBe(426);
        (await ftp.ReadAsync(TimeSpan.FromSeconds(10))).Code.ShouldBe(226);
        (await ftp.ReadAsync(TimeSpan.FromSeconds(10))).Code.ShouldBe(200, "the queued NOOP is answered after the abort");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Stou_names_the_file_in_its_150_reply()
    {
        await using var server = await StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        await File.WriteAllTextAsync(Path.Combine(server.DemoHome, "report.txt"), "old");
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        using (var data = await ftp.EpsvAsync())
        {
            var (code, text) = await ftp.SendAsync("STOU report.txt");
            code.ShouldBe(150);
            text.ShouldBe("150 FILE: report.txt.1");
            await data.GetStream().WriteAsync("new"u8.ToArray());
        }
        (await ftp.ReadAsync()).Text.ShouldContain("report.txt.1");
        (await File.ReadAllTextAsync(Path.Combine(server.DemoHome, "report.txt"))).ShouldBe("old");
        (await File.ReadAllTextAsync(Path.Combine(server.DemoHome, "report.txt.1"))).ShouldBe("new");
    }
}
