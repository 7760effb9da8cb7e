using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Server;

/// <summary>The real server process refuses an ftp.toml with a key it does not know: it names the file, line, column and key, and exits non-zero.</summary>
public class ConfigErrorProcessTests
{
    [TestCase("""
        [server]
        listen = "127.0.0.1"
        port = 0
        root = "root"
        colour = "blue"

        [plugins]
        folder = ""
        """, "ftp.toml(5,1): unknown key \"colour\" in [server]")]
    [TestCase("""
        [server]
        listen = "127.0.0.1"
        port = 0

        [log]
        file = ""
          levle = "Debug"
        """, "ftp.toml(7,3): unknown key \"levle\" in [log]; did you mean \"level\"?")]
    public async Task An_unknown_key_stops_the_server_with_its_position(string toml, string expected)
    {
        var folder = Tools.NewFolder("scriptftp-config-");
        try
        {
            var config = Path.Combine(folder, "ftp.toml");
            await File.WriteAllTextAsync(config, toml);
            var dll = Path.Combine(TestContext.CurrentContext.TestDirectory, "ScriptFtp.Server.dll");
            File.Exists(dll).ShouldBeTrue(dll);

            var result = await Tools.RunAsync(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", [dll, "--config", config],
                timeout: TimeSpan.FromSeconds(60), workingDirectory: folder);

            result.ExitCode.ShouldNotBe(0, result.Output);
            Tools.Lines(result.Stderr).ShouldContain(expected, result.Output);
            result.Stdout.ShouldNotContain("listening", customMessage: result.Output);
            Directory.Exists(Path.Combine(folder, "root")).ShouldBeFalse("nothing is set up from a config that was refused");
        }
        finally
        {
            Tools.DeleteQuietly(folder);
        }
    }
}
