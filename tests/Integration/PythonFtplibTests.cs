using System.Net;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>
/// Python's ftplib: passive and active data connections over IPv4 and IPv6 (PASV, EPSV, PORT, EPRT),
/// REST in both directions, MLSD facts, SIZE, MDTM, renames, deletes, folders and NLST.
/// Each scenario is a function of one script; it asserts on its own and the test checks the exit code and the disk.
/// </summary>
public class PythonFtplibTests
{
    private const string Script = """
        import ftplib, hashlib, io, os, socket, sys

        scenario, host, port, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

        class EpsvFtp(ftplib.FTP):
            # ftplib only uses EPSV on IPv6; this makes it use EPSV on IPv4 too.
            def makepasv(self):
                return ftplib.parse229(self.sendcmd('EPSV'), self.sock.getpeername())

        def connect(cls=ftplib.FTP):
            ftp = cls()
            ftp.set_debuglevel(1)
            ftp.connect(host, port, timeout=20)
            ftp.login('demo', 'demo-pass')
            return ftp

        def sha(data):
            return hashlib.sha256(data).hexdigest()

        def payload(size, seed):
            return (hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1))[:size]

        def round_trip(ftp, name, size, seed):
            data = payload(size, seed)
            ftp.storbinary('STOR ' + name, io.BytesIO(data))
            got = io.BytesIO()
            ftp.retrbinary('RETR ' + name, got.write)
            assert got.getvalue() == data, 'downloaded bytes differ'
            assert ftp.size(name) == size, ftp.size(name)
            lines = []
            ftp.retrlines('LIST', lines.append)
            assert any(l.endswith(' ' + name) for l in lines), lines
            print('ROUND TRIP OK', name, sha(data))

        def expect_error(code, call, *args):
            try:
                call(*args)
            except ftplib.all_errors as e:
                assert str(e).startswith(code), f'expected {code}, got {e}'
                return str(e)
            raise AssertionError(f'expected {code}, the call succeeded')

        if scenario == 'pasv':
            ftp = connect()
            round_trip(ftp, 'pasv.bin', 1_000_003, 1)
        elif scenario == 'epsv4':
            ftp = connect(EpsvFtp)
            round_trip(ftp, 'epsv4.bin', 1_000_003, 2)
        elif scenario == 'epsv6':
            ftp = connect()
            assert ftp.af == socket.AF_INET6
            round_trip(ftp, 'epsv6.bin', 1_000_003, 3)
        elif scenario == 'port':
            ftp = connect()
            ftp.set_pasv(False)
            round_trip(ftp, 'port.bin', 1_000_003, 4)
        elif scenario == 'eprt6':
            ftp = connect()
            assert ftp.af == socket.AF_INET6
            ftp.set_pasv(False)
            round_trip(ftp, 'eprt6.bin', 1_000_003, 5)
        elif scenario == 'rest':
            ftp = connect()
            data = payload(2_000_000, 6)
            # Download from an offset.
            ftp.storbinary('STOR r.bin', io.BytesIO(data))
            tail = io.BytesIO()
            ftp.retrbinary('RETR r.bin', tail.write, rest=1_500_000)
            assert tail.getvalue() == data[1_500_000:], len(tail.getvalue())
            # Upload from an offset: the server keeps the first bytes and writes the rest after them.
            ftp.storbinary('STOR half.bin', io.BytesIO(data[:700_000]))
            ftp.storbinary('STOR half.bin', io.BytesIO(data[700_000:]), rest=700_000)
            back = io.BytesIO()
            ftp.retrbinary('RETR half.bin', back.write)
            assert back.getvalue() == data, len(back.getvalue())
            # Resuming part-way inside a file would overwrite data: refused while overwriting is off, file untouched.
            expect_error('550', ftp.storbinary, 'STOR half.bin', io.BytesIO(b'XYZ'), 8192, None, 10)
            assert ftp.size('half.bin') == 2_000_000, ftp.size('half.bin')
            # An offset past the end is refused.
            expect_error('554', ftp.retrbinary, 'RETR r.bin', lambda b: None, 8192, 3_000_000)
            print('REST OK')
        elif scenario == 'mlsd':
            ftp = connect()
            ftp.mkd('folder')
            ftp.storbinary('STOR data.bin', io.BytesIO(payload(12345, 7)))
            ftp.storbinary('STOR ünï.txt', io.BytesIO(b''))
            entries = dict(ftp.mlsd(facts=['type', 'size', 'modify']))
            assert set(entries) == {'folder', 'data.bin', 'ünï.txt'}, entries
            assert entries['folder']['type'] == 'dir', entries['folder']
            assert entries['data.bin']['type'] == 'file' and entries['data.bin']['size'] == '12345', entries['data.bin']
            assert entries['ünï.txt']['size'] == '0', entries['ünï.txt']
            assert len(entries['data.bin']['modify']) == 14 and entries['data.bin']['modify'].isdigit(), entries['data.bin']
            assert 'perm' not in entries['data.bin'], 'OPTS MLST should have limited the facts'
            mdtm = ftp.voidcmd('MDTM data.bin')
            assert mdtm == '213 ' + entries['data.bin']['modify'], (mdtm, entries['data.bin'])
            print('MLSD OK', sorted(entries))
        elif scenario == 'files':
            ftp = connect()
            assert ftp.pwd() == '/'
            assert ftp.mkd('a') == '/a'
            assert ftp.mkd('a/b c') == '/a/b c'
            ftp.cwd('a')
            assert ftp.pwd() == '/a'
            ftp.storbinary('STOR one.txt', io.BytesIO(b'one'))
            ftp.storbinary('STOR two.txt', io.BytesIO(b'two!'))
            assert sorted(ftp.nlst()) == ['b c', 'one.txt', 'two.txt'], ftp.nlst()
            assert ftp.size('two.txt') == 4
            assert ftp.sendcmd('MDTM one.txt').startswith('213 ')
            ftp.rename('one.txt', 'b c/uno.txt')
            # NLST of a folder names its files by the path asked for, as vsftpd does (mget relies on it).
            assert ftp.nlst('b c') == ['b c/uno.txt'], ftp.nlst('b c')
            expect_error('550', ftp.rename, 'one.txt', 'x.txt')
            expect_error('550', ftp.rename, 'two.txt', 'b c/uno.txt')
            ftp.delete('two.txt')
            expect_error('550', ftp.delete, 'two.txt')
            expect_error('550', ftp.rmd, 'b c')
            ftp.delete('b c/uno.txt')
            ftp.rmd('b c')
            expect_error('550', ftp.size, 'missing')
            expect_error('550', ftp.cwd, 'missing')
            ftp.cwd('..')
            assert ftp.nlst() == ['a'], ftp.nlst()
            ftp.storbinary('STOR keep.txt', io.BytesIO(b'keep'))
            expect_error('550', ftp.storbinary, 'STOR keep.txt', io.BytesIO(b'other'))
            expect_error('550', ftp.retrbinary, 'RETR nothing.bin', lambda b: None)
            assert ftp.quit().startswith('221')
            print('FILES OK')
        elif scenario == 'abort':
            ftp = connect()
            ftp.sock.settimeout(5)
            conn = ftp.transfercmd('RETR big.bin')
            assert len(conn.recv(65536)) > 0
            # ftplib sends ABOR as urgent (MSG_OOB) data, as RFC 959 suggests.
            first = ftp.abort()
            assert first.startswith('426'), first
            second = ftp.getresp()
            assert second.startswith('226'), second
            conn.close()
            assert ftp.voidcmd('NOOP').startswith('200')
            print('ABORT OK')
        else:
            raise SystemExit('unknown scenario ' + scenario)
        """;

    private string python = "";
    private string local = "";

    [SetUp]
    public void SetUp()
    {
        python = Tools.Require("python3");
        local = Tools.NewFolder();
        File.WriteAllText(Path.Combine(local, "scenarios.py"), Script);
    }

    [TearDown]
    public void TearDown() => Tools.DeleteQuietly(local);

    private async Task<ProcessResult> Run(TestServer server, string scenario, string host = "127.0.0.1")
    {
        var result = await Tools.RunAsync(python, [Path.Combine(local, "scenarios.py"), scenario, host, server.Port.ToString(), local],
            timeout: TimeSpan.FromSeconds(60), workingDirectory: local);
        result.ExitCode.ShouldBe(0, result.Output);
        return result;
    }

    [TestCase("pasv", "*cmd* 'PASV'", "*resp* '227 Entering Passive Mode (127,0,0,1,")]
    [TestCase("epsv4", "*cmd* 'EPSV'", "*resp* '229 Entering Extended Passive Mode (|||")]
    [TestCase("port", "*cmd* 'PORT 127,0,0,1,", "*resp* '200 PORT command successful.'")]
    public async Task Round_trip_over_IPv4(string scenario, string command, string reply)
    {
        await using var server = await TestServer.StartAsync();

        var result = await Run(server, scenario);

        result.Stdout.ShouldContain(command);
        result.Stdout.ShouldContain(reply);
        result.Stdout.ShouldContain("ROUND TRIP OK");
        new FileInfo(Path.Combine(server.DemoHome, scenario + ".bin")).Length.ShouldBe(1_000_003);
        server.ShouldHaveLoggedNoErrors();
    }

    [TestCase("epsv6", "*cmd* 'EPSV'", "*resp* '229 Entering Extended Passive Mode (|||")]
    [TestCase("eprt6", "*cmd* 'EPRT |2|::1|", "*resp* '200 EPRT command successful.'")]
    public async Task Round_trip_over_IPv6(string scenario, string command, string reply)
    {
        if (!System.Net.Sockets.Socket.OSSupportsIPv6) Assert.Ignore("IPv6 is not available");
        await using var server = await TestServer.StartAsync(listen: IPAddress.IPv6Loopback);

        var result = await Run(server, scenario, "::1");

        result.Stdout.ShouldContain(command);
        result.Stdout.ShouldContain(reply);
        result.Stdout.ShouldContain("ROUND TRIP OK");
        new FileInfo(Path.Combine(server.DemoHome, scenario + ".bin")).Length.ShouldBe(1_000_003);
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Rest_resumes_downloads_and_uploads()
    {
        await using var server = await TestServer.StartAsync();

        var result = await Run(server, "rest");

        result.Stdout.ShouldContain("*cmd* 'REST 1500000'");
        result.Stdout.ShouldContain("*cmd* 'REST 700000'");
        result.Stdout.ShouldContain("REST OK");
        new FileInfo(Path.Combine(server.DemoHome, "half.bin")).Length.ShouldBe(2_000_000);
        Tools.PartialFiles(server.DemoHome).ShouldBeEmpty();
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Mlsd_gives_type_size_and_modify_facts_matching_MDTM()
    {
        await using var server = await TestServer.StartAsync();

        var result = await Run(server, "mlsd");

        result.Stdout.ShouldContain("*cmd* 'OPTS MLST type;size;modify;'");
        result.Stdout.ShouldContain("MLSD OK");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Abort_sent_as_urgent_data_stops_a_RETR_and_the_session_goes_on()
    {
        await using var server = await TestServer.StartAsync();
        Directory.CreateDirectory(server.DemoHome);
        Tools.WriteRandomFile(Path.Combine(server.DemoHome, "big.bin"), 100L * 1024 * 1024, seed: 15);

        var result = await Run(server, "abort");

        result.Stdout.ShouldContain("ABORT OK");
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Folders_sizes_times_renames_deletes_and_name_lists()
    {
        await using var server = await TestServer.StartAsync();

        var result = await Run(server, "files");

        result.Stdout.ShouldContain("FILES OK");
        Directory.EnumerateFileSystemEntries(server.DemoHome).Select(Path.GetFileName).Order().ShouldBe(["a", "keep.txt"]);
        File.ReadAllText(Path.Combine(server.DemoHome, "keep.txt")).ShouldBe("keep");
        server.ShouldHaveLoggedNoErrors();
    }
}
