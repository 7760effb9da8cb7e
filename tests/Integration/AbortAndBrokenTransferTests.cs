using System.Net;
using System.Net.Sockets;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>ABOR during transfers and uploads cut off mid-way, over raw sockets.</summary>
public class AbortAndBrokenTransferTests
{
    private const long BigSize = 200L * 1024 * 1024;

    private static async Task<string> BigFileAsync(TestServer server, string name = "big.bin")
    {
        Directory.CreateDirectory(server.DemoHome);
        var path = Path.Combine(server.DemoHome, name);
        await Task.Run(() => Tools.WriteRandomFile(path, BigSize, seed: 30));
        return path;
    }

    /// <summary>Reads until the server closes the data connection (or the time is up); returns the byte count.</summary>
    private static async Task<long> DrainAsync(TcpClient data, TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var buffer = new byte[1 << 20];
        long total = 0;
        try
        {
            int read;
            while ((read = await data.GetStream().ReadAsync(buffer, timeout.Token)) > 0) total += read;
        }
        catch (IOException) { } // reset by the server: also the end
        return total;
    }

    [Test]
    public async Task Abor_during_a_large_RETR_answers_426_then_226_and_the_session_goes_on()
    {
        await using var server = await TestServer.StartAsync();
        await BigFileAsync(server);
        File.WriteAllText(Path.Combine(server.DemoHome, "small.txt"), "still works");
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var data = await ftp.EpsvAsync();
        (await ftp.SendAsync("RETR big.bin")).Code.ShouldBe(150);
        var head = new byte[256 * 1024];
        await data.GetStream().ReadExactlyAsync(head);

        var first = await ftp.SendAsync("ABOR");
        var second = await ftp.ReadAsync();

        first.Code.ShouldBe(426, first.Text);
        second.Code.ShouldBe(226, second.Text);
        var rest = await DrainAsync(data, TimeSpan.FromSeconds(10));
        (head.Length + rest).ShouldBeLessThan(BigSize, "the server must stop sending after ABOR");
        data.Dispose();

        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        using (var again = await ftp.EpsvAsync())
        {
            (await ftp.SendAsync("RETR small.txt")).Code.ShouldBe(150);
            (await new StreamReader(again.GetStream()).ReadToEndAsync()).ShouldBe("still works");
            (await ftp.ReadAsync()).Code.ShouldBe(226);
        }
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Abor_preceded_by_Telnet_IP_and_Synch_bytes_is_understood()
    {
        await using var server = await TestServer.StartAsync();
        await BigFileAsync(server);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        using var data = await ftp.EpsvAsync();
        (await ftp.SendAsync("RETR big.bin")).Code.ShouldBe(150);
        await data.GetStream().ReadExactlyAsync(new byte[64 * 1024]);

        // What RFC 959 clients send: IAC IP, IAC DM (Synch), then ABOR.
        await ftp.SendRawAsync([255, 244, 255, 242, .. "ABOR\r\n"u8]);

        (await ftp.ReadAsync()).Code.ShouldBe(426);
        (await ftp.ReadAsync()).Code.ShouldBe(226);
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Abor_after_a_Synch_sent_as_urgent_data_is_understood()
    {
        await using var server = await TestServer.StartAsync();
        await BigFileAsync(server);
        // RawFtp hides its socket; urgent data needs it, so this test speaks FTP by hand.
        using var control = new TcpClient();
        await control.ConnectAsync(IPAddress.Loopback, server.Port);
        var stream = control.GetStream();
        var reader = new StreamReader(stream);
        async Task<string> Read()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try { return await reader.ReadLineAsync(timeout.Token) ?? "(connection closed)"; }
            catch (OperationCanceledException) { return "(no reply within 5 s)"; }
        }
        async Task<string> Send(string line)
        {
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(line + "\r\n"));
            return await Read();
        }
        (await Read()).ShouldStartWith("220");
        (await Send("USER demo")).ShouldStartWith("331");
        (await Send("PASS demo-pass")).ShouldStartWith("230");
        var epsv = await Send("EPSV");
        using var data = new TcpClient();
        await data.ConnectAsync(IPAddress.Loopback, int.Parse(epsv.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture));
        (await Send("RETR big.bin")).ShouldStartWith("150");
        await data.GetStream().ReadExactlyAsync(new byte[64 * 1024]);

        // What BSD ftp/tnftp send on interrupt (RFC 959 section 4.1.3): IAC IP in band, then IAC DM with the DM as TCP urgent data, then ABOR.
        await stream.WriteAsync(new byte[] { 255, 244 });
        control.Client.Send([255, 242], SocketFlags.OutOfBand);
        (await Send("ABOR")).ShouldStartWith("426");
        (await Read()).ShouldStartWith("226");
        (await Send("NOOP")).ShouldStartWith("200");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Abor_with_no_transfer_running_answers_225()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        (await ftp.SendAsync("ABOR")).Code.ShouldBe(225);
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Stat_during_a_transfer_reports_progress_without_stopping_it()
    {
        await using var server = await TestServer.StartAsync();
        var big = await BigFileAsync(server);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        using var data = await ftp.EpsvAsync();
        (await ftp.SendAsync("RETR big.bin")).Code.ShouldBe(150);
        await data.GetStream().ReadExactlyAsync(new byte[64 * 1024]);
        var stat = await ftp.SendAsync("STAT");
        stat.Code.ShouldBe(213, stat.Text);
        var rest = await DrainAsync(data, TimeSpan.FromSeconds(60));

        (64 * 1024 + rest).ShouldBe(new FileInfo(big).Length);
        (await ftp.ReadAsync()).Code.ShouldBe(226);
        server.ShouldHaveLoggedNoErrors();
    }

    /// <summary>Starts STOR of <paramref name="name"/> and sends half of 16 MB; returns the open data connection.</summary>
    private static async Task<TcpClient> StartHalfUploadAsync(RawFtp ftp, string name)
    {
        var data = await ftp.EpsvAsync();
        (await ftp.SendAsync("STOR " + name)).Code.ShouldBe(150);
        var half = Tools.RandomBytes(8 * 1024 * 1024, seed: 31);
        await data.GetStream().WriteAsync(half);
        await data.GetStream().FlushAsync();
        return data;
    }

    /// <summary>Closes a socket with RST instead of FIN: the peer sees a broken connection, not an end of file.</summary>
    /// <remarks>Not through TcpClient.Close: its NetworkStream shuts the socket down (FIN) first, which is a normal end of file.</remarks>
    private static void Reset(TcpClient client)
    {
        client.Client.Close(0);
        client.Dispose();
    }

    [Test]
    public async Task An_upload_whose_data_connection_is_reset_leaves_no_file_and_the_session_goes_on()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var data = await StartHalfUploadAsync(ftp, "broken.bin");
        Reset(data);
        var reply = await ftp.ReadAsync();

        reply.Code.ShouldBeOneOf(426, 451);
        File.Exists(Path.Combine(server.DemoHome, "broken.bin")).ShouldBeFalse();
        Tools.PartialFiles(server.Root).ShouldBeEmpty();
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        (await ftp.SendAsync("SIZE broken.bin")).Code.ShouldBe(550);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task An_upload_whose_control_connection_closes_leaves_no_file_even_when_the_data_ends_normally_afterwards()
    {
        await using var server = await TestServer.StartAsync();
        var ftp = await RawFtp.LoginAsync(server.Port);

        var data = await StartHalfUploadAsync(ftp, "orphan.bin");
        await ftp.DisposeAsync();
        // The server sees the control connection go and must drop the upload: its hidden partial file disappears.
        (await Tools.EventuallyAsync(() => server.Server.Host.Sessions.IsEmpty)).ShouldBeTrue("the session should end");
        (await Tools.EventuallyAsync(() => Tools.PartialFiles(server.Root).Length == 0)).ShouldBeTrue("the partial file should be removed");
        // The rest of the data stream then ends with a normal FIN: too late, nobody is there to be told "226".
        try { data.Client.Shutdown(SocketShutdown.Send); } catch (SocketException) { }
        data.Dispose();
        await Task.Delay(300);

        File.Exists(Path.Combine(server.DemoHome, "orphan.bin")).ShouldBeFalse();
        Tools.PartialFiles(server.Root).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task An_upload_whose_control_connection_closes_just_after_its_data_ends_leaves_no_file()
    {
        await using var server = await TestServer.StartAsync();
        var ftp = await RawFtp.LoginAsync(server.Port);

        var data = await StartHalfUploadAsync(ftp, "late.bin");
        // A killed client closes its sockets one at a time: here the data connection ends with a normal FIN first.
        await Task.Delay(200);
        data.Client.Shutdown(SocketShutdown.Send);
        data.Dispose();
        await Task.Delay(10);
        await ftp.DisposeAsync();

        (await Tools.EventuallyAsync(() => server.Server.Host.Sessions.IsEmpty)).ShouldBeTrue("the session should end");
        File.Exists(Path.Combine(server.DemoHome, "late.bin")).ShouldBeFalse("a truncated upload was stored under the real name");
        Tools.PartialFiles(server.Root).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Quit_during_an_upload_lets_it_finish_even_when_the_client_closes_its_side_at_once()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var data = await StartHalfUploadAsync(ftp, "quit.bin");
        await ftp.SendLineAsync("QUIT");
        ftp.ShutdownSend();
        await Task.Delay(100);
        data.Client.Shutdown(SocketShutdown.Send);
        data.Dispose();

        (await ftp.ReadAsync()).Code.ShouldBe(226);
        (await ftp.ReadAsync()).Code.ShouldBe(221);
        File.ReadAllBytes(Path.Combine(server.DemoHome, "quit.bin")).ShouldBe(Tools.RandomBytes(8 * 1024 * 1024, seed: 31));
        Tools.PartialFiles(server.Root).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task An_upload_that_ends_while_its_control_connection_stays_open_is_stored()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var data = await StartHalfUploadAsync(ftp, "whole.bin");
        await Task.Delay(200);
        data.Client.Shutdown(SocketShutdown.Send);
        data.Dispose();

        (await ftp.ReadAsync()).Code.ShouldBe(226);
        var stored = Path.Combine(server.DemoHome, "whole.bin");
        File.ReadAllBytes(stored).ShouldBe(Tools.RandomBytes(8 * 1024 * 1024, seed: 31));
        Tools.PartialFiles(server.Root).ShouldBeEmpty();
    }

    [Test]
    public async Task Abor_during_an_upload_answers_426_then_226_and_leaves_no_file()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        using var data = await StartHalfUploadAsync(ftp, "aborted.bin");
        var first = await ftp.SendAsync("ABOR");
        var second = await ftp.ReadAsync();

        first.Code.ShouldBe(426, first.Text);
        second.Code.ShouldBe(226, second.Text);
        File.Exists(Path.Combine(server.DemoHome, "aborted.bin")).ShouldBeFalse();
        Tools.PartialFiles(server.Root).ShouldBeEmpty();
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_broken_overwrite_keeps_the_old_file_intact()
    {
        await using var server = await TestServer.StartAsync(c => c with { AllowOverwrite = true });
        Directory.CreateDirectory(server.DemoHome);
        var existing = Path.Combine(server.DemoHome, "precious.bin");
        File.WriteAllBytes(existing, Tools.RandomBytes(3_000_000, seed: 32));
        var before = Tools.Sha256(existing);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var data = await StartHalfUploadAsync(ftp, "precious.bin");
        Reset(data);
        (await ftp.ReadAsync()).Code.ShouldBeOneOf(426, 451);

        Tools.Sha256(existing).ShouldBe(before);
        Tools.PartialFiles(server.Root).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_client_killed_mid_upload_leaves_no_truncated_file_under_the_real_name()
    {
        var curl = Tools.Require("curl");
        await using var server = await TestServer.StartAsync();
        var local = Tools.NewFolder();
        try
        {
            var source = Path.Combine(local, "upload.bin");
            Tools.WriteRandomFile(source, 100L * 1024 * 1024, seed: 33);
            var info = new System.Diagnostics.ProcessStartInfo(curl)
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[] { "-sS", "--limit-rate", "20M", "-u", "demo:demo-pass", "-T", source, $"ftp://127.0.0.1:{server.Port}/upload.bin" })
                info.ArgumentList.Add(a);
            using (var process = System.Diagnostics.Process.Start(info)!)
            {
                // Kill curl (SIGKILL) once a few megabytes have arrived: the kernel then closes its control and data sockets.
                var started = await Tools.EventuallyAsync(() => Tools.PartialFiles(server.DemoHome).Any(p => new FileInfo(p).Length > 4_000_000), TimeSpan.FromSeconds(20));
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                started.ShouldBeTrue("the upload should have started");
            }

            (await Tools.EventuallyAsync(() => server.Server.Host.Sessions.IsEmpty)).ShouldBeTrue("the session should end");
            await Task.Delay(200);
            var real = Path.Combine(server.DemoHome, "upload.bin");
            File.Exists(real).ShouldBeFalse($"a truncated upload of {(File.Exists(real) ? new FileInfo(real).Length : 0)} of {100L * 1024 * 1024} bytes was stored under the real name");
            Tools.PartialFiles(server.Root).ShouldBeEmpty();
            server.ShouldHaveLoggedNoErrors();
        }
        finally
        {
            Tools.DeleteQuietly(local);
        }
    }

    [Test]
    public async Task A_client_killed_mid_download_does_not_disturb_the_server()
    {
        var curl = Tools.Require("curl");
        await using var server = await TestServer.StartAsync();
        await BigFileAsync(server);
        var local = Tools.NewFolder();
        try
        {
            var info = new System.Diagnostics.ProcessStartInfo(curl)
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[] { "-sS", "--limit-rate", "20M", "-u", "demo:demo-pass", "-o", Path.Combine(local, "part.bin"), $"ftp://127.0.0.1:{server.Port}/big.bin" })
                info.ArgumentList.Add(a);
            using (var process = System.Diagnostics.Process.Start(info)!)
            {
                var started = await Tools.EventuallyAsync(() => File.Exists(Path.Combine(local, "part.bin")) && new FileInfo(Path.Combine(local, "part.bin")).Length > 1_000_000, TimeSpan.FromSeconds(20));
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                started.ShouldBeTrue("the download should have started");
            }

            (await Tools.EventuallyAsync(() => server.Server.Host.Sessions.IsEmpty)).ShouldBeTrue("the session should end");
            await using var ftp = await RawFtp.LoginAsync(server.Port);
            (await ftp.SendAsync("SIZE big.bin")).Text.ShouldBe($"213 {BigSize}");
            server.ShouldHaveLoggedNoErrors();
        }
        finally
        {
            Tools.DeleteQuietly(local);
        }
    }

    [Test]
    public async Task A_transfer_refused_before_the_data_connection_frees_its_passive_port()
    {
        await using var server = await TestServer.StartAsync();
        var outside = Directory.CreateDirectory(Path.Combine(server.Folder, "outside")).FullName;
        Directory.CreateDirectory(server.DemoHome);
        File.CreateSymbolicLink(Path.Combine(server.DemoHome, "link-out"), outside);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var (code, text) = await ftp.SendAsync("EPSV");
        code.ShouldBe(229);
        var port = int.Parse(text.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture);
        (await ftp.SendAsync("STOR link-out/x.bin")).Code.ShouldBe(550);
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);

        // The data plan is spent: nothing may listen on that port any more (a connection attempt is refused at once).
        var closed = false;
        for (var attempt = 0; attempt < 3 && !closed; attempt++)
        {
            using var probe = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            try { await probe.ConnectAsync(IPAddress.Loopback, port, timeout.Token); }
            catch (SocketException) { closed = true; }
            catch (OperationCanceledException) { } // backlog full: still listening
            if (!closed) await Task.Delay(100);
        }
        closed.ShouldBeTrue($"port {port} still accepts connections after the STOR was refused: the passive listener leaked");
        server.ShouldHaveLoggedNoErrors();
    }
}
