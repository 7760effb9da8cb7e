using System.Net;

namespace ScriptFtp.Tests.Effects;

/// <summary>The plugin interpreter with recording hooks instead of loaded scripts.</summary>
public class PluginEventsTests
{
    private static readonly SessionView Session = new("7", IPAddress.Loopback, "alice", "/d", DateTimeOffset.UnixEpoch);

    private sealed class Recorder : IServerHooks
    {
        public List<string> Calls { get; } = [];
        public CommandTable Commands => Protocol.BuiltIns;
        public void Connected(SessionView session) => Calls.Add("connected");
        public void LoggedIn(SessionView session) => Calls.Add($"login {session.User}");
        public void LoginFailed(SessionView session, string userName) => Calls.Add($"login failed {userName}");
        public Task<UploadVerdict> BeforeUploadAsync(SessionView session, UserFiles files, string virtualPath, CancellationToken cancel) =>
            Task.FromResult(UploadVerdict.Go);
        public void FileReceived(SessionView session, string virtualPath, long bytes) => Calls.Add($"received {virtualPath} {bytes}");
        public void FileSent(SessionView session, string virtualPath, long bytes) => Calls.Add($"sent {virtualPath} {bytes}");
        public void FileDeleted(SessionView session, string virtualPath, long bytes) => Calls.Add($"deleted {virtualPath} {bytes}");
        public void Disconnected(SessionView session) => Calls.Add("disconnected");
    }

    [Test]
    public async Task Each_event_the_core_announces_reaches_its_hook()
    {
        var hooks = new Recorder();
        PluginEvent[] events = [new PluginEvent.LoggedIn(), new PluginEvent.LoginFailed("bob"), new PluginEvent.FileSent("/a", 1),
            new PluginEvent.FileReceived("/b", 2), new PluginEvent.FileDeleted("/c", 3)];
        foreach (var happened in events)
            (await PluginEvents.PerformAsync(new Effect.Notify(happened), hooks, Session, null, CancellationToken.None))
                .ShouldBeOfType<EffectResult.Done>();
        hooks.Calls.ShouldBe(["login alice", "login failed bob", "sent /a 1", "received /b 2", "deleted /c 3"]);
    }

    [Test]
    public async Task A_plugin_command_runs_its_handler_for_the_session_and_request()
    {
        (SessionView, Request)? seen = null;
        PluginHandler handler = (session, request, _, _, _) =>
        {
            seen = (session, request);
            return Task.FromResult(new EffectResult.PluginReply(new Reply(200, "hi")));
        };
        var request = new Request("HELLO", "there");
        var result = await PluginEvents.PerformAsync(new Effect.RunPlugin("hello.csx", request, handler), new Recorder(), Session, null,
            CancellationToken.None);
        result.ShouldBe(new EffectResult.PluginReply(new Reply(200, "hi")));
        seen.ShouldBe((Session, request));
    }
}
