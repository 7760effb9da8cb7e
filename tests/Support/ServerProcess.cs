using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace ScriptFtp.Tests.Support;

/// <summary><c>dotnet ScriptFtp.Server.dll --config …</c>, with its output drained and the port read from it.</summary>
internal sealed partial class ServerProcess : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();

    private ServerProcess(Process process, int port)
    {
        this.process = process;
        Port = port;
    }

    public int Port { get; }

    public string Output => string.Join('\n', output.TakeLast(30));

    public static async Task<ServerProcess> StartAsync(string config)
    {
        var dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "ScriptFtp.Server.dll");
        File.Exists(dll).ShouldBeTrue(dll);
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(config)!,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(config);
        var lines = new ConcurrentQueue<string>();
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lines.Enqueue(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } m)
                port.TrySetResult(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lines.Enqueue("stderr: " + e.Data); };
        process.Exited += (_, _) => port.TrySetException(new InvalidOperationException("the server exited:\n" + string.Join('\n', lines)));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var listening = await port.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var server = new ServerProcess(process, listening);
            foreach (var line in lines) server.output.Enqueue(line);
            return server;
        }
        catch
        {
            if (!process.HasExited) process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        if (process.HasExited) return;
        process.Kill();
        process.WaitForExit(10_000).ShouldBeTrue();
    }

    public void Dispose()
    {
        Kill();
        process.Dispose();
    }

    [GeneratedRegex(@"ScriptFtp is listening on port (\d+)\.")]
    private static partial Regex ListeningLine();
}
