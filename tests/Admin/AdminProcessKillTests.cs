using System.Collections.Concurrent;
using System.Net.Sockets;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Admin;

/// <summary>
/// The real server process, SIGKILLed while several admin sessions add and delete users: the users file must always
/// parse, hold every acknowledged change, and let the server start again.
/// </summary>
[TestFixture]
public sealed class AdminProcessKillTests
{
    private const int Sessions = 4;

    /// <summary>What the sessions were told about one user name.</summary>
    private sealed class Fate
    {
        public volatile bool AddAcked, DeleteSent, DeleteAcked, AddSent;
    }

    private enum Expect { Present, Absent, Either }

    [Test]
    public async Task KilledMidStream_TheUsersFileParsesAndHoldsEveryAcknowledgedChange()
    {
        var folder = Path.Combine(Path.GetTempPath(), "scriptftp-admin-kill", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var config = Path.Combine(folder, "ftp.toml");
            File.WriteAllText(config, """
                [server]
                listen = "127.0.0.1"
                port = 0
                root = "root"
                users_file = "users.toml"

                [log]
                file = ""
                level = "Warning"

                [security]
                max_failed_logins = 10000
                login_delay = 0

                [plugins]
                folder = ""
                """);
            var usersFile = Path.Combine(folder, "users.toml");
            File.WriteAllText(usersFile, TestServer.DefaultUsersToml());
            var comments = Admin.Comments(TestServer.DefaultUsersToml()).ToList();
            var known = new Dictionary<string, bool>(); // name -> present after the last kill
            var random = new Random(4242);

            // Kill after a few, a few dozen and well over a hundred acknowledged commands.
            foreach (var (round, killAfter) in new[] { (0, 8), (1, 60), (2, 160) })
            {
                using var server = await ServerProcess.StartAsync(config);
                if (round > 0) await CheckLoginsAsync(server.Port, known);

                var fates = new ConcurrentDictionary<string, Fate>();
                var acks = 0;
                var enough = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var sessions = Enumerable.Range(0, Sessions).Select(s => Task.Run(() => RunSessionAsync(server.Port, $"r{round}s{s}", fates, () =>
                {
                    if (Interlocked.Increment(ref acks) >= killAfter) enough.TrySetResult();
                }))).ToList();

                var reached = await Task.WhenAny(enough.Task, Task.WhenAll(sessions), Task.Delay(TimeSpan.FromSeconds(30)));
                reached.ShouldBe(enough.Task, $"round {round}: the sessions stopped or stalled before {killAfter} acknowledgements: {Faults(sessions)} {server.Output}");
                await Task.Delay(random.Next(0, 40)); // land somewhere inside the next write
                server.Kill();
                await Task.WhenAll(sessions).WaitAsync(TimeSpan.FromSeconds(30));

                var text = File.ReadAllText(usersFile);
                var document = ScriptFtp.Toml.Toml.Parse(text, usersFile); // must parse
                var users = document.TryGetValue("users", out var u) ? (ScriptFtp.Toml.TomlTable)u : ScriptFtp.Toml.TomlTable.Empty;
                users.ContainsKey(TestServer.AdminUser).ShouldBeTrue();
                users.ContainsKey(TestServer.DemoUser).ShouldBeTrue();
                foreach (var comment in comments) text.ShouldContain(comment);
                foreach (var (name, present) in known)
                    users.ContainsKey(name).ShouldBe(present, $"{name} changed although nobody touched it in round {round}");

                var acknowledged = 0;
                foreach (var (name, fate) in fates)
                {
                    var expect = Expected(fate);
                    if (fate.AddAcked) acknowledged++;
                    if (fate.DeleteAcked) acknowledged++;
                    if (expect == Expect.Present) users.ContainsKey(name).ShouldBeTrue($"round {round}: ADDUSER {name} was acknowledged but the user is missing");
                    if (expect == Expect.Absent) users.ContainsKey(name).ShouldBeFalse($"round {round}: DELUSER {name} was acknowledged but the user is still there");
                    known[name] = users.ContainsKey(name);
                }
                acknowledged.ShouldBeGreaterThanOrEqualTo(killAfter);
                TestContext.Progress.WriteLine($"round {round}: {acknowledged} acknowledged commands, {users.Count} users in the file, {fates.Count(f => Expected(f.Value) == Expect.Either)} in flight at the kill");
            }

            // The file left by the last kill still starts a server with every user it holds.
            using var last = await ServerProcess.StartAsync(config);
            await CheckLoginsAsync(last.Port, known);
            await using var admin = await RawFtp.LoginAsync(last.Port, TestServer.AdminUser, TestServer.AdminPassword);
            (await admin.SendAsync("ADDUSER afterwards after-pass")).Code.ShouldBe(200);
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static Expect Expected(Fate fate) => fate switch
    {
        { AddAcked: false } => Expect.Either,        // in flight at the kill (or never answered)
        { DeleteAcked: true } => Expect.Absent,
        { DeleteSent: true } => Expect.Either,       // the delete was in flight
        _ => Expect.Present,
    };

    private static string Faults(IEnumerable<Task> sessions) =>
        string.Join("; ", sessions.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!.Message));

    /// <summary>One admin session: ADDUSER, and DELUSER of every other user it added, until the server goes away.</summary>
    private static async Task RunSessionAsync(int port, string prefix, ConcurrentDictionary<string, Fate> fates, Action acknowledged)
    {
        await using var admin = await RawFtp.LoginAsync(port, TestServer.AdminUser, TestServer.AdminPassword);
        var added = new Queue<string>();
        for (var j = 0; ; j++)
        {
            string command;
            Fate fate;
            bool delete = j % 3 == 2 && added.Count > 0;
            string name;
            if (delete)
            {
                name = added.Dequeue();
                fate = fates[name];
                command = j % 2 == 0 ? $"DELUSER {name}" : $"SITE DELUSER {name}";
                fate.DeleteSent = true;
            }
            else
            {
                name = $"{prefix}u{j}";
                fate = fates.GetOrAdd(name, _ => new Fate());
                command = j % 2 == 0 ? $"ADDUSER {name} pw-{name}" : $"SITE ADDUSER {name} pw-{name}";
                fate.AddSent = true;
            }

            (int Code, string Text) reply;
            try { reply = await admin.SendAsync(command, TimeSpan.FromSeconds(20)); }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { return; }
            if (reply.Code == 0) return; // killed: this command's fate is unknown
            if (reply.Code is < 200 or >= 300) throw new InvalidOperationException($"{command}: {reply.Text}");
            if (delete) fate.DeleteAcked = true;
            else
            {
                fate.AddAcked = true;
                if (j % 2 == 0) added.Enqueue(name); // delete every other added user later
            }
            acknowledged();
        }
    }

    /// <summary>Logs in as a few users known present and checks a few known absent ones are refused.</summary>
    private static async Task CheckLoginsAsync(int port, Dictionary<string, bool> known)
    {
        foreach (var (name, _) in known.Where(k => k.Value).Take(2))
            (await Admin.TryLoginAsync(port, name, $"pw-{name}")).Code.ShouldBe(230, name);
        foreach (var (name, _) in known.Where(k => !k.Value).Take(2))
            (await Admin.TryLoginAsync(port, name, $"pw-{name}")).Code.ShouldBe(530, name);
        (await Admin.TryLoginAsync(port, TestServer.DemoUser, TestServer.DemoPassword)).Code.ShouldBe(230);
    }
}
