using System.Net;
using System.Net.Sockets;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Admin.Admin;

namespace ScriptFtp.Tests.Admin;

/// <summary>Names and situations at the edges of the admin commands.</summary>
[TestFixture]
public sealed class AdminEdgeCaseTests
{
    [TestCase("a.b")]
    [TestCase("x.y.z")]
    [TestCase("_under")]
    [TestCase("9lives")]
    [TestCase("true")]
    [TestCase("users")]
    public async Task AddUser_NamesThatNeedQuotingInToml_RoundTripThroughTheFileAndARestart(string name)
    {
        using var folder = new SharedFolder();
        await using (var server = await StartAsync(folder: folder))
        {
            await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
            var reply = await admin.SendAsync($"ADDUSER {name} pw-{name}");
            reply.Code.ShouldBe(200, reply.Text);
            (await TryLoginAsync(server.Port, name, $"pw-{name}")).Code.ShouldBe(230);
            UsersTable(server.UsersFile).ContainsKey(name).ShouldBeTrue(File.ReadAllText(server.UsersFile));
            (await admin.SendAsync($"BAN {name}")).Code.ShouldBe(200);
            (await admin.SendAsync($"UNBAN {name}")).Code.ShouldBe(200);
            server.ShouldHaveLoggedNoErrors();
        }
        await using var again = await StartAsync(folder: folder);
        (await TryLoginAsync(again.Port, name, $"pw-{name}")).Code.ShouldBe(230);
        await using var admin2 = await RawFtp.LoginAsync(again.Port, Adm, AdmPass);
        (await admin2.SendAsync($"DELUSER {name}")).Code.ShouldBe(200);
        UsersTable(again.UsersFile).ContainsKey(name).ShouldBeFalse();
        (await TryLoginAsync(again.Port, Demo, DemoPass)).Code.ShouldBe(230);
        again.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task AddUser_WhenAFileBlocksTheHomeFolder_IsRefused_OrTheLoginIsAnswered()
    {
        // A user whose home is the root (or a hand-made file) can leave a plain file where a new user's folder would go.
        await using var server = await StartAsync();
        File.WriteAllText(Path.Combine(server.Root, "nora"), "a file where the home folder would go");
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        var bytes = File.ReadAllBytes(server.UsersFile);

        var reply = await admin.SendAsync("ADDUSER nora nora-pass");

        reply.Code.ShouldBeOneOf([200, 550], reply.Text);
        if (reply.Code == 550)
        {
            File.ReadAllBytes(server.UsersFile).ShouldBe(bytes, "a refused ADDUSER must not change the file");
            return;
        }
        // Accepted: then logging in must at least get an answer, not a silently dropped connection.
        await using var nora = await RawFtp.ConnectAsync(server.Port);
        (await nora.SendAsync("USER nora")).Code.ShouldBe(331);
        var login = await nora.SendAsync("PASS nora-pass", TimeSpan.FromSeconds(10));
        login.Code.ShouldNotBe(0, $"ADDUSER said \"{reply.Text}\", but PASS got no reply: the server closed the connection");
    }

    [TestCase("BAN")]
    [TestCase("DELUSER")]
    public async Task UserInTheMiddleOfAnUpload_IsCutOffAtOnce(string verb)
    {
        await using var server = await StartAsync();
        await using var admin = await RawFtp.LoginAsync(server.Port, Adm, AdmPass);
        await using var demo = await RawFtp.LoginAsync(server.Port, Demo, DemoPass);
        var (code, text) = await demo.SendAsync("EPSV");
        code.ShouldBe(229, text);
        using var data = new TcpClient(AddressFamily.InterNetwork);
        await data.ConnectAsync(IPAddress.Loopback, int.Parse(text.Split('|')[3], System.Globalization.CultureInfo.InvariantCulture));
        await demo.SendLineAsync("STOR big.bin");
        (await demo.ReadAsync()).Code.ShouldBe(150);
        await data.GetStream().WriteAsync(new byte[64 * 1024]); // and then the upload stalls, as a slow client would

        var watch = System.Diagnostics.Stopwatch.StartNew();
        (await admin.SendAsync($"{verb} {Demo}")).Code.ShouldBe(200);

        var replies = new List<(int Code, string Text)>();
        for (var i = 0; i < 3; i++)
        {
            var reply = await demo.ReadAsync(TimeSpan.FromSeconds(5));
            replies.Add(reply);
            if (reply.Code is 421 or 0) break;
        }
        replies.ShouldContain(r => r.Code == 421, string.Join(" | ", replies));
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(3), "the running transfer must not keep the session alive");
        (await demo.ClosedAsync()).ShouldBeTrue();
        File.Exists(Path.Combine(server.DemoHome, "big.bin")).ShouldBeFalse("an upload cut short is not stored under its name");
    }
}
