using System.Net;
using System.Net.Sockets;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tls;

namespace ScriptFtp.Tests.Server;

/// <summary>
/// The real server process meets a setup it cannot start with: it says what is wrong and which setting changes it, in one
/// line without a stack trace, and exits with code 2. The failures must happen for root too (CI): a file in the way, not chmod.
/// </summary>
[TestFixture]
public sealed class StartupErrorProcessTests
{
    private const string TlsAdvice =
        "Fix it, or choose other files: [tls] certificate and key in ftp.toml (leave both out for a self-signed certificate)";

    private string _folder = "";

    [SetUp]
    public void SetUp() => _folder = Tools.NewFolder("scriptftp-startup-");

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(_folder);

    [Test]
    public async Task A_root_under_a_file_is_named_with_the_file_in_the_way()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "data"), "a file, not a folder");
        var result = await RunAsync("root = \"data/ftproot\"\n");

        ShouldStopWith(result, $"the root folder {Path.Combine(_folder, "data", "ftproot")} cannot be created or written: "
            + $"{Path.Combine(_folder, "data")} is a file, not a folder. Move the file, or choose another: [server] root in ftp.toml");
        File.ReadAllText(Path.Combine(_folder, "data")).ShouldBe("a file, not a folder");
    }

    [Test]
    public async Task A_root_that_is_a_file_is_named()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "ftproot"), "");
        var result = await RunAsync("root = \"ftproot\"\n");

        ShouldStopWith(result, $"the root folder {Path.Combine(_folder, "ftproot")} cannot be created or written: "
            + "it is a file, not a folder. Move the file, or choose another: [server] root in ftp.toml");
    }

    [Test]
    public async Task A_missing_certificate_file_is_named()
    {
        var (_, key) = WritePair();
        var result = await RunAsync("", $"certificate = \"missing.pem\"\nkey = \"{key}\"\n");

        ShouldStopWith(result, $"certificate file {Path.Combine(_folder, "missing.pem")} cannot be read: it does not exist. {TlsAdvice}");
    }

    [Test]
    public async Task A_certificate_that_is_a_folder_is_named()
    {
        var (_, key) = WritePair();
        Directory.CreateDirectory(Path.Combine(_folder, "cert.pem.d"));
        var result = await RunAsync("", $"certificate = \"cert.pem.d\"\nkey = \"{key}\"\n");

        ShouldStopWith(result,
            $"certificate file {Path.Combine(_folder, "cert.pem.d")} cannot be read: it is a folder, not a file. {TlsAdvice}");
    }

    [Test]
    public async Task A_certificate_file_that_is_not_PEM_is_named()
    {
        var (_, key) = WritePair();
        await File.WriteAllTextAsync(Path.Combine(_folder, "garbage.pem"), "this is no certificate\n");
        var result = await RunAsync("", $"certificate = \"garbage.pem\"\nkey = \"{key}\"\n");

        ShouldStopWith(result, $"certificate file {Path.Combine(_folder, "garbage.pem")} cannot be read: it holds no PEM certificate "
            + $"(-----BEGIN CERTIFICATE-----). {TlsAdvice}");
    }

    [Test]
    public async Task A_key_file_that_is_not_PEM_is_named()
    {
        var (certificate, _) = WritePair();
        await File.WriteAllTextAsync(Path.Combine(_folder, "garbage.key"), "\0\u0001binary junk");
        var result = await RunAsync("", $"certificate = \"{certificate}\"\nkey = \"garbage.key\"\n");

        ShouldStopWith(result, $"key file {Path.Combine(_folder, "garbage.key")} cannot be read: it holds no PEM private key "
            + $"(-----BEGIN PRIVATE KEY-----). {TlsAdvice}");
    }

    [Test]
    public async Task A_key_of_another_certificate_is_named_with_both_files()
    {
        var (certificate, _) = WritePair("one");
        var (_, otherKey) = WritePair("two");
        var result = await RunAsync("", $"certificate = \"{certificate}\"\nkey = \"{otherKey}\"\n");

        ShouldStopWith(result, $"key file {Path.Combine(_folder, otherKey)} does not match certificate file "
            + $"{Path.Combine(_folder, certificate)}. {TlsAdvice}");
    }

    [Test]
    public async Task A_busy_implicit_FTPS_port_names_its_own_setting()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;
        var (certificate, key) = WritePair();
        var result = await RunAsync("", $"certificate = \"{certificate}\"\nkey = \"{key}\"\nimplicit_port = {port}\n");

        ShouldStopWith(result, $"port {port} (implicit FTPS) is already in use (another FTP server?). "
            + "Choose another: [tls] implicit_port in ftp.toml (0 switches it off)");
    }

    [Test]
    public async Task An_implicit_FTPS_port_equal_to_the_FTP_port_is_refused()
    {
        // Held busy, so nothing is served even if the check were missing: the message tells the two cases apart.
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;
        var (certificate, key) = WritePair();
        var result = await RunAsync("", $"certificate = \"{certificate}\"\nkey = \"{key}\"\nimplicit_port = {port}\n", port);

        ShouldStopWith(result,
            $"[tls] implicit_port {port} is the FTP port too. Choose another: [tls] implicit_port in ftp.toml (0 switches it off)");
    }

    private static void ShouldStopWith(ProcessResult result, string message)
    {
        result.ExitCode.ShouldBe(2, result.Output);
        Tools.Lines(result.Stdout + result.Stderr).Count(l => l.EndsWith(message, StringComparison.Ordinal)).ShouldBe(1, result.Output);
        (result.Stdout + result.Stderr).ShouldNotContain("   at ", customMessage: "no stack trace: " + result.Output);
        result.Stdout.ShouldNotContain("listening", customMessage: result.Output);
    }

    // A certificate and its key, PEM, in the test folder; returns their names relative to ftp.toml.
    private (string Certificate, string Key) WritePair(string name = "server")
    {
        var (certificate, key) = SelfSignedCertificate.Create("localhost", DateTimeOffset.UtcNow);
        File.WriteAllText(Path.Combine(_folder, name + ".crt"), certificate);
        File.WriteAllText(Path.Combine(_folder, name + ".key"), key);
        return (name + ".crt", name + ".key");
    }

    private async Task<ProcessResult> RunAsync(string server, string? tls = null, int port = 0)
    {
        var config = Path.Combine(_folder, "ftp.toml");
        var toml = $"[server]\nlisten = \"127.0.0.1\"\nport = {port}\n{server}[log]\nfile = \"\"\n[plugins]\nfolder = \"\"\n";
        await File.WriteAllTextAsync(config, tls is null ? toml : toml + "[tls]\n" + tls);
        var dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "ScriptFtp.Server.dll");
        return await Tools.RunAsync(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [dll, "--config", config],
            timeout: TimeSpan.FromSeconds(60), workingDirectory: _folder);
    }
}
