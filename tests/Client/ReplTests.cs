using System.Security.Cryptography;
using ScriptFtp.Client;
using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Client;

// Drives Repl.RunAsync with a script, as a redirected stdin would, against a real server. Both servers require TLS and
// their certificate is already trusted (as after a first "yes"; FtpsClientTests covers the first use).
[TestFixture(FtpTestServer.ScriptFtp)]
[TestFixture(FtpTestServer.Vsftpd)]
public class ReplTests(string serverKind)
{
    IFtpTestServer? server;
    string? localDirectory;
    string? knownHosts;

    IFtpTestServer Server => server!;
    string Local => localDirectory!;

    [SetUp]
    public async Task StartServer()
    {
        server = await FtpTestServer.StartAsync(serverKind);
        localDirectory = Directory.CreateTempSubdirectory("scriptftp-client-").FullName;
        knownHosts = FtpTestServer.TrustingKnownHosts(server);
    }

    [TearDown]
    public async Task StopServer()
    {
        if (server is not null)
            await server.DisposeAsync();
        if (localDirectory is not null)
            Directory.Delete(localDirectory, recursive: true);
        if (knownHosts is not null)
            FtpTestServer.DeleteKnownHosts(knownHosts);
    }

    [Test]
    public async Task Seed_flow_get_and_upload_then_exit()
    {
        await File.WriteAllTextAsync(Remote("a.txt"), "from the server");
        await File.WriteAllTextAsync(LocalFile("b.txt"), "from the client");

        var result = await RunAsync("get", "a.txt", "upload", "b.txt", "exit");

        result.ShouldSucceed();
        (await File.ReadAllTextAsync(LocalFile("a.txt"))).ShouldBe("from the server");
        (await File.ReadAllTextAsync(Remote("b.txt"))).ShouldBe("from the client");
        result.Output.ShouldContain("Downloaded a.txt -> a.txt: 15 bytes in ");
        result.Output.ShouldContain("Uploaded b.txt -> b.txt: 15 bytes in ");
        // Redirected input: no prompts in the way of scripts.
        result.Output.ShouldNotContain("Enter filename");
        result.Output.ShouldNotContain("ftp>");
    }

    [Test]
    public async Task Ftp_words_RETR_STOR_and_LIST_in_any_case()
    {
        await File.WriteAllTextAsync(Remote("r.txt"), "retrieved");
        await File.WriteAllTextAsync(LocalFile("s.txt"), "stored");

        var result = await RunAsync("RETR r.txt", "stor s.txt", "LIST", "ls");

        result.ShouldSucceed();
        (await File.ReadAllTextAsync(LocalFile("r.txt"))).ShouldBe("retrieved");
        (await File.ReadAllTextAsync(Remote("s.txt"))).ShouldBe("stored");
        result.Output.Split('\n').Count(l => l.TrimEnd().EndsWith(" s.txt", StringComparison.Ordinal)).ShouldBe(2);
    }

    // Over TLS every data connection must resume a session; an upload-only connection gives the client no chance to read
    // the tickets vsftpd sends on it unless the client reads it to its end.
    [Test]
    public async Task Uploads_in_a_row_then_a_listing()
    {
        foreach (var name in new[] { "u1.txt", "u2.txt", "u3.txt" })
            await File.WriteAllTextAsync(LocalFile(name), name);

        var result = await RunAsync("STOR u1.txt", "STOR u2.txt", "STOR u3.txt", "LIST");

        result.ShouldSucceed();
        foreach (var name in new[] { "u1.txt", "u2.txt", "u3.txt" })
            (await File.ReadAllTextAsync(Remote(name))).ShouldBe(name);
        result.Output.ShouldContain(" u3.txt");
    }

    [Test]
    public async Task Exit_sends_QUIT_and_end_of_input_acts_as_exit()
    {
        (await RunWithArgsAsync(["--verbose"], "exit")).Output.ShouldContain("--> QUIT");
        var endOfInput = await RunWithArgsAsync(["--verbose"]);
        endOfInput.ShouldSucceed();
        endOfInput.Output.ShouldContain("--> QUIT");
    }

    [Test]
    public async Task A_download_never_overwrites_a_local_file()
    {
        await File.WriteAllTextAsync(Remote("a.txt"), "remote");
        await File.WriteAllTextAsync(LocalFile("a.txt"), "precious");

        var result = await RunAsync("RETR a.txt", "get", "a.txt");

        result.ShouldSucceed();
        (await File.ReadAllTextAsync(LocalFile("a.txt"))).ShouldBe("precious");
        (await File.ReadAllTextAsync(LocalFile("new_a.txt"))).ShouldBe("remote");
        (await File.ReadAllTextAsync(LocalFile("new_new_a.txt"))).ShouldBe("remote");
        result.Output.ShouldContain("saved as new_a.txt");
        result.Output.ShouldContain("Downloaded a.txt -> new_new_a.txt");
        Directory.GetFiles(Local).Length.ShouldBe(3, "no temporary files left behind");
    }

    [Test]
    public async Task A_remote_path_saves_under_its_file_name()
    {
        Directory.CreateDirectory(Remote("dir"));
        await File.WriteAllTextAsync(Remote("dir/deep.txt"), "deep");

        var result = await RunAsync("RETR dir/deep.txt");

        result.ShouldSucceed();
        (await File.ReadAllTextAsync(LocalFile("deep.txt"))).ShouldBe("deep");
    }

    [Test]
    public async Task A_missing_local_file_is_reported_before_anything_is_sent()
    {
        var result = await RunWithArgsAsync(["--verbose"], "STOR missing.txt", "upload", "missing.txt");

        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain("Local file not found: missing.txt");
        result.Output.ShouldNotContain("--> STOR");
        result.Output.ShouldNotContain("--> EPSV");
        File.Exists(Remote("missing.txt")).ShouldBeFalse();
    }

    [Test]
    public async Task A_server_error_is_shown_and_the_session_goes_on()
    {
        await File.WriteAllTextAsync(Remote("there.txt"), "ok");

        var result = await RunAsync("RETR nope.txt", "RETR there.txt");

        result.ExitCode.ShouldBe(1, "a command failed");
        result.Error.ShouldStartWith("550 ");
        (await File.ReadAllTextAsync(LocalFile("there.txt"))).ShouldBe("ok");
        Directory.GetFiles(Local).Select(Path.GetFileName).ShouldBe(["there.txt"], "a failed download leaves nothing behind");
    }

    [Test]
    public async Task Raw_commands_and_admin_verbs_show_the_server_reply()
    {
        var result = await RunAsync("quote NOOP", "pwd", "cd .", "UNBAN 10.9.8.7", "NOOP");

        result.ExitCode.ShouldBe(1, "UNBAN is refused (the test user is no admin) and the input is not interactive");
        var shown = Tools.Lines(result.Output);
        shown.Length.ShouldBe(3, result.Output);
        shown[0].ShouldStartWith("200 ", customMessage: "the reply to quote NOOP");
        // pwd prints the login directory: ScriptFtp's virtual root, vsftpd's (not chrooted) real path.
        shown[1].ShouldBe(serverKind == FtpTestServer.ScriptFtp ? "/" : Server.RootDirectory);
        shown[2].ShouldStartWith("250 ", customMessage: "the reply to cd .");
        // The admin verb goes to the server as it was typed, and the server's refusal is what the user sees.
        var refusals = Tools.Lines(result.Error);
        refusals.Length.ShouldBe(2, result.Error);
        if (serverKind == FtpTestServer.ScriptFtp)
            refusals[0].ShouldBe("550 Permission denied: administrators only.");
        else
            refusals[0].ShouldStartWith("500 ", customMessage: "a standard server knows no UNBAN");
        // NOOP is no client word.
        refusals[1].ShouldStartWith("Unknown command 'NOOP'");
    }

    [Test]
    public async Task A_refused_login_says_why_and_asks_again()
    {
        var result = await RunWithInputAsync([], Server.UserName, "wrong", Server.UserName, Server.Password, "pwd");

        result.ShouldSucceed();
        result.Error.ShouldContain("Login failed: 530");
    }

    [Test]
    public async Task Three_refused_logins_end_with_exit_code_1()
    {
        var result = await RunWithInputAsync([], "nobody1", "x", "nobody2", "x", "nobody3", "x", "pwd");

        result.ExitCode.ShouldBe(1);
        result.Error.Split('\n').Count(l => l.StartsWith("Login failed", StringComparison.Ordinal)).ShouldBe(3);
    }

    [Test]
    public async Task Refused_credentials_from_options_are_not_retried()
    {
        var result = await RunWithInputAsync(["--user", Server.UserName, "--password", "wrong"], "pwd");

        result.ExitCode.ShouldBe(1);
        result.Error.Split('\n').Count(l => l.StartsWith("Login failed", StringComparison.Ordinal)).ShouldBe(1);
    }

    [Test]
    public async Task A_lost_connection_is_reported_and_exits_with_1()
    {
        var killed = false;
        var input = new ScriptReader(Server.UserName, Server.Password, "pwd", async () => { await Server.KillAsync(); killed = true; }, "ls", "pwd");

        var result = await RunAsync([], input);

        killed.ShouldBeTrue();
        result.ExitCode.ShouldBe(1);
        result.Error.ShouldContain("lost");
    }

    [Test]
    public async Task A_server_dying_mid_download_leaves_no_file_behind()
    {
        Tools.WriteRandomFile(Remote("big.bin"), 50L * 1024 * 1024, seed: 61);
        // The first progress report shows the transfer is under way: the moment to pull the plug.
        var output = new TripwireWriter("Downloading", () => Server.KillAsync().GetAwaiter().GetResult());
        var error = new StringWriter();
        var input = new ScriptReader(Server.UserName, Server.Password, "RETR big.bin", "pwd");

        var exitCode = await Repl.RunAsync([Server.Host, Server.Port.ToString(), "--known-hosts", knownHosts!], input, output, error,
            Local, interactive: true, showProgress: true).WaitAsync(TimeSpan.FromMinutes(1));

        output.Tripped.ShouldBeTrue();
        exitCode.ShouldBe(1);
        error.ToString().ShouldContain("lost");
        Directory.GetFileSystemEntries(Local).ShouldBeEmpty();
    }

    [Test]
    public async Task Fifty_megabytes_of_random_bytes_survive_both_ways()
    {
        const long size = 50L * 1024 * 1024 + 12345;
        Tools.WriteRandomFile(LocalFile("big.bin"), size, seed: 62);
        var original = Tools.Sha256(LocalFile("big.bin"));

        var result = await RunAsync("STOR big.bin", "RETR big.bin");

        result.ShouldSucceed();
        new FileInfo(Remote("big.bin")).Length.ShouldBe(size);
        Tools.Sha256(Remote("big.bin")).ShouldBe(original);
        Tools.Sha256(LocalFile("new_big.bin")).ShouldBe(original);
        result.Output.ShouldContain($"Downloaded big.bin -> new_big.bin: {size:N0} bytes in ");
    }

    [Test]
    public async Task At_a_terminal_there_are_prompts_and_live_progress()
    {
        Tools.WriteRandomFile(Remote("p.bin"), 3L * 1024 * 1024, seed: 63);
        var output = new StringWriter();
        var error = new StringWriter();
        var input = new ScriptReader(Server.UserName, Server.Password, "get", "p.bin", "upload", "p.bin", "exit");

        var exitCode = await Repl.RunAsync([Server.Host, Server.Port.ToString(), "--known-hosts", knownHosts!], input, output, error,
            Local, interactive: true, showProgress: true).WaitAsync(TimeSpan.FromMinutes(1));

        exitCode.ShouldBe(0, error.ToString());
        var text = output.ToString();
        text.ShouldContain("Username: ");
        text.ShouldContain("Password: ");
        text.ShouldContain("ftp> ");
        text.ShouldContain("Enter filename to download: ");
        text.ShouldContain("Enter filename to upload: ");
        text.ShouldContain("\rDownloading p.bin: ");
        text.ShouldContain("%) ");
        text.ShouldContain($"Downloaded p.bin -> p.bin: {3 * 1024 * 1024:N0} bytes in ");
    }

    string Remote(string relative) => Path.Combine(Server.RootDirectory, relative);
    string LocalFile(string name) => Path.Combine(Local, name);

    Task<ReplResult> RunAsync(params string[] commands) => RunWithArgsAsync([], commands);

    Task<ReplResult> RunWithArgsAsync(string[] args, params string[] commands) =>
        RunWithInputAsync(args, [Server.UserName, Server.Password, .. commands]);

    Task<ReplResult> RunWithInputAsync(string[] args, params string[] lines) => RunAsync(args, new ScriptReader([.. lines]));

    Task<ReplResult> RunAsync(string[] args, TextReader input) =>
        RunReplAsync(Server.Host, Server.Port, Local, ["--known-hosts", knownHosts!, .. args], input);

    // One scripted (not interactive) client session against host:port, downloads landing in localDirectory.
    internal static async Task<ReplResult> RunReplAsync(string host, int port, string localDirectory, string[] args, TextReader input)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exitCode = await Repl.RunAsync([host, port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args], input,
            output, error, localDirectory, interactive: false).WaitAsync(TimeSpan.FromMinutes(2));
        return new ReplResult(exitCode, output.ToString(), error.ToString());
    }
}

internal sealed record ReplResult(int ExitCode, string Output, string Error)
{
    public void ShouldSucceed() =>
        ExitCode.ShouldBe(0, $"stdout:\n{Output}\nstderr:\n{Error}");
}

// Script input whose steps are lines, or actions run when the REPL asks for the next line.
internal sealed class ScriptReader(params object[] steps) : TextReader
{
    readonly Queue<object> steps = new(steps);

    public override async Task<string?> ReadLineAsync()
    {
        while (steps.TryDequeue(out var step))
        {
            switch (step)
            {
                case string line:
                    return line;
                case Func<Task> action:
                    await action();
                    break;
                default:
                    throw new ArgumentException($"Unexpected script step {step}");
            }
        }
        return null;
    }

    public override ValueTask<string?> ReadLineAsync(CancellationToken cancellationToken) => new(ReadLineAsync());

    public override string? ReadLine() => ReadLineAsync().GetAwaiter().GetResult();
}

// Runs an action the first time something containing trigger is written.
internal sealed class TripwireWriter(string trigger, Action action) : StringWriter
{
    public bool Tripped { get; private set; }

    public override void Write(string? value)
    {
        base.Write(value);
        if (Tripped || value?.Contains(trigger, StringComparison.Ordinal) != true)
            return;
        Tripped = true;
        action();
    }
}
