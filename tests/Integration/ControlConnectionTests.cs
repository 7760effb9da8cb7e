using System.Text;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>The control connection on the wire: framing, pipelining, Telnet bytes, idle timeouts.</summary>
public class ControlConnectionTests
{
    [Test]
    public async Task A_command_sent_one_byte_at_a_time_is_understood()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        foreach (var b in "PWD\r\n"u8.ToArray())
        {
            await ftp.SendRawAsync([b]);
            await Task.Delay(20);
        }

        (await ftp.ReadAsync()).Code.ShouldBe(257);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Pipelined_commands_in_one_packet_are_answered_in_order()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.ConnectAsync(server.Port);

        await ftp.SendRawAsync("USER demo\r\nPASS demo-pass\r\nMKD a\r\nCWD a\r\nPWD\r\nBOGUS\r\nTYPE I\r\n\r\nNOOP\r\n"u8.ToArray());

        int[] expected = [331, 230, 257, 250, 257, 500, 200, 200];
        var codes = new List<int>();
        foreach (var _ in expected) codes.Add((await ftp.ReadAsync()).Code);
        codes.ShouldBe(expected);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Bare_LF_line_endings_are_accepted()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.ConnectAsync(server.Port);

        await ftp.SendRawAsync("USER demo\nPASS demo-pass\nPWD\n"u8.ToArray());

        (await ftp.ReadAsync()).Code.ShouldBe(331);
        (await ftp.ReadAsync()).Code.ShouldBe(230);
        (await ftp.ReadAsync()).Code.ShouldBe(257);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Telnet_negotiation_bytes_are_ignored_and_an_escaped_IAC_is_kept()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        // IAC WILL ECHO, IAC DO SGA before the verb; then a Latin-1 name holding ÿ (0xFF, sent as IAC IAC).
        await ftp.SendRawAsync([255, 251, 1, 255, 253, 3, .. "MKD y"u8, 255, 255, .. "s\r\n"u8]);

        var reply = await ftp.ReadAsync();
        reply.Code.ShouldBe(257, reply.Text);
        reply.Text.ShouldContain("\"/yÿs\"");
        Directory.Exists(Path.Combine(server.DemoHome, "yÿs")).ShouldBeTrue();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task An_idle_session_is_closed_with_421()
    {
        await using var server = await TestServer.StartAsync(c => c with { IdleTimeout = TimeSpan.FromSeconds(1) });
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var reply = await ftp.ReadAsync(TimeSpan.FromSeconds(10));

        reply.Code.ShouldBe(421, reply.Text);
        (await ftp.ReadAsync()).Code.ShouldBe(0);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_long_transfer_is_not_cut_by_the_idle_timeout()
    {
        await using var server = await TestServer.StartAsync(c => c with { IdleTimeout = TimeSpan.FromSeconds(1) });
        Directory.CreateDirectory(server.DemoHome);
        var path = Path.Combine(server.DemoHome, "slow.bin");
        Tools.WriteRandomFile(path, 40L * 1024 * 1024, seed: 60);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        using var data = await ftp.EpsvAsync();
        (await ftp.SendAsync("RETR slow.bin")).Code.ShouldBe(150);
        // Read slowly for about 3 seconds: three idle periods without a command.
        var stream = data.GetStream();
        var buffer = new byte[64 * 1024];
        long total = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(3))
        {
            total += await stream.ReadAsync(buffer);
            await Task.Delay(50);
        }
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0) total += read;

        total.ShouldBe(new FileInfo(path).Length);
        (await ftp.ReadAsync()).Code.ShouldBe(226);
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Stopping_the_server_tells_idle_sessions_421_and_lets_a_running_download_finish()
    {
        var server = await TestServer.StartAsync();
        var disposed = false;
        try
        {
            Directory.CreateDirectory(server.DemoHome);
            var path = Path.Combine(server.DemoHome, "running.bin");
            const long size = 30L * 1024 * 1024;
            Tools.WriteRandomFile(path, size, seed: 61);
            await using var idle = await RawFtp.LoginAsync(server.Port);
            await using var busy = await RawFtp.LoginAsync(server.Port);
            using var data = await busy.EpsvAsync();
            (await busy.SendAsync("RETR running.bin")).Code.ShouldBe(150);
            var stream = data.GetStream();
            var buffer = new byte[1 << 20];
            long total = await stream.ReadAsync(buffer);

            var stopping = server.DisposeAsync().AsTask();
            disposed = true;
            (await idle.ReadAsync(TimeSpan.FromSeconds(10))).Code.ShouldBe(421);
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0) total += read;
            total.ShouldBe(size);
            (await busy.ReadAsync(TimeSpan.FromSeconds(10))).Code.ShouldBe(226);
            (await busy.ReadAsync(TimeSpan.FromSeconds(10))).Code.ShouldBe(421);
            await stopping.WaitAsync(TimeSpan.FromSeconds(20));
            server.ShouldHaveLoggedNoErrors();
        }
        finally
        {
            if (!disposed) await server.DisposeAsync();
        }
    }

    [Test]
    public async Task Replies_are_UTF_8_and_multi_line_replies_are_well_formed()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(Path.Combine(server.DemoHome, "日本"));
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        (await ftp.SendAsync("CWD 日本")).Code.ShouldBe(250);
        (await ftp.SendAsync("PWD")).Text.ShouldBe("257 \"/日本\" is the current directory.");
        var feat = await ftp.SendAsync("FEAT");
        var lines = feat.Text.Split('\n');
        lines[0].ShouldStartWith("211-");
        lines[^1].ShouldStartWith("211 ");
        lines[1..^1].ShouldAllBe(l => l.StartsWith(' '), "RFC 2389: each feature line starts with a space");
        server.ShouldHaveLoggedNoErrors();
    }
}
