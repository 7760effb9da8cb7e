using System.Diagnostics;

namespace ScriptFtp.Tests.Client;

// The real executable with stdin redirected, once: exit codes are what scripts see. The server requires TLS; the first
// line of input answers the trust-on-first-use question.
public class ClientProcessTests
{
    [Test]
    public async Task Killing_the_server_mid_session_ends_the_client_with_exit_code_1()
    {
        await using var server = await FtpTestServer.StartAsync();
        var local = Directory.CreateTempSubdirectory("scriptftp-client-").FullName;
        var knownHosts = Path.Combine(Directory.CreateTempSubdirectory("scriptftp-known-").FullName, "known_hosts");
        try
        {
            var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = local,
            };
            string[] args = [Path.Combine(TestContext.CurrentContext.TestDirectory, "ScriptFtp.Client.dll"), server.Host,
                server.Port.ToString(), "--known-hosts", knownHosts];
            foreach (var arg in args)
                info.ArgumentList.Add(arg);
            using var client = Process.Start(info)!;
            var stderr = client.StandardError.ReadToEndAsync();
            try
            {
                await client.StandardInput.WriteLineAsync("yes");
                await client.StandardInput.WriteLineAsync(server.UserName);
                await client.StandardInput.WriteLineAsync(server.Password);
                await client.StandardInput.WriteLineAsync("pwd");
                await client.StandardInput.FlushAsync();
                // The pwd answer is the first thing a script sees: by then the session is up.
                var firstLine = await client.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
                firstLine.ShouldBe("/", "the answer to pwd, with nothing before it on the standard output");
                File.ReadAllText(knownHosts).ShouldBe($"127.0.0.1:{server.Port} {server.Fingerprint}\n");

                await server.KillAsync();
                await client.StandardInput.WriteLineAsync("ls");
                await client.StandardInput.WriteLineAsync("pwd");
                client.StandardInput.Close();

                await client.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                client.ExitCode.ShouldBe(1);
                var complaints = await stderr;
                complaints.ShouldContain("lost");
                complaints.ShouldContain(server.Fingerprint!, customMessage: "the trust question goes to the error output");
            }
            finally
            {
                if (!client.HasExited)
                    client.Kill();
            }
        }
        finally
        {
            Directory.Delete(local, recursive: true);
            FtpTestServer.DeleteKnownHosts(knownHosts);
        }
    }
}
