using System.Diagnostics;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>A 1 GiB round trip with curl, and 50 clients at once.</summary>
public class LoadTests
{
    private string local = "";

    [SetUp]
    public void SetUp() => local = Tools.NewFolder();

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(local);

    /// <summary>Samples this process's memory (the server runs in it) until disposed; keeps the peaks.</summary>
    private sealed class MemoryWatch : IAsyncDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task sampling;
        public long PeakWorkingSet;
        public long PeakManaged;

        public MemoryWatch() => sampling = Task.Run(async () =>
        {
            using var self = Process.GetCurrentProcess();
            while (!stop.IsCancellationRequested)
            {
                self.Refresh();
                PeakWorkingSet = Math.Max(PeakWorkingSet, self.WorkingSet64);
                PeakManaged = Math.Max(PeakManaged, GC.GetTotalMemory(false));
                try { await Task.Delay(50, stop.Token); } catch (OperationCanceledException) { }
            }
        });

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await sampling;
            stop.Dispose();
        }
    }

    [Test, Category("Large")]
    public async Task One_GiB_goes_up_and_down_with_curl_intact_and_the_server_memory_stays_flat()
    {
        const long size = 1L << 30;
        const long allowedGrowth = 200L * 1024 * 1024;
        var curl = Tools.Require("curl");
        await using var server = await TestServer.StartAsync();
        var source = Path.Combine(local, "gigabyte.bin");
        await Task.Run(() => Tools.WriteRandomFile(source, size, seed: 40));
        var sourceHash = await Task.Run(() => Tools.Sha256(source));

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var managedBefore = GC.GetTotalMemory(true);
        long workingSetBefore;
        using (var self = Process.GetCurrentProcess()) workingSetBefore = self.WorkingSet64;

        var back = Path.Combine(local, "back.bin");
        ProcessResult up, down;
        TimeSpan upTime, downTime;
        var watch = new MemoryWatch();
        await using (watch)
        {
            var clock = Stopwatch.StartNew();
            up = await Tools.RunAsync(curl, ["-sS", "--max-time", "100", "-u", "demo:demo-pass", "-T", source, $"ftp://127.0.0.1:{server.Port}/gigabyte.bin"],
                timeout: TimeSpan.FromSeconds(110), workingDirectory: local);
            upTime = clock.Elapsed;
            clock.Restart();
            down = await Tools.RunAsync(curl, ["-sS", "--max-time", "100", "-u", "demo:demo-pass", "-o", back, $"ftp://127.0.0.1:{server.Port}/gigabyte.bin"],
                timeout: TimeSpan.FromSeconds(110), workingDirectory: local);
            downTime = clock.Elapsed;
        }

        up.ExitCode.ShouldBe(0, up.Output);
        down.ExitCode.ShouldBe(0, down.Output);
        var stored = Path.Combine(server.DemoHome, "gigabyte.bin");
        new FileInfo(stored).Length.ShouldBe(size);
        Tools.Sha256(stored).ShouldBe(sourceHash);
        new FileInfo(back).Length.ShouldBe(size);
        Tools.Sha256(back).ShouldBe(sourceHash);
        TestContext.Out.WriteLine($"STOR {size / upTime.TotalSeconds / 1e6:0} MB/s, RETR {size / downTime.TotalSeconds / 1e6:0} MB/s; " +
                                  $"working set {workingSetBefore / 1e6:0} MB → peak {watch.PeakWorkingSet / 1e6:0} MB, managed {managedBefore / 1e6:0} MB → peak {watch.PeakManaged / 1e6:0} MB");
        (watch.PeakWorkingSet - workingSetBefore).ShouldBeLessThan(allowedGrowth, "working set grew during the transfers");
        (watch.PeakManaged - managedBefore).ShouldBeLessThan(allowedGrowth, "managed heap grew during the transfers");
        server.ShouldHaveLoggedNoErrors();
    }

    private const string ClientScript = """
        import ftplib, hashlib, io, os, sys, time
        port, index, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
        ftp = ftplib.FTP()
        ftp.connect('127.0.0.1', port, timeout=150)
        ftp.login('demo', 'demo-pass')
        print('ready', flush=True)
        deadline = time.time() + 150
        while not os.path.exists(go):
            if time.time() > deadline: raise SystemExit('no go signal')
            time.sleep(0.01)
        data = os.urandom(256 * 1024 + index)
        name = f'client-{index}.bin'
        if index % 2: ftp.set_pasv(False)  # half of them active, half passive
        ftp.mkd(f'dir-{index}')
        ftp.cwd(f'dir-{index}')
        ftp.storbinary('STOR ' + name, io.BytesIO(data))
        got = io.BytesIO()
        ftp.retrbinary('RETR ' + name, got.write)
        assert got.getvalue() == data, f'client {index}: downloaded bytes differ'
        assert ftp.nlst() == [name], ftp.nlst()
        assert ftp.size(name) == len(data)
        ftp.quit()
        print('sha', hashlib.sha256(data).hexdigest())
        """;

    [Test]
    public async Task Fifty_clients_at_once_each_upload_and_download_their_own_file()
    {
        const int clients = 50;
        var python = Tools.Require("python3");
        // Fifty logins of one user from one address at once: loopback is trusted, as in the shipped ftp.toml.
        await using var server = await TestServer.StartAsync(c => c with { TrustedNetworks = [ScriptFtp.Security.AddressRange.Parse("127.0.0.0/8")] });
        var script = Path.Combine(local, "client.py");
        File.WriteAllText(script, ClientScript);
        var go = Path.Combine(local, "go");

        var runs = Enumerable.Range(0, clients)
            .Select(i => Tools.RunAsync(python, [script, server.Port.ToString(), i.ToString(), go], timeout: TimeSpan.FromSeconds(240),
                workingDirectory: local))
            .ToArray();
        // Start the transfers only once all 50 are logged in at the same time. Each login is an Argon2id check of about a fifth
        // of a second of processor time, one per core at once: on a loaded 2-core machine the 50 can take a minute.
        var allIn = await Tools.EventuallyAsync(
            () => server.Server.Host.Sessions.Keys.Count(c => c.View.User is not null) == clients, TimeSpan.FromSeconds(150));
        File.WriteAllText(go, "");
        var results = await Task.WhenAll(runs);

        allIn.ShouldBeTrue($"only {server.Server.Host.Sessions.Count} sessions were up at once");
        for (var i = 0; i < clients; i++)
        {
            results[i].ExitCode.ShouldBe(0, $"client {i}: {results[i].Output}");
            var sha = Tools.Lines(results[i].Stdout).Single(l => l.StartsWith("sha ", StringComparison.Ordinal))[4..];
            var stored = Path.Combine(server.DemoHome, $"dir-{i}", $"client-{i}.bin");
            new FileInfo(stored).Length.ShouldBe(256 * 1024 + i);
            Tools.Sha256(stored).ShouldBe(sha, StringCompareShould.IgnoreCase);
        }
        Tools.PartialFiles(server.DemoHome).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }
}
