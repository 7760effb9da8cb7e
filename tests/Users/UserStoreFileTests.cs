using System.Collections.Immutable;
using ScriptFtp.Toml;
using Serilog.Events;

using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Users;

public class UserStoreFileTests
{
    private TempSetup _setup = null!;

    [SetUp]
    public void SetUp() => _setup = new TempSetup();

    [TearDown]
    public void TearDown() => _setup.Dispose();

    private static string CommentedHead => $"""
        # ScriptFtp users -- edited by hand, keep the comments!
        #   password: pbkdf2-sha256 hash, or plain text (hashed on the next change)

        [users.root]   # the boss
        password = "{TempSetup.RootHash}"
        home = "/"       # whole tree
        admin = true

        """;

    private const string CommentedDemo = """
        # A demo account for the website.
        [users.demo]
        password = "demopw"  # TODO: hash me
        read_only = true

        """;

    private const string CommentedTail = """
        # Guests come and go.
        [users.guest]
        password = "guestpw"
        # end of file
        """;

    private static string Commented => CommentedHead + "\n" + CommentedDemo + "\n" + CommentedTail;

    [Test]
    public async Task AddUser_keeps_comments_and_untouched_users_byte_for_byte()
    {
        _setup.Write(Commented);
        var store = _setup.Open();

        (await store.AddUserAsync("root", "carol", "pw")).Ok.ShouldBeTrue();

        var text = _setup.Text;
        text.ShouldStartWith(Commented.TrimEnd('\n'));
        text.ShouldContain("[users.carol]");
        var users = (TomlTable)ScriptFtp.Toml.Toml.Parse(text, "check")["users"];
        users.Keys.ShouldBe(["root", "demo", "guest", "carol"]);
    }

    [Test]
    public async Task Ban_keeps_everything_else_byte_for_byte()
    {
        _setup.Write(Commented);
        var store = _setup.Open();

        (await store.BanAsync("root", "demo")).Ok.ShouldBeTrue();

        var text = _setup.Text;
        text.ShouldStartWith(CommentedHead + "\n# A demo account for the website.\n[users.demo]\npassword = \"demopw\"  # TODO: hash me\n");
        text.ShouldEndWith(CommentedTail);
        var demo = (TomlTable)((TomlTable)ScriptFtp.Toml.Toml.Parse(text, "check")["users"])["demo"];
        demo["banned"].ShouldBe(true);
        demo["read_only"].ShouldBe(true);

        // Unban edits the line that ban added; only that line differs.
        (await store.UnbanAsync("root", "demo")).Ok.ShouldBeTrue();
        var after = _setup.Text;
        after.Replace("banned = false", "banned = true").ShouldBe(text);
    }

    [Test]
    public async Task Delete_keeps_the_other_users_and_their_comments()
    {
        _setup.Write(Commented);
        var store = _setup.Open();

        (await store.DeleteUserAsync("root", "demo")).Ok.ShouldBeTrue();

        var text = _setup.Text;
        text.ShouldStartWith(CommentedHead);
        text.ShouldEndWith(CommentedTail);
        text.ShouldNotContain("[users.demo]");
        text.ShouldNotContain("demopw");
        ((TomlTable)ScriptFtp.Toml.Toml.Parse(text, "check")["users"]).Keys.ShouldBe(["root", "guest"]);
    }

    [Test]
    public async Task Parallel_adds_are_all_kept()
    {
        var store = _setup.OpenWithAdmin();
        var names = Enumerable.Range(0, 200).Select(i => $"user{i:D3}").ToList();

        var results = await Task.WhenAll(names.Select(n => Task.Run(() => store.AddUserAsync("root", n, "pw-" + n))));

        results.ShouldAllBe(r => r.Ok);
        store.Users.Count.ShouldBe(201);
        var inFile = (TomlTable)ScriptFtp.Toml.Toml.Parse(_setup.Text, "check")["users"];
        inFile.Count.ShouldBe(201);
        foreach (var name in names)
            inFile.ContainsKey(name).ShouldBeTrue(name);

        store.Dispose();
        var again = _setup.Open();
        again.Users.Count.ShouldBe(201);
        again.Authenticate("user123", "pw-user123").Status.ShouldBe(AuthStatus.Ok);
    }

    [Test]
    public async Task Parallel_mixed_commands_are_serialized()
    {
        var extra = string.Concat(Enumerable.Range(0, 50).Select(i => $"[users.u{i}]\npassword = \"p\"\n"));
        var store = _setup.OpenWithAdmin(extra);

        var tasks = Enumerable.Range(0, 50).Select(i => Task.Run(() => (i % 3) switch
        {
            0 => store.BanAsync("root", $"u{i}"),
            1 => store.DeleteUserAsync("root", $"u{i}"),
            _ => store.AddUserAsync("root", $"n{i}", "pw"),
        }));
        (await Task.WhenAll(tasks)).ShouldAllBe(r => r.Ok);

        store.Dispose();
        var again = _setup.Open();
        for (var i = 0; i < 50; i++)
        {
            switch (i % 3)
            {
                case 0: again.Users[$"u{i}"].Banned.ShouldBeTrue(); break;
                case 1: again.Users.ContainsKey($"u{i}").ShouldBeFalse(); break;
                default: again.Users.ContainsKey($"n{i}").ShouldBeTrue(); break;
            }
        }
    }

    [Test]
    public async Task Hand_edit_is_picked_up_by_the_watcher()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"x\"\n");
        ImmutableDictionary<string, UserAccount>? changed = null;
        store.Changed += users => changed = users;

        // In-place write, as `echo >>` or a simple editor does.
        File.AppendAllText(_setup.UsersPath, "\n[users.handmade]\npassword = \"hm\"\nhome = \"hand/made\"\n");

        (await Tools.EventuallyAsync(() => store.Users.ContainsKey("handmade"))).ShouldBeTrue();
        store.Authenticate("handmade", "hm").Status.ShouldBe(AuthStatus.Ok);
        Directory.Exists(Path.Combine(_setup.Root, "hand", "made")).ShouldBeTrue();
        (await Tools.EventuallyAsync(() => changed?.ContainsKey("handmade") == true)).ShouldBeTrue();
        _setup.Sink.At(LogEventLevel.Warning).ShouldContain(w => w.Contains("handmade") && w.Contains("plain-text"));
    }

    [Test]
    public async Task Hand_edit_saved_by_rename_into_place_is_picked_up()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"x\"\n");

        var temp = Path.Combine(_setup.Directory, "users.toml.swp~");
        File.WriteAllText(temp, TempSetup.AdminToml + "[users.demo]\npassword = \"x\"\nbanned = true\n");
        File.Move(temp, _setup.UsersPath, overwrite: true);

        (await Tools.EventuallyAsync(() => store.Users["demo"].Banned)).ShouldBeTrue();
    }

    [Test]
    public async Task Own_writes_do_not_trigger_a_reload()
    {
        var store = _setup.OpenWithAdmin();
        var changes = 0;
        store.Changed += _ => Interlocked.Increment(ref changes);

        (await store.AddUserAsync("root", "carol", "pw")).Ok.ShouldBeTrue();
        await Task.Delay(700); // longer than the debounce

        changes.ShouldBe(1);
        _setup.Sink.Events.ShouldNotContain(e => e.Text.Contains("Reloaded"));
    }

    [Test]
    public async Task Hand_edit_with_a_syntax_error_keeps_the_last_good_users()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"x\"\n");
        var good = store.Users;

        _setup.Write(TempSetup.AdminToml + "[users.demo]\npassword = \"x\n"); // unterminated string on line 6

        (await Tools.EventuallyAsync(() => _setup.Sink.At(LogEventLevel.Error).Any())).ShouldBeTrue();
        var error = _setup.Sink.At(LogEventLevel.Error).Single();
        error.ShouldContain("users.toml(6,");
        store.Users.ShouldBeSameAs(good);
        store.Authenticate("demo", "x").Status.ShouldBe(AuthStatus.Ok);

        // Admin commands refuse rather than overwrite the admin's half-done edit.
        var refused = await store.AddUserAsync("root", "carol", "pw");
        refused.Ok.ShouldBeFalse();
        refused.Message.ShouldContain("users.toml(6,");
        _setup.Text.ShouldEndWith("password = \"x\n");

        // Fixing the file brings the new content in.
        _setup.Write(TempSetup.AdminToml + "[users.demo]\npassword = \"y\"\n");
        (await Tools.EventuallyAsync(() => store.Users["demo"].PasswordHash == "y")).ShouldBeTrue();
        (await store.AddUserAsync("root", "carol", "pw")).Ok.ShouldBeTrue();
    }

    [Test]
    public async Task Hand_edit_with_an_unknown_key_keeps_the_last_good_users()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"x\"\n");
        _setup.Write(TempSetup.AdminToml + "[users.demo]\npassword = \"x\"\nadmn = true\n");

        (await Tools.EventuallyAsync(() => _setup.Sink.At(LogEventLevel.Error).Any())).ShouldBeTrue();
        _setup.Sink.At(LogEventLevel.Error).Single().ShouldContain("admn");
        store.Users.Count.ShouldBe(2);
    }

    [Test]
    public async Task Change_right_after_a_hand_edit_does_not_lose_it()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"x\"\n");
        // No wait for the watcher: the command itself must notice the newer file.
        File.AppendAllText(_setup.UsersPath, "\n[users.quick]\npassword = \"q\"\n");
        (await store.AddUserAsync("root", "carol", "pw")).Ok.ShouldBeTrue();

        var users = (TomlTable)ScriptFtp.Toml.Toml.Parse(_setup.Text, "check")["users"];
        users.Keys.ShouldBe(["root", "demo", "quick", "carol"]);
        store.Users.ContainsKey("quick").ShouldBeTrue();
    }
    [Test]
    public async Task Deleted_file_keeps_the_users_and_the_next_change_recreates_it()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"x\"\n");
        File.Delete(_setup.UsersPath);

        (await Tools.EventuallyAsync(() => _setup.Sink.At(LogEventLevel.Warning).Any(w => w.Contains("missing")))).ShouldBeTrue();
        store.Users.Count.ShouldBe(2);

        (await store.AddUserAsync("root", "carol", "pw")).Ok.ShouldBeTrue();
        ((TomlTable)ScriptFtp.Toml.Toml.Parse(_setup.Text, "check")["users"]).Keys.ShouldBe(["root", "demo", "carol"]);
    }

    [Test]
    public async Task Rewrite_keeps_the_file_permissions()
    {
        if (OperatingSystem.IsWindows())
            return; // Unix file modes only
        var store = _setup.OpenWithAdmin();
        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        File.SetUnixFileMode(_setup.UsersPath, mode);

        (await store.AddUserAsync("root", "carol", "pw")).Ok.ShouldBeTrue();

        File.GetUnixFileMode(_setup.UsersPath).ShouldBe(mode);
    }

    [Test]
    public async Task A_failing_Changed_handler_does_not_break_the_change()
    {
        var store = _setup.OpenWithAdmin();
        var second = false;
        store.Changed += _ => throw new InvalidOperationException("boom");
        store.Changed += _ => second = true;

        (await store.AddUserAsync("root", "carol", "pw")).Ok.ShouldBeTrue();

        second.ShouldBeTrue();
        store.Users.ContainsKey("carol").ShouldBeTrue();
        _setup.Sink.At(LogEventLevel.Error).ShouldContain(e => e.Contains("handler"));
    }

    [Test]
    public async Task A_CRLF_users_file_stays_CRLF_through_every_admin_command()
    {
        _setup.Write(Commented.Replace("\n", "\r\n"));
        var store = _setup.Open();

        (await store.AddUserAsync("root", "carol", "pw")).Ok.ShouldBeTrue();
        (await store.BanAsync("root", "demo")).Ok.ShouldBeTrue();
        (await store.DeleteUserAsync("root", "guest")).Ok.ShouldBeTrue();

        var text = _setup.Text;
        text.Replace("\r\n", "").ShouldNotContain("\n");
        text.ShouldStartWith(CommentedHead.Replace("\n", "\r\n"));
        ((TomlTable)ScriptFtp.Toml.Toml.Parse(text, "check")["users"]).Keys.ShouldBe(["root", "demo", "carol"]);
    }

    [Test]
    public async Task Deleting_the_first_user_keeps_the_header_comment_of_the_file()
    {
        var header = "# ScriptFtp users.\n#\n# One [users.NAME] table per user.\n\n";
        _setup.Write(header + TempSetup.AdminToml.Replace("[users.root]", "[users.first]\npassword = \"x\"\n\n[users.root]"));
        var store = _setup.Open();

        (await store.DeleteUserAsync("root", "first")).Ok.ShouldBeTrue();

        _setup.Text.ShouldStartWith(header + "[users.root]\n");
    }
}
