using System.Collections.Concurrent;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Admin.Admin;

namespace ScriptFtp.Tests.Admin;

/// <summary>Several admin sessions changing the users at the same time.</summary>
[TestFixture]
public sealed class AdminConcurrencyTests
{
    [Test]
    public async Task ConcurrentAddUsers_FromSeveralAdminSessions_EveryAcknowledgedUserIsInTheFile()
    {
        const int Sessions = 4, PerSession = 20;
        await using var server = await StartAsync(TwoAdminsToml());
        var before = File.ReadAllText(server.UsersFile);
        var acknowledged = new ConcurrentBag<string>();

        var admins = await Task.WhenAll(Enumerable.Range(0, Sessions).Select(i =>
            i % 2 == 0 ? RawFtp.LoginAsync(server.Port, Adm, AdmPass) : RawFtp.LoginAsync(server.Port, "boss", "boss-pass")));
        try
        {
            await Task.WhenAll(admins.Select((admin, s) => Task.Run(async () =>
            {
                for (var j = 0; j < PerSession; j++)
                {
                    var name = $"c{s}_{j}";
                    var reply = await admin.SendAsync(j % 2 == 0 ? $"ADDUSER {name} pw-{name}" : $"SITE ADDUSER {name} pw-{name}");
                    reply.Code.ShouldBe(200, reply.Text);
                    acknowledged.Add(name);
                }
            })));
        }
        finally
        {
            foreach (var admin in admins) await admin.DisposeAsync();
        }

        acknowledged.Count.ShouldBe(Sessions * PerSession);
        var users = UsersTable(server.UsersFile);
        foreach (var name in acknowledged)
        {
            users.ContainsKey(name).ShouldBeTrue($"{name} was acknowledged but is not in the file");
            Directory.Exists(Path.Combine(server.Root, name)).ShouldBeTrue(name);
        }
        users.Count.ShouldBe(3 + Sessions * PerSession);
        var after = File.ReadAllText(server.UsersFile);
        after.ShouldStartWith(before, Case.Sensitive);
        (await TryLoginAsync(server.Port, "c0_0", "pw-c0_0")).Code.ShouldBe(230);
        (await TryLoginAsync(server.Port, $"c{Sessions - 1}_{PerSession - 1}", $"pw-c{Sessions - 1}_{PerSession - 1}")).Code.ShouldBe(230);
        Directory.GetFiles(Path.GetDirectoryName(server.UsersFile)!, "*.tmp").ShouldBeEmpty("no temp files may be left behind");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task TheSameNameAddedFromSeveralSessionsAtOnce_ExactlyOneWins()
    {
        const int Sessions = 5;
        await using var server = await StartAsync();
        var admins = await Task.WhenAll(Enumerable.Range(0, Sessions).Select(_ => RawFtp.LoginAsync(server.Port, Adm, AdmPass)));
        try
        {
            var replies = await Task.WhenAll(admins.Select((admin, i) => admin.SendAsync($"ADDUSER racer password-{i}")));

            replies.Count(r => r.Code == 200).ShouldBe(1, string.Join(" | ", replies.Select(r => r.Text)));
            replies.Where(r => r.Code != 200).ShouldAllBe(r => r.Code == 550 && r.Text.Contains("already exists"));
            var winner = Array.FindIndex(replies, r => r.Code == 200);
            (await TryLoginAsync(server.Port, "racer", $"password-{winner}")).Code.ShouldBe(230);
            File.ReadAllText(server.UsersFile).Split("[users.racer]").Length.ShouldBe(2, "the user must be in the file once");
        }
        finally
        {
            foreach (var admin in admins) await admin.DisposeAsync();
        }
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task ConcurrentAddsAndBans_LeaveAConsistentFile()
    {
        await using var server = await StartAsync();
        await using var adder = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        await using var banner = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        await using var victim = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);

        var adds = Task.Run(async () =>
        {
            for (var i = 0; i < 15; i++) (await adder.SendAsync($"ADDUSER m{i} pw{i}")).Code.ShouldBe(200);
        });
        var bans = Task.Run(async () =>
        {
            for (var i = 0; i < 8; i++)
            {
                (await banner.SendAsync($"BAN {Demo}")).Code.ShouldBe(200);
                (await banner.SendAsync($"UNBAN {Demo}")).Code.ShouldBe(200);
            }
            (await banner.SendAsync($"BAN {Demo}")).Code.ShouldBe(200);
        });
        await Task.WhenAll(adds, bans);

        (await victim.ReadAsync(TimeSpan.FromSeconds(5))).Code.ShouldBe(421);
        var users = UsersTable(server.UsersFile);
        for (var i = 0; i < 15; i++) users.ContainsKey($"m{i}").ShouldBeTrue();
        ((bool)((ScriptFtp.Toml.TomlTable)users[Demo])["banned"]).ShouldBeTrue();
        server.ShouldHaveLoggedNoErrors();
    }
}
