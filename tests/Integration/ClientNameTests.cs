using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>CLNT over a real connection: the reply, and the name in the session's log lines.</summary>
public class ClientNameTests
{
    [Test]
    public async Task Clnt_answers_200_and_the_session_log_names_the_client_from_then_on()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        var reply = await ftp.SendAsync("CLNT Test\u0007Client 1.0");
        reply.Code.ShouldBe(200, reply.Text);
        (await ftp.LoginAsync(TestServer.DemoUser, TestServer.DemoPassword)).Code.ShouldBe(230);
        (await ftp.SendAsync("NOOP")).Code.ShouldBe(200);

        string[] SessionOf(string message) => [.. server.Log.Events
            .Where(e => e.RenderMessage().Contains(message, StringComparison.Ordinal) && e.Properties.ContainsKey("Session"))
            .Select(e => e.Properties["Session"].ToString())];
        SessionOf("Client: \"TestClient 1.0\"").ShouldHaveSingleItem().ShouldContain("(TestClient 1.0)");
        SessionOf("Logged in").ShouldHaveSingleItem().ShouldContain($" {TestServer.DemoUser} (TestClient 1.0)]");
        var noop = SessionOf("NOOP");
        noop.ShouldNotBeEmpty();
        noop.ShouldAllBe(session => session.Contains("(TestClient 1.0)"));
    }
}
