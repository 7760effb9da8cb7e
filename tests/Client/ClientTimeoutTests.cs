using System.Net;
using System.Net.Sockets;
using System.Text;
using ScriptFtp.Client;

namespace ScriptFtp.Tests.Client;

// Servers that stop answering: the client must give up after --timeout, not hang forever.
public class ClientTimeoutTests
{
    string local = null!;

    [SetUp]
    public void SetUp() => local = Directory.CreateTempSubdirectory("scriptftp-client-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(local, recursive: true);

    [Test]
    public async Task A_server_that_stops_replying_ends_the_client_with_exit_code_1()
    {
        await using var server = new SilentServer(answers: line => line.StartsWith("USER") ? null : "500 unexpected");
        var error = new StringWriter();

        // The fake server knows no TLS.
        var exitCode = await Repl.RunAsync(["127.0.0.1", server.Port.ToString(), "--timeout", "1", "--plain"],
            new ScriptReader("demo", "pw", "pwd"), new StringWriter(), error, local, interactive: false).WaitAsync(TimeSpan.FromSeconds(30));

        exitCode.ShouldBe(1);
        error.ToString().ShouldContain("did not reply within 1 seconds");
    }

    [Test]
    public async Task A_download_that_stalls_is_given_up_without_leaving_a_file_and_the_session_goes_on()
    {
        await using var server = new SilentServer(answers: null);
        var output = new StringWriter();
        var error = new StringWriter();

        var exitCode = await Repl.RunAsync(["127.0.0.1", server.Port.ToString(), "--timeout", "1", "--plain"],
            new ScriptReader("demo", "pw", "RETR stuck.bin", "pwd"), output, error, local, interactive: false).WaitAsync(TimeSpan.FromSeconds(30));

        error.ToString().ShouldContain("nothing moved for 1 seconds");
        output.ToString().ShouldContain("/home");
        exitCode.ShouldBe(1, "a failed command makes a script fail");
        Directory.GetFileSystemEntries(local).ShouldBeEmpty();
        server.DataClosed.ShouldBeTrue("the client should drop the stalled data connection");
    }

    [Test]
    public void The_timeout_must_be_a_positive_number_of_seconds()
    {
        ReplOptions.Parse(["--timeout", "2.5"]).Timeout.ShouldBe(TimeSpan.FromSeconds(2.5));
        ReplOptions.Parse([]).Timeout.ShouldBe(TimeSpan.FromSeconds(60));
        Should.Throw<ArgumentException>(() => ReplOptions.Parse(["--timeout", "0"]));
        Should.Throw<ArgumentException>(() => ReplOptions.Parse(["--timeout", "soon"]));
    }

    /// <summary>
    /// A one-session FTP server on loopback. By default it logs in anyone, answers PWD, and starts a download whose
    /// data connection sends a few bytes and then nothing; <c>answers</c> replaces that script (null reply: stay silent).
    /// </summary>
    sealed class SilentServer : IAsyncDisposable
    {
        readonly TcpListener listener = new(IPAddress.Loopback, 0);
        readonly CancellationTokenSource stop = new();
        readonly Task session;
        TcpListener? passive;

        public SilentServer(Func<string, string?>? answers)
        {
            listener.Start();
            session = Task.Run(() => RunAsync(answers ?? Default));
        }

        public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

        public bool DataClosed { get; private set; }

        string? Default(string line) => line.Split(' ')[0].ToUpperInvariant() switch
        {
            "USER" => "331 password please",
            "PASS" => "230 in",
            "TYPE" => "200 binary",
            "PWD" => "257 \"/home\"",
            "SIZE" => "213 1000000",
            "EPSV" => $"229 Entering Extended Passive Mode (|||{OpenPassive()}|)",
            "RETR" => "150 here it comes",
            "QUIT" => "221 bye",
            _ => "502 not here",
        };

        int OpenPassive()
        {
            passive = new TcpListener(IPAddress.Loopback, 0);
            passive.Start();
            _ = Task.Run(StallAsync);
            return ((IPEndPoint)passive.LocalEndpoint).Port;
        }

        async Task StallAsync()
        {
            using var data = await passive!.AcceptTcpClientAsync(stop.Token);
            var stream = data.GetStream();
            await stream.WriteAsync(new byte[1000], stop.Token);
            var buffer = new byte[16];
            try { DataClosed = await stream.ReadAsync(buffer, stop.Token) == 0; }
            catch (IOException) { DataClosed = true; }
        }

        async Task RunAsync(Func<string, string?> answers)
        {
            using var client = await listener.AcceptTcpClientAsync(stop.Token);
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.UTF8);
            async Task Send(string reply) => await stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\r\n"), stop.Token);
            await Send("220 fake server");
            while (await reader.ReadLineAsync(stop.Token) is { } line)
            {
                if (line.StartsWith("RETR") && answers(line) is { } started)
                {
                    await Send(started);
                    // The verdict on a transfer comes when the client drops the stalled data connection.
                    while (!DataClosed) await Task.Delay(20, stop.Token);
                    await Send("426 transfer aborted");
                    continue;
                }
                if (answers(line) is { } reply) await Send(reply);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            passive?.Stop();
            try { await session; } catch (OperationCanceledException) { } catch (SocketException) { } catch (IOException) { }
            stop.Dispose();
        }
    }
}
