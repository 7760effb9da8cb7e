using ScriptFtp.Client;

namespace ScriptFtp.Tests.Client;

public class ReplyParserTests
{
    static Task<FtpReply?> Read(string text) => FtpReply.ReadAsync(new StringReader(text));

    [Test]
    public async Task Single_line_reply()
    {
        var reply = (await Read("220 Service ready\r\n"))!;
        reply.Code.ShouldBe(220);
        reply.Lines.ShouldBe(["220 Service ready"]);
        reply.Message.ShouldBe("Service ready");
        reply.IsCompletion.ShouldBeTrue();
    }

    [Test]
    public async Task Multi_line_reply_runs_until_the_same_code_followed_by_a_space()
    {
        var reader = new StringReader("211-Features:\r\n EPSV\r\n211-still going\r\n200 not mine\r\n211 End\r\n230 next reply\r\n");
        var reply = (await FtpReply.ReadAsync(reader))!;
        reply.Code.ShouldBe(211);
        reply.Lines.ShouldBe(["211-Features:", " EPSV", "211-still going", "200 not mine", "211 End"]);
        (await FtpReply.ReadAsync(reader))!.Code.ShouldBe(230);
    }

    [Test]
    public async Task A_bare_code_closes_a_multi_line_reply_and_is_a_reply_on_its_own()
    {
        (await Read("250-a\r\n250\r\n"))!.Lines.Count.ShouldBe(2);
        (await Read("200\r\n"))!.Code.ShouldBe(200);
    }

    [Test]
    public async Task End_of_stream_before_a_complete_reply_gives_null()
    {
        (await Read("")).ShouldBeNull();
        (await Read("211-Features:\r\n EPSV\r\n")).ShouldBeNull();
    }

    [TestCase("hello")]
    [TestCase("22 short")]
    [TestCase("2200 no separator")]
    public async Task Malformed_first_line_is_a_protocol_error(string line) =>
        await Should.ThrowAsync<FtpProtocolException>(() => Read(line + "\r\n"));

    [TestCase(150, true, false, false)]
    [TestCase(226, false, true, false)]
    [TestCase(331, false, false, false)]
    [TestCase(425, false, false, true)]
    [TestCase(550, false, false, true)]
    public void Reply_classes(int code, bool preliminary, bool completion, bool negative)
    {
        var reply = new FtpReply(code, [$"{code} x"]);
        (reply.IsPreliminary, reply.IsCompletion, reply.IsNegative).ShouldBe((preliminary, completion, negative));
    }

    [TestCase("229 Entering Extended Passive Mode (|||6446|)", 6446)]
    [TestCase("229 Extended (!!!1025!)", 1025)]
    [TestCase("229 no port here", null)]
    [TestCase("229 (|||70000|)", null)]
    public void Epsv_port(string line, int? port) => PassiveReply.EpsvPort(new FtpReply(229, [line])).ShouldBe(port);

    [TestCase("227 Entering Passive Mode (127,0,0,1,19,137)", 5001)]
    [TestCase("227 =10,0,0,7,4,1", 1025)]
    [TestCase("227 (300,0,0,1,1,1)", null)]
    [TestCase("227 nonsense", null)]
    public void Pasv_port(string line, int? port) => PassiveReply.PasvPort(new FtpReply(227, [line])).ShouldBe(port);
}

public class LocalNamesTests
{
    [TestCase("a.txt", "a.txt")]
    [TestCase("dir/a.txt", "a.txt")]
    [TestCase("/deep/dir/a b.txt", "a b.txt")]
    [TestCase(@"dir\a.txt", "a.txt")]
    public void Remote_path_saves_under_its_last_segment(string remote, string local) =>
        LocalNames.FromRemotePath(remote).ShouldBe(local);

    [TestCase("")]
    [TestCase("..")]
    [TestCase("dir/..")]
    [TestCase("/")]
    public void Paths_that_name_no_file_are_refused(string remote) =>
        Should.Throw<ArgumentException>(() => LocalNames.FromRemotePath(remote));

    [Test]
    public void A_free_name_is_kept() => LocalNames.FirstFree("a.txt", _ => false).ShouldBe("a.txt");

    [Test]
    public void Taken_names_get_new_prefixes_until_one_is_free()
    {
        string[] taken = ["a.txt", "new_a.txt"];
        LocalNames.FirstFree("a.txt", taken.Contains).ShouldBe("new_new_a.txt");
        LocalNames.FirstFree("a.txt", n => n == "a.txt").ShouldBe("new_a.txt");
    }
}

public class ReplCommandTests
{
    [TestCase("get", null)]
    [TestCase("GET", null)]
    [TestCase("RETR a.txt", "a.txt")]
    [TestCase("retr  my file.txt ", "my file.txt")]
    public void Downloads(string line, string? path) => ReplCommand.Parse(line).ShouldBe(new ReplCommand.Download(path));

    [TestCase("upload", null)]
    [TestCase("STOR b.bin", "b.bin")]
    [TestCase("Stor b.bin", "b.bin")]
    public void Uploads(string line, string? path) => ReplCommand.Parse(line).ShouldBe(new ReplCommand.Upload(path));

    [Test]
    public void The_other_words()
    {
        ReplCommand.Parse("ls").ShouldBe(new ReplCommand.List(null));
        ReplCommand.Parse("LIST sub").ShouldBe(new ReplCommand.List("sub"));
        ReplCommand.Parse("cd sub").ShouldBe(new ReplCommand.ChangeDirectory("sub"));
        ReplCommand.Parse("cd").ShouldBeOfType<ReplCommand.Invalid>();
        ReplCommand.Parse("PWD").ShouldBe(new ReplCommand.PrintDirectory());
        ReplCommand.Parse("Help").ShouldBe(new ReplCommand.Help());
        ReplCommand.Parse("exit").ShouldBe(new ReplCommand.Quit());
        ReplCommand.Parse("QUIT").ShouldBe(new ReplCommand.Quit());
        ReplCommand.Parse("   ").ShouldBeNull();
        ReplCommand.Parse("frobnicate").ShouldBeOfType<ReplCommand.Invalid>();
    }

    [Test]
    public void Admin_verbs_and_quote_pass_through()
    {
        ReplCommand.Parse("adduser bob secret").ShouldBe(new ReplCommand.Raw("ADDUSER bob secret"));
        ReplCommand.Parse("DELUSER bob").ShouldBe(new ReplCommand.Raw("DELUSER bob"));
        ReplCommand.Parse("ban 10.0.0.1").ShouldBe(new ReplCommand.Raw("BAN 10.0.0.1"));
        ReplCommand.Parse("UNBAN 10.0.0.1").ShouldBe(new ReplCommand.Raw("UNBAN 10.0.0.1"));
        ReplCommand.Parse("quote SITE chmod 644 x").ShouldBe(new ReplCommand.Raw("SITE chmod 644 x"));
        ReplCommand.Parse("quote").ShouldBeOfType<ReplCommand.Invalid>();
    }
}

public class ReplOptionsTests
{
    [Test]
    public void Defaults() => ReplOptions.Parse([]).ShouldBe(new ReplOptions("127.0.0.1", 2121, null, null, false, false));

    [Test]
    public void Host_port_and_options()
    {
        ReplOptions.Parse(["example.org", "21", "--user", "bob", "--password=pw", "-v"])
            .ShouldBe(new ReplOptions("example.org", 21, "bob", "pw", true, false));
    }

    [TestCase("127.0.0.1", "port")]
    [TestCase("127.0.0.1", "70000")]
    [TestCase("--bogus")]
    [TestCase("--user")]
    [TestCase("a", "1", "extra")]
    public void Bad_command_lines(params string[] args) => Should.Throw<ArgumentException>(() => ReplOptions.Parse(args));

    [Test]
    public void Summary_line_format() =>
        TransferProgress.Summary("Downloaded", "a.txt", "new_a.txt", 1234, TimeSpan.FromSeconds(0.01))
            .ShouldBe("Downloaded a.txt -> new_a.txt: 1,234 bytes in 0.01 s (123.4 KB/s)");
}
