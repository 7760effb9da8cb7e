using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Authentication;

namespace ScriptFtp.Client;

// The interactive (or scripted) session: log in, then read one command per line until exit or end of input.
// Results go to output, complaints to error; prompts and chatter only when interactive.
internal sealed class Repl
{
    const int MaxLoginAttempts = 3;

    readonly FtpClient client;
    readonly TextReader input;
    readonly TextWriter output;
    readonly TextWriter error;
    readonly string localDirectory;
    readonly bool interactive;
    readonly bool showProgress;
    bool anyFailed;

    Repl(FtpClient client, TextReader input, TextWriter output, TextWriter error, string localDirectory, bool interactive,
        bool showProgress)
    {
        this.client = client;
        this.input = input;
        this.output = output;
        this.error = error;
        this.localDirectory = localDirectory;
        this.interactive = interactive;
        this.showProgress = showProgress;
    }

    // Runs a whole client session and returns the process exit code: 0, or 1 when the connection could not be secured,
    // the login failed, the connection was lost, or (input not interactive) any command failed; 2 for a bad command line.
    // args: Command line, see ReplOptions.Usage.
    // localDirectory: Where downloads land and uploads are read from.
    // interactive: Input is a person at a terminal: show prompts and greetings.
    // showProgress: Output is a terminal: redraw a progress line during transfers.
    // readPassword: Reads the password without echo; null reads a line from input.
    internal static async Task<int> RunAsync(string[] args, TextReader input, TextWriter output, TextWriter error,
        string localDirectory, bool interactive, bool showProgress = false, Func<string?>? readPassword = null)
    {
        ReplOptions options;
        try
        {
            options = ReplOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await error.WriteLineAsync(e.Message);
            await error.WriteLineAsync(ReplOptions.Usage);
            return 2;
        }
        if (options.ShowHelp)
        {
            await output.WriteLineAsync(ReplOptions.Usage);
            return 0;
        }

        FtpClient client;
        try
        {
            client = await FtpClient.ConnectAsync(options.Host, options.Port, options.Timeout,
                options.Verbose ? output.WriteLine : null);
        }
        catch (Exception e) when (e is SocketException or FtpReplyException or FtpConnectionLostException or FtpProtocolException)
        {
            await error.WriteLineAsync($"Cannot connect to {options.Host}:{options.Port}: {e.Message}");
            return 1;
        }

        await using (client)
        {
            var repl = new Repl(client, input, output, error, localDirectory, interactive, showProgress && interactive);
            if (interactive)
                await output.WriteLineAsync($"Connected to {options.Host}:{options.Port}. {client.Greeting.Text}");
            try
            {
                return await repl.SecureAsync(options) && await repl.LogInAsync(options, readPassword) ? await repl.LoopAsync() : 1;
            }
            catch (FtpConnectionLostException e)
            {
                await error.WriteLineAsync(e.Message);
                return 1;
            }
        }
    }

    // AUTH TLS unless --plain. Only a secured connection goes on to the login: a server that offers no TLS would get the
    // password in clear text, which takes --plain.
    async Task<bool> SecureAsync(ReplOptions options)
    {
        if (options.Plain)
        {
            if (interactive)
                await output.WriteLineAsync("Not encrypted (--plain): the password and the files travel in clear text.");
            return true;
        }
        var server = KnownHosts.Key(options.Host, options.Port);
        var trust = CertificateTrust.Create(new KnownHosts(options.KnownHostsPath), options.Host, options.Port, options.Insecure,
            AskTrust, error.WriteLine);
        FtpReply auth;
        try
        {
            auth = await client.SecureAsync(ClientTls.Options(options.Host, trust));
        }
        catch (AuthenticationException e)
        {
            return await WriteAsync(error, $"Not logged in: no trusted TLS connection to {server}. {e.Message}", false);
        }
        catch (FtpReplyException e)
        {
            return await WriteAsync(error, $"Not logged in: {server} refused to protect the data connections: {e.Reply.Text}", false);
        }
        if (auth.Code != 234)
        {
            await error.WriteLineAsync($"""
                {server} does not offer TLS: it answered AUTH TLS with {auth.Text}
                Not logged in, so that the password does not travel in clear text. To log in without encryption, use --plain.
                """);
            await client.QuitAsync();
            return false;
        }
        if (interactive && client.Tls is { } tls)
            await output.WriteLineAsync($"Secured with {Describe(tls.SslProtocol)} ({tls.NegotiatedCipherSuite}); transfers too.");
        return true;
    }

    static string Describe(SslProtocols protocol) => protocol switch
    {
        SslProtocols.Tls13 => "TLS 1.3",
        SslProtocols.Tls12 => "TLS 1.2",
        _ => protocol.ToString(),
    };

    // The trust-on-first-use question. At a terminal it is a prompt; with input redirected the question goes to the error
    // output (the standard output is for results) and the answer is the next input line.
    bool AskTrust(string question)
    {
        (interactive ? output : error).WriteLine(question);
        if (interactive)
        {
            output.Write("Type yes or no: ");
            output.Flush();
        }
        var answer = input.ReadLine()?.Trim();
        return answer?.ToLowerInvariant() is "yes" or "y";
    }

    async Task<bool> LogInAsync(ReplOptions options, Func<string?>? readPassword)
    {
        for (var attempt = 1; attempt <= MaxLoginAttempts; attempt++)
        {
            var user = options.User ?? await AskAsync("Username:");
            var password = options.Password
                ?? (interactive && readPassword is not null ? AskSecret("Password:", readPassword) : await AskAsync("Password:"));
            if (user is null || password is null)
            {
                await error.WriteLineAsync("Login aborted: no user name or password given.");
                return false;
            }

            var reply = await client.LoginAsync(user, password);
            if (reply.IsCompletion)
            {
                if (interactive)
                    await output.WriteLineAsync(reply.Text);
                return true;
            }
            await error.WriteLineAsync($"Login failed: {reply.Text}");
            // The same fixed credentials would only fail again.
            if (options.User is not null && options.Password is not null)
                return false;
        }
        await error.WriteLineAsync($"Giving up after {MaxLoginAttempts} failed logins.");
        return false;
    }

    async Task<int> LoopAsync()
    {
        while (true)
        {
            if (interactive)
            {
                await output.WriteAsync("ftp> ");
                await output.FlushAsync();
            }
            var line = await input.ReadLineAsync();
            // End of input means the same as "exit".
            var command = line is null ? new ReplCommand.Quit() : ReplCommand.Parse(line);
            switch (command)
            {
                case null:
                    continue;
                case ReplCommand.Quit:
                    var reply = await client.QuitAsync();
                    if (interactive)
                        await output.WriteLineAsync(reply.Text);
                    return anyFailed && !interactive ? 1 : 0;
                default:
                    if (!await RunCommandAsync(command))
                        anyFailed = true;
                    break;
            }
        }
    }

    // Everything short of a lost connection is reported here and the loop goes on.
    async Task<bool> RunCommandAsync(ReplCommand command)
    {
        try
        {
            return await (command switch
            {
                ReplCommand.Download d => DownloadAsync(d.RemotePath),
                ReplCommand.Upload u => UploadAsync(u.LocalPath),
                ReplCommand.List l => ListAsync(l.Path),
                ReplCommand.ChangeDirectory c => ShowReplyAsync(client.ChangeDirectoryAsync(c.Path)),
                ReplCommand.PrintDirectory => PrintDirectoryAsync(),
                ReplCommand.Raw r => ShowReplyAsync(client.ExpectAsync(r.Line)),
                ReplCommand.Help => WriteAsync(output, ReplCommand.HelpText, true),
                ReplCommand.Invalid i => WriteAsync(error, i.Message, false),
                _ => throw new UnreachableException($"Unhandled command {command}"),
            });
        }
        catch (FtpReplyException e)
        {
            await error.WriteLineAsync(e.Reply.Text);
        }
        catch (Exception e) when (e is FtpTransferException or FtpProtocolException or IOException or UnauthorizedAccessException
                                       or ArgumentException)
        {
            await error.WriteLineAsync(e.Message);
        }
        return false;
    }

    async Task<bool> DownloadAsync(string? remotePath)
    {
        remotePath ??= await AskAsync("Enter filename to download:");
        if (string.IsNullOrEmpty(remotePath))
            return await WriteAsync(error, "No file name given.", false);
        var name = LocalNames.FromRemotePath(remotePath);

        var size = showProgress ? await client.GetSizeAsync(remotePath) : null;
        var progress = new TransferProgress(output, $"Downloading {remotePath}", size, showProgress);
        // Written under a temporary name first, so a broken download never looks like a finished file.
        var temp = Path.Combine(localDirectory, $".{name}.{Guid.NewGuid():N}.part");
        try
        {
            long bytes;
            await using (var file = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 0,
                Options = FileOptions.Asynchronous,
            }))
            {
                bytes = await client.DownloadAsync(remotePath, file, progress.Report);
            }
            progress.Clear();
            var saved = MoveToFreeName(temp, name);
            if (saved != name)
                await output.WriteLineAsync($"{name} already exists here; saved as {saved}.");
            await output.WriteLineAsync(TransferProgress.Summary("Downloaded", remotePath, saved, bytes, progress.Elapsed));
            return true;
        }
        finally
        {
            progress.Clear();
            File.Delete(temp);
        }
    }

    string MoveToFreeName(string temp, string name)
    {
        for (var attempt = 0; ; attempt++)
        {
            var free = LocalNames.FirstFree(name, candidate => Path.Exists(Path.Combine(localDirectory, candidate)));
            try
            {
                File.Move(temp, Path.Combine(localDirectory, free), overwrite: false);
                return free;
            }
            // Someone else took the name between the check and the move: look again.
            catch (IOException) when (attempt < 10 && Path.Exists(Path.Combine(localDirectory, free)))
            {
            }
        }
    }

    async Task<bool> UploadAsync(string? localPath)
    {
        localPath ??= await AskAsync("Enter filename to upload:");
        if (string.IsNullOrEmpty(localPath))
            return await WriteAsync(error, "No file name given.", false);
        var fullPath = Path.Combine(localDirectory, localPath);
        // Checked before anything goes to the server, so a typo costs no round trip and creates no empty remote file.
        if (!File.Exists(fullPath))
            return await WriteAsync(error, $"Local file not found: {localPath}", false);

        var remoteName = Path.GetFileName(fullPath);
        await using var file = new FileStream(fullPath, new FileStreamOptions
        {
            Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 0,
            Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
        });
        var progress = new TransferProgress(output, $"Uploading {localPath}", file.Length, showProgress);
        try
        {
            var bytes = await client.UploadAsync(file, remoteName, progress.Report);
            progress.Clear();
            await output.WriteLineAsync(TransferProgress.Summary("Uploaded", localPath, remoteName, bytes, progress.Elapsed));
            return true;
        }
        finally
        {
            progress.Clear();
        }
    }

    async Task<bool> ListAsync(string? path)
    {
        await client.ListAsync(path, output);
        return true;
    }

    async Task<bool> PrintDirectoryAsync()
    {
        await output.WriteLineAsync(await client.PrintWorkingDirectoryAsync());
        return true;
    }

    async Task<bool> ShowReplyAsync(Task<FtpReply> command) => await WriteAsync(output, (await command).Text, true);

    static async Task<bool> WriteAsync(TextWriter writer, string text, bool result)
    {
        await writer.WriteLineAsync(text);
        return result;
    }

    async Task<string?> AskAsync(string prompt)
    {
        if (interactive)
        {
            await output.WriteAsync(prompt + " ");
            await output.FlushAsync();
        }
        return (await input.ReadLineAsync())?.Trim();
    }

    string? AskSecret(string prompt, Func<string?> readPassword)
    {
        output.Write(prompt + " ");
        output.Flush();
        return readPassword();
    }
}
