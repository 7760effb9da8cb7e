using System.Globalization;
using System.Text;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>
/// Modification times (MFMT, MDTM with a time, SITE UTIME) and Unix modes (SITE CHMOD, UNIX.mode, LIST) over a real socket,
/// checked on disk and in what LIST, MLSD and MDTM then show.
/// </summary>
public class TimesAndModesTests
{
    private const string Reader = "reader", ReaderPassword = "reader-pass";

    private static string UsersToml() => TestServer.DefaultUsersToml() + $"""


        [users.{Reader}]
        password = "{Passwords.Hash(ReaderPassword)}"
        home = "{TestServer.DemoUser}"
        read_only = true
        """;

    private static DateTime Utc(int year, int month, int day, int hour, int minute, int second) =>
        new(year, month, day, hour, minute, second, DateTimeKind.Utc);

    /// <summary>Runs a listing command over EPSV and returns what came over the data connection.</summary>
    private static async Task<string> ListAsync(RawFtp ftp, string command)
    {
        using var data = await ftp.EpsvAsync();
        (await ftp.SendAsync(command)).Code.ShouldBe(150);
        using var reader = new StreamReader(data.GetStream(), Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        (await ftp.ReadAsync()).Code.ShouldBe(226);
        return text;
    }

    [Test]
    public async Task Mfmt_mdtm_and_site_utime_set_the_time_that_list_mlsd_and_mdtm_then_show()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(Path.Combine(server.DemoHome, "sub dir"));
        foreach (var name in new[] { "a.txt", "b c.txt", "sub dir/ü.txt", "20201231235959 odd.txt" })
            await File.WriteAllTextAsync(Path.Combine(server.DemoHome, name), name);
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        (await ftp.SendAsync("FEAT")).Text.Split('\n').ShouldContain(" MFMT");
        (await ftp.SendAsync("MFMT 20200102030405 a.txt")).Text.ShouldBe("213 Modify=20200102030405; a.txt");
        File.GetLastWriteTimeUtc(Path.Combine(server.DemoHome, "a.txt")).ShouldBe(Utc(2020, 1, 2, 3, 4, 5));
        (await ftp.SendAsync("MFMT 20190607080910.123 b c.txt")).Text.ShouldBe("213 Modify=20190607080910; b c.txt");
        File.GetLastWriteTimeUtc(Path.Combine(server.DemoHome, "b c.txt")).ShouldBe(Utc(2019, 6, 7, 8, 9, 10).AddMilliseconds(123));
        (await ftp.SendAsync("MDTM 20181231235958 sub dir/ü.txt")).Code.ShouldBe(213);
        File.GetLastWriteTimeUtc(Path.Combine(server.DemoHome, "sub dir", "ü.txt")).ShouldBe(Utc(2018, 12, 31, 23, 59, 58));
        (await ftp.SendAsync("MDTM sub dir/ü.txt")).Text.ShouldBe("213 20181231235958");
        // A file whose whole name looks like the set form is read, not changed.
        var odd = File.GetLastWriteTimeUtc(Path.Combine(server.DemoHome, "20201231235959 odd.txt"));
        (await ftp.SendAsync("MDTM 20201231235959 odd.txt")).Text.ShouldBe($"213 {odd:yyyyMMddHHmmss}");

        (await ftp.SendAsync("SITE UTIME 201701020304 a.txt")).Code.ShouldBe(200);
        File.GetLastWriteTimeUtc(Path.Combine(server.DemoHome, "a.txt")).ShouldBe(Utc(2017, 1, 2, 3, 4, 0));
        (await ftp.SendAsync("SITE UTIME b c.txt 20160101000000 20160203040506 20160101000000 UTC")).Code.ShouldBe(200);
        File.GetLastWriteTimeUtc(Path.Combine(server.DemoHome, "b c.txt")).ShouldBe(Utc(2016, 2, 3, 4, 5, 6));
        (await ftp.SendAsync("MFMT 20150101000000 sub dir")).Code.ShouldBe(213);
        Directory.GetLastWriteTimeUtc(Path.Combine(server.DemoHome, "sub dir")).ShouldBe(Utc(2015, 1, 1, 0, 0, 0));

        (await ftp.SendAsync("MDTM a.txt")).Text.ShouldBe("213 20170102030400");
        var mlsd = await ListAsync(ftp, "MLSD");
        mlsd.ShouldContain("modify=20170102030400;");
        mlsd.Split("\r\n").ShouldContain(l => l.Contains("modify=20160203040506;") && l.EndsWith(" b c.txt"));
        var list = await ListAsync(ftp, "LIST");
        list.Split("\r\n").ShouldContain(l => l.Contains(" Jan 02  2017 a.txt"));
        list.Split("\r\n").ShouldContain(l => l.Contains(" Jan 01  2015 sub dir"));

        (await ftp.SendAsync("MFMT 2020 a.txt")).Code.ShouldBe(501);
        (await ftp.SendAsync("MFMT 20201301000000 a.txt")).Code.ShouldBe(501, "month 13");
        (await ftp.SendAsync("MFMT 20200101000000")).Code.ShouldBe(501);
        (await ftp.SendAsync("MFMT 20200101000000 missing.txt")).Code.ShouldBe(550);
        (await ftp.SendAsync("SITE UTIME yesterday a.txt")).Code.ShouldBe(501);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Setting_times_is_refused_to_read_only_users_and_outside_the_home()
    {
        await using var server = await TestServer.StartAsync(usersToml: UsersToml());
        var outside = Directory.CreateDirectory(Path.Combine(server.Folder, "outside")).FullName;
        var secret = Path.Combine(outside, "secret.txt");
        await File.WriteAllTextAsync(secret, "outside");
        var mine = Path.Combine(server.DemoHome, "mine.txt");
        await File.WriteAllTextAsync(mine, "mine");
        File.CreateSymbolicLink(Path.Combine(server.DemoHome, "link-out"), outside);
        var (secretTime, mineTime, usersTime) =
            (File.GetLastWriteTimeUtc(secret), File.GetLastWriteTimeUtc(mine), File.GetLastWriteTimeUtc(server.UsersFile));
        var (secretMode, mineMode) = (File.GetUnixFileMode(secret), File.GetUnixFileMode(mine));

        await using var reader = await RawFtp.LoginAsync(server.Port, Reader, ReaderPassword);
        (await reader.SendAsync("MFMT 20000101000000 mine.txt")).Code.ShouldBe(550);
        (await reader.SendAsync("MDTM 20000101000000 mine.txt")).Code.ShouldBe(550);
        (await reader.SendAsync("SITE UTIME 200001010000 mine.txt")).Code.ShouldBe(550);
        (await reader.SendAsync("SITE UTIME mine.txt 20000101000000 20000101000000 20000101000000 UTC")).Code.ShouldBe(550);
        (await reader.SendAsync("SITE CHMOD 600 mine.txt")).Code.ShouldBe(550);
        (await reader.SendAsync("MDTM mine.txt")).Code.ShouldBe(213, "reading the time stays allowed");

        await using var demo = await RawFtp.LoginAsync(server.Port);
        foreach (var path in new[] { "link-out/secret.txt", "../../users.toml", "/../outside/secret.txt" })
        {
            (await demo.SendAsync($"MFMT 20000101000000 {path}")).Code.ShouldBe(550, path);
            (await demo.SendAsync($"MDTM 20000101000000 {path}")).Code.ShouldBe(550, path);
            (await demo.SendAsync($"SITE UTIME 200001010000 {path}")).Code.ShouldBe(550, path);
            (await demo.SendAsync($"SITE UTIME {path} 20000101000000 20000101000000 20000101000000 UTC")).Code.ShouldBe(550, path);
            // A mode the mask lets through, so that an escape would show on disk.
            (await demo.SendAsync($"SITE CHMOD 600 {path}")).Code.ShouldBe(550, path);
        }
        File.GetLastWriteTimeUtc(secret).ShouldBe(secretTime);
        File.GetLastWriteTimeUtc(server.UsersFile).ShouldBe(usersTime);
        File.GetLastWriteTimeUtc(mine).ShouldBe(mineTime);
        File.GetUnixFileMode(secret).ShouldBe(secretMode);
        File.GetUnixFileMode(mine).ShouldBe(mineMode);
    }

    [Test]
    [Platform(Exclude = "Win")]
    public async Task Site_chmod_sets_the_masked_mode_that_mlsd_mlst_and_list_then_show()
    {
        await using var server = await TestServer.StartAsync(usersToml: UsersToml());
        var file = Path.Combine(server.DemoHome, "run me.sh");
        await File.WriteAllTextAsync(file, "#!/bin/sh\n");
        Directory.CreateDirectory(Path.Combine(server.DemoHome, "d"));
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        (await ftp.SendAsync("SITE CHMOD 750 run me.sh")).Text.ShouldBe("200 SITE CHMOD command successful; mode 0750.");
        File.GetUnixFileMode(file).ShouldBe((UnixFileMode)Convert.ToInt32("750", 8));
        // The shipped mask (7002) drops setuid, setgid, sticky and others' write.
        (await ftp.SendAsync("SITE CHMOD 7777 d")).Text.ShouldBe("200 SITE CHMOD command successful; mode 0775.");
        File.GetUnixFileMode(Path.Combine(server.DemoHome, "d")).ShouldBe((UnixFileMode)Convert.ToInt32("775", 8));
        (await ftp.SendAsync("SITE CHMOD 0640 run me.sh")).Code.ShouldBe(200);

        (await ftp.SendAsync("FEAT")).Text.ShouldContain("UNIX.mode*;");
        (await ftp.SendAsync("MLST run me.sh")).Text.ShouldContain("UNIX.mode=0640;");
        var mlsd = await ListAsync(ftp, "MLSD");
        mlsd.Split("\r\n").ShouldContain(l => l.Contains("UNIX.mode=0775;") && l.EndsWith(" d"));
        var list = await ListAsync(ftp, "LIST");
        list.Split("\r\n").ShouldContain(l => l.StartsWith("-rw-r----- ") && l.EndsWith(" run me.sh"));
        list.Split("\r\n").ShouldContain(l => l.StartsWith("drwxrwxr-x ") && l.EndsWith(" d"));
        (await ftp.SendAsync("OPTS MLST type;unix.MODE;")).Text.ShouldBe("200 MLST OPTS type;UNIX.mode;");

        // A read-only user sees no write bits in LIST, the real mode in UNIX.mode.
        await using var reader = await RawFtp.LoginAsync(server.Port, Reader, ReaderPassword);
        (await ListAsync(reader, "LIST")).Split("\r\n").ShouldContain(l => l.StartsWith("dr-xr-xr-x ") && l.EndsWith(" d"));

        (await ftp.SendAsync("SITE CHMOD 8 run me.sh")).Code.ShouldBe(501);
        (await ftp.SendAsync("SITE CHMOD 12345 run me.sh")).Code.ShouldBe(501);
        (await ftp.SendAsync("SITE CHMOD 644")).Code.ShouldBe(501);
        (await ftp.SendAsync("SITE CHMOD 644 missing")).Code.ShouldBe(550);
        (await ftp.SendAsync("SITE CHMOD 000 /")).Code.ShouldBe(550);
        File.GetUnixFileMode(file).ShouldBe((UnixFileMode)Convert.ToInt32("640", 8));
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    [Platform(Exclude = "Win")]
    public async Task A_chmod_mask_of_0000_lets_the_setgid_bit_through()
    {
        await using var server = await TestServer.StartAsync(c => c with { ChmodMask = 0 });
        Directory.CreateDirectory(Path.Combine(server.DemoHome, "shared"));
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        (await ftp.SendAsync("SITE CHMOD 2775 shared")).Text.ShouldBe("200 SITE CHMOD command successful; mode 2775.");
        File.GetUnixFileMode(Path.Combine(server.DemoHome, "shared")).ShouldBe((UnixFileMode)Convert.ToInt32("2775", 8));
        (await ListAsync(ftp, "LIST")).ShouldContain("drwxrwsr-x ");
    }

    [Test]
    [Platform(Exclude = "Win")]
    public async Task Lftp_mirror_R_without_no_perms_brings_the_modes_over()
    {
        var lftp = Tools.Require("lftp");
        var local = Tools.NewFolder();
        try
        {
            await using var server = await TestServer.StartAsync();
            Directory.CreateDirectory(Path.Combine(local, "tree", "bin"));
            var secret = Path.Combine(local, "tree", "private.txt");
            var script = Path.Combine(local, "tree", "bin", "run.sh");
            await File.WriteAllTextAsync(secret, "private\n");
            await File.WriteAllTextAsync(script, "#!/bin/sh\necho hi\n");
            File.SetUnixFileMode(secret, (UnixFileMode)Convert.ToInt32("640", 8));
            File.SetUnixFileMode(script, (UnixFileMode)Convert.ToInt32("755", 8));

            var result = await Tools.RunAsync(lftp, ["-d", "-c",
                "set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; " +
                $"open -u {TestServer.DemoUser},{TestServer.DemoPassword} ftp://127.0.0.1:{server.Port}; mirror -R tree tree"],
                timeout: TimeSpan.FromSeconds(90), workingDirectory: local);
            result.ExitCode.ShouldBe(0, result.Output);
            result.Stderr.ShouldContain("SITE CHMOD");
            File.GetUnixFileMode(Path.Combine(server.DemoHome, "tree", "private.txt")).ShouldBe((UnixFileMode)Convert.ToInt32("640", 8));
            File.GetUnixFileMode(Path.Combine(server.DemoHome, "tree", "bin", "run.sh")).ShouldBe((UnixFileMode)Convert.ToInt32("755", 8));
            server.ShouldHaveLoggedNoErrors();
        }
        finally
        {
            Tools.DeleteQuietly(local);
        }
    }
}
