using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ScriptFtp.Tests.Client;

// A real FTP server for the client tests, listening on loopback on a free port, with one user whose
// login directory is RootDirectory. Each test gets its own instance.
internal interface IFtpTestServer : IAsyncDisposable
{
    string Host { get; }
    int Port { get; }
    string UserName { get; }
    string Password { get; }

    // The local folder behind the user's login directory, for arranging and checking remote files.
    string RootDirectory { get; }

    // Ends the server and every session abruptly, as a crash would; returns once it is gone.
    Task KillAsync();
}

internal static class FtpTestServer
{
    public const string ScriptFtp = "scriptftp", Vsftpd = "vsftpd";

    // The client must work with ScriptFtp and with any standard server, so its tests can run against either.
    public static Task<IFtpTestServer> StartAsync(string kind = ScriptFtp) => kind switch
    {
        ScriptFtp => ScriptFtpTestServer.StartAsync(),
        Vsftpd => VsftpdTestServer.StartAsync(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown test server"),
    };

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

// The ScriptFtp server in this process on a free port, logged in as the demo user.
internal sealed class ScriptFtpTestServer(ScriptFtp.Tests.Support.TestServer server) : IFtpTestServer
{
    private bool killed;

    public static async Task<IFtpTestServer> StartAsync() => new ScriptFtpTestServer(await ScriptFtp.Tests.Support.TestServer.StartAsync());

    public string Host => "127.0.0.1";
    public int Port => server.Port;
    public string UserName => ScriptFtp.Tests.Support.TestServer.DemoUser;
    public string Password => ScriptFtp.Tests.Support.TestServer.DemoPassword;
    public string RootDirectory
    {
        get
        {
            Directory.CreateDirectory(server.DemoHome);
            return server.DemoHome;
        }
    }

    public async Task KillAsync()
    {
        killed = true;
        await server.Server.AbortAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!killed) server.ShouldHaveLoggedNoErrors();
        await server.DisposeAsync();
    }
}

// vsftpd started from its own config file as a child process. Needs /usr/sbin/vsftpd and root
// (vsftpd logs local users in through PAM and we create the test user); otherwise the test is ignored.
internal sealed class VsftpdTestServer : IFtpTestServer
{
    const string VsftpdPath = "/usr/sbin/vsftpd";
    const string TestUser = "scriptftptest";
    const string TestPassword = "Scr1ptFtp-test";

    static readonly SemaphoreSlim UserGate = new(1, 1);
    static bool userReady;

    readonly Process process;
    readonly string baseDirectory;

    VsftpdTestServer(Process process, string baseDirectory, string rootDirectory, int port)
    {
        this.process = process;
        this.baseDirectory = baseDirectory;
        RootDirectory = rootDirectory;
        Port = port;
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    public string UserName => TestUser;
    public string Password => TestPassword;
    public string RootDirectory { get; }

    public static async Task<IFtpTestServer> StartAsync()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists(VsftpdPath) || !Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("Client tests need vsftpd (/usr/sbin/vsftpd) and root until they run against the in-process ScriptFtp server.");
            throw new UnreachableException();
        }
        await EnsureUserAsync();

        var baseDirectory = Directory.CreateTempSubdirectory("scriptftp-vsftpd-").FullName;
        // vsftpd works as the test user after login, so it must be able to reach and write the root.
        File.SetUnixFileMode(baseDirectory, (UnixFileMode)0b111_101_101);
        var root = Directory.CreateDirectory(Path.Combine(baseDirectory, "root")).FullName;
        File.SetUnixFileMode(root, (UnixFileMode)0b111_111_111);
        var empty = Directory.CreateDirectory(Path.Combine(baseDirectory, "empty")).FullName;

        // The port is free when we look; another process may grab it before vsftpd binds, so try a few.
        for (var attempt = 1; ; attempt++)
        {
            var port = FtpTestServer.FreeLoopbackPort();
            var config = Path.Combine(baseDirectory, "vsftpd.conf");
            await File.WriteAllTextAsync(config, $"""
                listen=YES
                listen_address=127.0.0.1
                listen_port={port}
                listen_ipv6=NO
                background=NO
                anonymous_enable=NO
                local_enable=YES
                write_enable=YES
                local_umask=022
                local_root={root}
                pasv_enable=YES
                seccomp_sandbox=NO
                secure_chroot_dir={empty}
                pam_service_name=vsftpd
                delay_failed_login=0
                max_login_fails=5
                xferlog_enable=NO

                """);
            var process = Process.Start(new ProcessStartInfo(VsftpdPath, config)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            if (await WaitUntilListeningAsync(process, port))
                return new VsftpdTestServer(process, baseDirectory, root, port);
            var complaint = await process.StandardError.ReadToEndAsync() + await process.StandardOutput.ReadToEndAsync();
            process.Dispose();
            if (attempt == 3)
            {
                Directory.Delete(baseDirectory, recursive: true);
                Assert.Fail($"vsftpd did not start: {complaint}");
            }
        }
    }

    public async Task KillAsync()
    {
        if (process.HasExited)
            return;
        // Sessions are child processes of the listener; a crash takes them all down.
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
        try
        {
            Directory.Delete(baseDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A straggling session may still hold a file; the temp folder is cleaned eventually anyway.
        }
    }

    static async Task<bool> WaitUntilListeningAsync(Process process, int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
                return false;
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port);
                using var reader = new StreamReader(probe.GetStream());
                var greeting = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(5));
                if (greeting?.StartsWith("220", StringComparison.Ordinal) == true)
                    return true;
            }
            catch (SocketException)
            {
            }
            await Task.Delay(50);
        }
        process.Kill(entireProcessTree: true);
        return false;
    }

    static async Task EnsureUserAsync()
    {
        await UserGate.WaitAsync();
        try
        {
            if (userReady)
                return;
            if (await RunAsync("id", ["-u", TestUser]) != 0)
                (await RunAsync("useradd", ["-m", "-s", "/bin/sh", TestUser])).ShouldBe(0, "useradd failed");
            (await RunAsync("chpasswd", [], $"{TestUser}:{TestPassword}\n")).ShouldBe(0, "chpasswd failed");
            userReady = true;
        }
        finally
        {
            UserGate.Release();
        }
    }

    static async Task<int> RunAsync(string file, string[] args, string? stdin = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        if (stdin is not null)
            await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        await Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
