using System.Net;
using System.Net.Sockets;
using System.Text;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>
/// Listings of a folder that changes under them (an inbox that a job empties), and a short soak of whole sessions.
/// Real sockets, the real server in this process.
/// </summary>
public class ListingChurnTests
{
    private const int Rounds = 300;

    [TestCase("NLST")]
    [TestCase("LIST")]
    [TestCase("MLSD")]
    public async Task A_folder_that_changes_while_it_is_listed_lists_every_time(string verb)
    {
        await using var server = await TestServer.StartAsync();
        var inbox = Path.Combine(server.DemoHome, "inbox");
        Directory.CreateDirectory(inbox);
        File.WriteAllText(Path.Combine(inbox, "stays.txt"), "always here");
        using var stop = new CancellationTokenSource();
        var churn = Task.Run(() => Churn(inbox, stop.Token));

        var failures = new List<string>();
        await using (var ftp = await RawFtp.LoginAsync(server.Port))
        {
            for (var i = 0; i < Rounds; i++)
            {
                var (code, text, listing) = await ListAsync(ftp, $"{verb} inbox");
                if (code != 226) failures.Add(text);
                else if (!listing.Contains("stays.txt", StringComparison.Ordinal)) failures.Add("stays.txt missing:\n" + listing);
            }
        }
        await stop.CancelAsync();
        var churned = await churn;

        churned.ShouldBeGreaterThan(100, "the folder should have changed while it was listed");
        failures.ShouldBeEmpty($"{failures.Count} of {Rounds} {verb} listings failed");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task A_missing_folder_still_gets_550()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        foreach (var verb in new[] { "NLST", "LIST", "MLSD" })
        {
            using var data = await ftp.EpsvAsync();
            var reply = await ftp.SendAsync($"{verb} nowhere");
            reply.Code.ShouldBe(550, reply.Text);
        }
    }

    [Test]
    public async Task A_folder_too_big_to_sort_lists_every_entry_once_and_a_short_listing_comes_sorted()
    {
        await using var server = await TestServer.StartAsync();
        var big = Path.Combine(server.DemoHome, "big");
        Directory.CreateDirectory(big);
        var names = Enumerable.Range(0, Listing.SortedUpTo + 500).Select(i => $"n{i:D6}.dat").ToArray();
        foreach (var name in names) File.WriteAllBytes(Path.Combine(big, name), []);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        var (code, text, listing) = await ListAsync(ftp, "NLST big");
        code.ShouldBe(226, text);
        var listed = listing.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        listed.Order(StringComparer.Ordinal).ShouldBe(names.Select(n => "big/" + n));

        (code, text, listing) = await ListAsync(ftp, "MLSD big/n00001*");
        code.ShouldBe(226, text);
        listing.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[1])
            .ShouldBe(names.Where(n => n.StartsWith("n00001", StringComparison.Ordinal)));
        (code, text, listing) = await ListAsync(ftp, "NLST");
        code.ShouldBe(226, text);
        listing.ShouldBe("big\r\n");
    }

    [Test]
    public async Task Eight_sessions_storing_fetching_listing_and_deleting_for_a_few_seconds_all_succeed()
    {
        await using var server = await TestServer.StartAsync(c => c with { LoginDelay = TimeSpan.Zero });
        var until = DateTime.UtcNow.AddSeconds(4);
        var sessions = await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(() => SoakAsync(server.Port, worker, until))));

        var all = sessions.SelectMany(s => s).ToList();
        all.Count.ShouldBeGreaterThan(16, "each worker should have run several sessions");
        all.Where(s => s is not null).ShouldBeEmpty($"failed sessions out of {all.Count}");
        server.ShouldHaveLoggedNoErrors();
    }

    /// <summary>Creates and deletes files in <paramref name="folder"/> until stopped; returns how many it deleted.</summary>
    private static int Churn(string folder, CancellationToken stop)
    {
        var deleted = 0;
        var names = Enumerable.Range(0, 40).Select(i => Path.Combine(folder, $"churn-{i}.tmp")).ToArray();
        while (!stop.IsCancellationRequested)
        {
            foreach (var name in names) File.WriteAllText(name, "x");
            foreach (var name in names)
            {
                File.Delete(name);
                deleted++;
            }
        }
        return deleted;
    }

    /// <summary>One listing over EPSV: the final reply and the data connection's text.</summary>
    private static async Task<(int Code, string Text, string Listing)> ListAsync(RawFtp ftp, string command)
    {
        using var data = await ftp.EpsvAsync();
        var opening = await ftp.SendAsync(command);
        if (opening.Code != 150) return (opening.Code, opening.Text, "");
        var listing = await ReadAllAsync(data);
        var done = await ftp.ReadAsync();
        return (done.Code, done.Text, listing);
    }

    private static async Task<string> ReadAllAsync(TcpClient data)
    {
        using var buffer = new MemoryStream();
        await data.GetStream().CopyToAsync(buffer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Whole sessions until <paramref name="until"/>: null for each that went through, else what went wrong.</summary>
    private static async Task<List<string?>> SoakAsync(int port, int worker, DateTime until)
    {
        var results = new List<string?>();
        // One address per worker, as separate machines: the login guard counts logins in flight from one address against it.
        var from = IPAddress.Parse($"127.0.0.{2 + worker}");
        for (var round = 0; DateTime.UtcNow < until; round++)
        {
            try { results.Add(await SessionAsync(port, from, $"w{worker}-{round}.bin", Tools.RandomBytes(4096 + round, worker))); }
            catch (Exception e) { results.Add($"{worker}/{round}: {e.GetType().Name} {e.Message}"); }
        }
        return results;
    }

    private static async Task<string?> SessionAsync(int port, IPAddress from, string name, byte[] content)
    {
        await using var ftp = await RawFtp.LoginAsync(port, from: from);
        await ftp.UploadAsync(name, content);
        using (var data = await ftp.EpsvAsync())
        {
            var opening = await ftp.SendAsync($"RETR {name}");
            if (opening.Code != 150) return $"RETR {name}: {opening.Text}";
            using var back = new MemoryStream();
            await data.GetStream().CopyToAsync(back);
            if (!back.ToArray().AsSpan().SequenceEqual(content)) return $"RETR {name}: other bytes came back";
            if (await ftp.ReadAsync() is { Code: not 226 } retr) return $"RETR {name}: {retr.Text}";
        }
        var (code, text, listing) = await ListAsync(ftp, "NLST");
        if (code != 226) return $"NLST: {text}";
        if (!listing.Split("\r\n").Contains(name)) return $"NLST does not show {name}";
        if (await ftp.SendAsync($"DELE {name}") is { Code: not 250 } dele) return $"DELE {name}: {dele.Text}";
        return (await ftp.SendAsync("QUIT")).Code == 221 ? null : "QUIT";
    }
}
