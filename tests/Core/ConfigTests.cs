using System.Diagnostics;
using System.Net;
using ScriptFtp.Tests.Support;
using ScriptFtp.Toml;

namespace ScriptFtp.Tests.Core;

public class ConfigTests
{
    private static ServerConfig Bind(string toml) => ServerConfig.FromToml(ScriptFtp.Toml.Toml.Parse(toml, "ftp.toml"), "ftp.toml", "/srv/ftp");

    [Test]
    public void Shipped_ftp_toml_binds_with_documented_defaults()
    {
        var config = ServerConfig.Load(Repo.File("ftp.toml"));
        config.Port.ShouldBe(2121);
        config.Listen.ShouldBe(IPAddress.IPv6Any);
        config.AllowOverwrite.ShouldBeFalse();
        config.ChmodMask.ShouldBe(Convert.ToInt32("7002", 8));
        config.Options.ChmodMask.ShouldBe(config.ChmodMask);
        Bind("[server]\nchmod_mask = \"022\"\n").ChmodMask.ShouldBe(Convert.ToInt32("22", 8));
        config.Root.ShouldBe(Repo.File("ftproot"));
        config.PluginSettings.ShouldContainKey("quota");
    }

    [Test]
    public void Empty_file_gives_defaults_with_paths_next_to_the_file()
    {
        var config = Bind("");
        config.Port.ShouldBe(2121);
        config.Root.ShouldBe("/srv/ftp/ftproot");
        config.UsersFile.ShouldBe("/srv/ftp/users.toml");
        config.PluginsFolder.ShouldBe("/srv/ftp/plugins");
    }

    [Test]
    public void Values_are_bound()
    {
        var config = Bind("""
            [server]
            listen = "127.0.0.1"
            port = 2200
            allow_overwrite = true
            idle_timeout = 60
            [passive]
            port_min = 50000
            port_max = 50100
            public_address = "203.0.113.7"
            [log]
            level = "debug"
            """);
        config.Listen.ShouldBe(IPAddress.Loopback);
        config.Port.ShouldBe(2200);
        config.AllowOverwrite.ShouldBeTrue();
        config.IdleTimeout.ShouldBe(TimeSpan.FromSeconds(60));
        (config.PassivePortMin, config.PassivePortMax).ShouldBe((50000, 50100));
        config.PublicAddress.ShouldBe(IPAddress.Parse("203.0.113.7"));
        config.LogLevel.ShouldBe(Serilog.Events.LogEventLevel.Debug);
    }

    [TestCase("[server]\nprot = 21\n", "ftp.toml(2,1)", "prot")]
    [TestCase("[server]\nport = \"21\"\n", "ftp.toml(2,", "port")]
    [TestCase("[server]\nport = 70000\n", "ftp.toml(2,", "port")]
    [TestCase("[server]\nlisten = \"nowhere\"\n", "ftp.toml(2,", "not an IP address")]
    [TestCase("[passive]\nport_min = 600\nport_max = 500\n", "ftp.toml(2,", "port_min")]
    [TestCase("[sever]\nport = 21\n", "ftp.toml(1,", "sever")]
    [TestCase("[server]\nport = \n", "ftp.toml(2,", "")]
    [TestCase("[server]\nidle_timeout = 0\n", "ftp.toml(2,", "idle_timeout must be between")]
    [TestCase("[server]\nidle_timeout = 5000000\n", "ftp.toml(2,", "one week")]
    [TestCase("[security]\nlockout = 1e12\n", "ftp.toml(2,", "lockout")]
    [TestCase("[server]\nchmod_mask = \"7008\"\n", "ftp.toml(2,", "chmod_mask must be 1 to 4 octal digits")]
    [TestCase("[server]\nchmod_mask = \"17002\"\n", "ftp.toml(2,", "chmod_mask must be 1 to 4 octal digits")]
    [TestCase("[server]\nchmod_mask = 7002\n", "ftp.toml(2,", "chmod_mask")]
    public void Bad_values_are_reported_with_file_line_and_column(string toml, string position, string mention)
    {
        var error = Should.Throw<TomlException>(() => Bind(toml));
        error.Message.ShouldStartWith(position);
        error.Message.ShouldContain(mention);
    }

    [Test]
    public async Task A_bad_config_line_stops_the_real_server_with_a_positioned_message_and_a_nonzero_exit()
    {
        var folder = Directory.CreateTempSubdirectory("scriptftp-config-");
        try
        {
            var config = Path.Combine(folder.FullName, "ftp.toml");
            await File.WriteAllTextAsync(config, "[server]\nport = 0\nallow_overwrite = \"yes\"\n");
            var start = new ProcessStartInfo("dotnet", [Path.Combine(TestContext.CurrentContext.TestDirectory, "ScriptFtp.Server.dll"), "--config", config])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                RedirectStandardInput = true,
            };
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);
            process.ExitCode.ShouldNotBe(0);
            (await stderr).ShouldStartWith("ftp.toml(3,", customMessage: await stdout);
            (await stderr).ShouldContain("allow_overwrite");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
