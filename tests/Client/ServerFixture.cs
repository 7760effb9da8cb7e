using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using ScriptFtp.Client;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Client;

// A real FTP server for the client tests, listening on loopback on a free port, with one user whose
// login directory is RootDirectory. Each test gets its own instance.
internal interface IFtpTestServer : IAsyncDisposable
{
    string Host { get; }
    int Port { get; }
    string UserName { get; }
    string Password { get; }

    // The SHA-256 fingerprint of the server's TLS certificate (AA:BB:...), null for a server without TLS.
    string? Fingerprint { get; }

    // The local folder behind the user's login directory, for arranging and checking remote files.
    string RootDirectory { get; }

    // Ends the server and every session abruptly, as a crash would; returns once it is gone.
    Task KillAsync();
}

internal static class FtpTestServer
{
    // ScriptFtp and vsftpd both require TLS (no plain login, data connections must resume the control connection's
    // session); VsftpdPlain is vsftpd without TLS, as many installations run it.
    public const string ScriptFtp = "scriptftp", Vsftpd = "vsftpd", VsftpdPlain = "vsftpd-plain";

    // The client must work with ScriptFtp and with any standard server, so its tests can run against either.
    public static Task<IFtpTestServer> StartAsync(string kind = ScriptFtp) => kind switch
    {
        ScriptFtp => ScriptFtpTestServer.StartAsync(),
        Vsftpd => VsftpdTestServer.StartAsync(tls: true),
        VsftpdPlain => VsftpdTestServer.StartAsync(tls: false),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown test server"),
    };

    // A known-hosts file in a new temporary folder that trusts the server's certificate, as after a first "yes".
    public static string TrustingKnownHosts(IFtpTestServer server)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("scriptftp-known-").FullName, "known_hosts");
        if (server.Fingerprint is { } fingerprint)
            new KnownHosts(path).Remember(server.Host, server.Port, fingerprint);
        return path;
    }

    // Removes the folder TrustingKnownHosts made.
    public static void DeleteKnownHosts(string path) => Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);

    public static string FingerprintOf(string certificatePemFile)
    {
        using var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certificatePemFile));
        return CertificateFiles.Fingerprint(certificate);
    }

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

// The ScriptFtp server in this process on a free port, logged in as the demo user. TLS is on and plain logins are
// refused from everywhere, so a client that gets in has secured the connection.
internal sealed class ScriptFtpTestServer(ScriptFtp.Tests.Support.TestServer server) : IFtpTestServer
{
    private bool killed;

    public static async Task<IFtpTestServer> StartAsync() => new ScriptFtpTestServer(await Ftps.FtpsTests.StartTlsAsync());

    public string Host => "127.0.0.1";
    public int Port => server.Port;
    public string UserName => ScriptFtp.Tests.Support.TestServer.DemoUser;
    public string Password => ScriptFtp.Tests.Support.TestServer.DemoPassword;
    public string? Fingerprint =>
        server.Config.Certificate is CertificateSource.SelfSigned self ? FtpTestServer.FingerprintOf(self.CertificatePath) : null;
    public ScriptFtp.Tests.Support.TestServer Server => server;
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

    VsftpdTestServer(Process process, string baseDirectory, string rootDirectory, int port, string? fingerprint)
    {
        this.process = process;
        this.baseDirectory = baseDirectory;
        RootDirectory = rootDirectory;
        Port = port;
        Fingerprint = fingerprint;
    }

    public string Host => "127.0.0.1";
    public int Port { get; }
    public string UserName => TestUser;
    public string Password => TestPassword;
    public string RootDirectory { get; }
    public string? Fingerprint { get; }

    // tls: vsftpd's explicit FTPS as commonly set up: logins and data only over TLS, data connections must resume the
    // control connection's session (require_ssl_reuse, vsftpd's default); the certificate is a fresh self-signed one.
    public static async Task<IFtpTestServer> StartAsync(bool tls)
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
        var (certificate, key) = (Path.Combine(baseDirectory, "cert.pem"), Path.Combine(baseDirectory, "key.pem"));
        if (tls)
            SelfSignedCertificate.Save("localhost", DateTimeOffset.UtcNow, certificate, key);
        var tlsSettings = tls
            ? $"""
              ssl_enable=YES
              rsa_cert_file={certificate}
              rsa_private_key_file={key}
              ssl_ciphers=HIGH
              force_local_logins_ssl=YES
              force_local_data_ssl=YES
              require_ssl_reuse=YES
              """
            : "ssl_enable=NO";

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
                {tlsSettings}

                """);
            var process = Process.Start(new ProcessStartInfo(VsftpdPath, config)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            if (await WaitUntilListeningAsync(process, port))
                return new VsftpdTestServer(process, baseDirectory, root, port, tls ? FtpTestServer.FingerprintOf(certificate) : null);
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
