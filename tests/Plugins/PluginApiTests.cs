using System.Text;
using ScriptFtp.Tests.Support;
using static ScriptFtp.Tests.Plugins.PluginTestServer;

using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Plugins;

/// <summary>The script API over real sockets: one server, its test plugins compiled once for the whole fixture.</summary>
[TestFixture]
public sealed class PluginApiTests
{
    private const string Greet = """
        AddCommand("HELLO", Access.Anyone, "HELLO", "Say hello.", ctx =>
            ctx.Reply(200, $"Hello, {ctx.User?.Name ?? "stranger"} from {ctx.Session.RemoteAddress} in {ctx.Session.Directory}."));
        AddCommand("SESSIONID", Access.Anyone, "SESSIONID", "Which session am I?", ctx => ctx.Reply(200, ctx.Session.Id));
        AddCommand("ASYNCHELLO", Access.LoggedIn, "ASYNCHELLO", "Say hello later.", async ctx =>
        {
            await Task.Delay(10, ctx.Cancel);
            return ctx.Reply(200, "Hello, asynchronously.");
        });
        AddSiteCommand("WHOAMI", Access.LoggedIn, "WHOAMI", "Your user.", ctx => ctx.Reply(200, $"{ctx.Request!.Verb}: {ctx.User!.Name} admin={ctx.User.Admin} arg={ctx.Argument}"));
        """;

    // Overrides SIZE: hides *.secret files, and for anything else asks for the built-in it replaced.
    private const string Override = """
        AddCommand("SIZE", Access.LoggedIn, "SIZE <file>", "Size of a file, secrets hidden.", ctx =>
            ctx.Argument.EndsWith(".secret") ? ctx.Reply(550, "That file is secret.") : ctx.BuiltIn());
        """;

    private const string Events = """
        void Record(PluginContext ctx, string kind, string detail = "") =>
            ctx.Log.Information("EVENT {Kind} {Id} {User} {Detail}", kind, ctx.Session.Id, ctx.Session.User ?? "-", detail);
        OnConnected(ctx => Record(ctx, "connected"));
        OnLogin(ctx => Record(ctx, "login"));
        OnLoginFailed((ctx, name) => Record(ctx, "loginfailed", name));
        OnBeforeUpload((ctx, path) =>
        {
            Record(ctx, "beforeupload", path);
            return path.Contains("forbidden") ? ctx.Reply(553, "Forbidden name.") : null;
        });
        OnFileReceived(async (ctx, path, bytes) => { await Task.Yield(); Record(ctx, "received", $"{path}:{bytes}"); });
        OnFileSent((ctx, path, bytes) => Record(ctx, "sent", $"{path}:{bytes}"));
        OnDisconnected(ctx => Record(ctx, "disconnected"));
        """;

    private const string Faulty = """
        AddCommand("THROW", Access.Anyone, "THROW", "Fails.", ctx => throw new InvalidOperationException("plugin bug"));
        AddCommand("SLOW", Access.Anyone, "SLOW", "Waits politely.", async ctx => { await Task.Delay(Timeout.Infinite, ctx.Cancel); return ctx.Reply(200, "never"); });
        AddCommand("BLOCK", Access.Anyone, "BLOCK", "Blocks a thread.", ctx => { Thread.Sleep(3000); return ctx.Reply(200, "late"); });
        """;

    private PluginTestServer server = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => server = await PluginTestServer.StartAsync(new Dictionary<string, string>
    {
        ["greet.csx"] = Greet,
        ["override.csx"] = Override,
        ["events.csx"] = Events,
        ["faulty.csx"] = Faulty,
    }, c => c with { PluginTimeout = TimeSpan.FromSeconds(1) });

    [OneTimeTearDown]
    public async Task StopAsync() => await server.DisposeAsync();

    [Test]
    public void All_test_plugins_load()
    {
        server.Plugins.Errors.ShouldBeEmpty();
        server.Plugins.Loaded.ShouldBe(["events", "faulty", "greet", "override"]);
    }

    [Test]
    public async Task A_new_verb_answers_before_and_after_login()
    {
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("hello")).ShouldBe((200, "200 Hello, stranger from 127.0.0.1 in /."));
        (await ftp.SendAsync("USER demo")).Code.ShouldBe(331);
        (await ftp.SendAsync("PASS demo-pass")).Code.ShouldBe(230);
        (await ftp.SendAsync("HELLO")).Text.ShouldBe("200 Hello, demo from 127.0.0.1 in /.");
        (await ftp.SendAsync("ASYNCHELLO")).Text.ShouldBe("200 Hello, asynchronously.");
    }

    [Test]
    public async Task Access_is_checked_before_the_handler()
    {
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("ASYNCHELLO")).Code.ShouldBe(530);
    }

    [Test]
    public async Task A_site_subcommand_gets_its_own_argument_and_is_listed_by_site_help()
    {
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        (await ftp.SendAsync("SITE whoami with words")).Text.ShouldBe("200 SITE WHOAMI: demo admin=False arg=with words");
        (await ftp.SendAsync("SITE HELP")).Text.ShouldContain("SITE WHOAMI");
        (await ftp.SendAsync("HELP")).Text.ShouldContain("HELLO");
    }

    [Test]
    public async Task An_override_can_answer_itself_or_delegate_to_the_built_in()
    {
        Directory.CreateDirectory(server.Server.DemoHome);
        await File.WriteAllTextAsync(Path.Combine(server.Server.DemoHome, "plain.txt"), "12345");
        await File.WriteAllTextAsync(Path.Combine(server.Server.DemoHome, "key.secret"), "x");
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        (await ftp.SendAsync("SIZE plain.txt")).Text.ShouldBe("213 5");
        (await ftp.SendAsync("SIZE key.secret")).Text.ShouldBe("550 That file is secret.");
        (await ftp.SendAsync("SIZE missing.txt")).Code.ShouldBe(550);
        // The built-in's own rules still apply when the plugin delegates.
        (await ftp.SendAsync("SIZE")).Code.ShouldBe(501);
    }

    [Test]
    public async Task Each_event_fires_once_per_occurrence_with_the_right_session()
    {
        string id;
        await using (var ftp = await RawFtp.ConnectAsync(server.Port))
        {
            id = (await ftp.SendAsync("SESSIONID")).Text[4..];
            (await ftp.SendAsync("USER demo")).Code.ShouldBe(331);
            (await ftp.SendAsync("PASS wrong")).Code.ShouldBe(530);
            (await ftp.SendAsync("USER demo")).Code.ShouldBe(331);
            (await ftp.SendAsync("PASS demo-pass")).Code.ShouldBe(230);
            (await UploadAsync(ftp, $"events-{id}.txt", Encoding.UTF8.GetBytes("hello events"))).Code.ShouldBe(226);
            var (code, content) = await DownloadAsync(ftp, $"events-{id}.txt");
            code.ShouldBe(226);
            content.Length.ShouldBe(12);
            (await ftp.SendAsync("QUIT")).Code.ShouldBe(221);
        }
        string[] Mine() => [.. server.Server.Log.Events.Select(e => e.RenderMessage()).Where(m => m.StartsWith("EVENT ") && m.Split(' ')[2].Trim('"') == id)];
        (await Tools.EventuallyAsync(() => Mine().Any(m => m.Contains("disconnected")))).ShouldBeTrue("the disconnected event");
        Mine().Select(m => m.Replace("\"", "")).ShouldBe(
        [
            $"EVENT connected {id} - ",
            $"EVENT loginfailed {id} - demo",
            $"EVENT login {id} demo ",
            $"EVENT beforeupload {id} demo /events-{id}.txt",
            $"EVENT received {id} demo /events-{id}.txt:12",
            $"EVENT sent {id} demo /events-{id}.txt:12",
            $"EVENT disconnected {id} demo ",
        ]);
    }

    [Test]
    public async Task A_refusal_before_upload_is_the_reply_and_leaves_no_file()
    {
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        (await UploadAsync(ftp, "forbidden.txt", [1, 2, 3])).ShouldBe((553, "553 Forbidden name."));
        File.Exists(Path.Combine(server.Server.DemoHome, "forbidden.txt")).ShouldBeFalse();
        Directory.GetFiles(server.Server.DemoHome, ".scriptftp-*").ShouldBeEmpty();
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
    }

    [Test]
    public async Task A_throwing_handler_becomes_451_and_the_session_goes_on()
    {
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        var (code, text) = await ftp.SendAsync("THROW");
        code.ShouldBe(451);
        text.ShouldContain("faulty plugin");
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
        server.Server.Log.Events.ShouldContain(e => e.Level == Serilog.Events.LogEventLevel.Error && e.Exception!.Message == "plugin bug");
    }

    [TestCase("SLOW")]
    [TestCase("BLOCK")]
    public async Task A_handler_past_the_time_limit_gets_451_at_the_limit(string verb)
    {
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (code, text) = await ftp.SendAsync(verb);
        watch.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(2.5));
        code.ShouldBe(451);
        text.ShouldContain("did not answer within 1 s");
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);
    }
}
