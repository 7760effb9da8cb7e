using System.Collections.Immutable;
using System.Diagnostics;
using ScriptFtp.Tests.Support;
using ScriptFtp.Toml;
using Serilog.Events;

namespace ScriptFtp.Tests.Users;

public class UserStoreTests
{
    private TempSetup _setup = null!;

    [SetUp]
    public void SetUp() => _setup = new TempSetup();

    [TearDown]
    public void TearDown() => _setup.Dispose();

    [Test]
    public void Open_reads_users_with_defaults_and_creates_home_folders()
    {
        var store = _setup.OpenWithAdmin("""
            [users.demo]
            password = "demopw"
            read_only = true

            [users.alice]
            password = "x"
            home = "shared/alice"
            banned = true
            """);

        store.Users.Count.ShouldBe(3);
        store.Users["root"].ShouldBe(new UserAccount("root", TempSetup.RootHash, "/", true, false, false));
        store.Users["demo"].ShouldBe(new UserAccount("demo", "demopw", "demo", false, false, true));
        store.Users["alice"].Home.ShouldBe("shared/alice");
        store.Users["alice"].Banned.ShouldBeTrue();

        store.HomePath(store.Users["root"]).ShouldBe(Path.GetFullPath(_setup.Root));
        store.HomePath(store.Users["demo"]).ShouldBe(Path.Combine(Path.GetFullPath(_setup.Root), "demo"));
        Directory.Exists(Path.Combine(_setup.Root, "demo")).ShouldBeTrue();
        Directory.Exists(Path.Combine(_setup.Root, "shared", "alice")).ShouldBeTrue();
    }

    [Test]
    public void Names_are_case_sensitive()
    {
        var store = _setup.OpenWithAdmin("[users.Bob]\npassword = \"a\"\n[users.bob]\npassword = \"b\"\n");
        store.Users.ContainsKey("Bob").ShouldBeTrue();
        store.Users.ContainsKey("bob").ShouldBeTrue();
        store.Users.ContainsKey("BOB").ShouldBeFalse();
        store.Authenticate("Bob", "a").Status.ShouldBe(AuthStatus.Ok);
        store.Authenticate("BOB", "a").Status.ShouldBe(AuthStatus.BadCredentials);
    }

    [Test]
    public void ToString_does_not_show_the_password_hash()
    {
        var user = new UserAccount("u", "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc", "u",
            false, false, false);
        user.ToString().ShouldNotContain("argon2");
        user.ToString().ShouldNotContain("c29tZXNhbHQ");
        user.ToString().ShouldContain("Name = u");
    }

    [Test]
    public void Missing_file_means_no_users()
    {
        var store = _setup.Open();
        store.Users.ShouldBeEmpty();
    }

    [Test]
    public async Task A_plain_text_password_is_replaced_by_its_hash_keeping_the_comments()
    {
        var store = _setup.OpenWithAdmin("# Demo account, written by hand\n[users.demo]\npassword = \"Pl4inSecret\" # change me\nread_only = true\n");

        (await store.RehashAsync("demo", "Pl4inSecret")).Ok.ShouldBeTrue();

        var text = _setup.Text;
        text.ShouldNotContain("Pl4inSecret");
        text.ShouldContain("# Demo account, written by hand");
        text.ShouldContain("read_only = true");
        store.Users["demo"].PasswordHash.ShouldStartWith(Passwords.Prefix);
        store.Users["demo"].ReadOnly.ShouldBeTrue();
        store.Authenticate("demo", "Pl4inSecret").Status.ShouldBe(AuthStatus.Ok);
        store.Authenticate("demo", "wrong").Status.ShouldBe(AuthStatus.BadCredentials);
        _setup.Sink.Events.ShouldNotContain(e => e.Text.Contains("Pl4inSecret"));
    }

    [Test]
    public async Task An_old_PBKDF2_hash_is_replaced_by_Argon2id_keeping_the_comments()
    {
        const string old = "pbkdf2-sha256$100000$Ffg9d+TyKYLMRjNZSya/Vg==$1+QbviDwYTLZbgzgw4uKoQFjfny8QEG+Zo/znnIL0KA="; // "demo"
        var store = _setup.OpenWithAdmin($"# made by an earlier version\n[users.demo]\npassword = \"{old}\" # keep me\nread_only = true\n");
        _setup.Sink.Events.ShouldContain(e => e.Text.Contains("have an older password hash"));
        store.Authenticate("demo", "demo").Status.ShouldBe(AuthStatus.Ok);
        var before = _setup.Text;

        (await store.RehashAsync("demo", "demo")).Ok.ShouldBeTrue();

        var hash = store.Users["demo"].PasswordHash;
        hash.ShouldStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
        _setup.Text.ShouldBe(before.Replace(old, hash));
        store.Authenticate("demo", "demo").Status.ShouldBe(AuthStatus.Ok);
        store.Authenticate("demo", "demo!").Status.ShouldBe(AuthStatus.BadCredentials);
    }

    [Test]
    public async Task A_current_hash_is_not_rehashed()
    {
        var store = _setup.OpenWithAdmin($"[users.demo]\npassword = \"{TestHashes.Of("demopw")}\"\n");
        var before = _setup.Text;

        (await store.RehashAsync("demo", "demopw")).Message.ShouldContain("already hashed at the current strength");

        _setup.Text.ShouldBe(before);
    }

    [Test]
    public async Task Hashing_leaves_a_password_that_changed_meanwhile_alone()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"old\"\n");
        var hashedBefore = _setup.Text.Replace("\"old\"", $"\"{TestHashes.Of("new")}\"");
        _setup.Write(hashedBefore); // a hand edit the watcher has not picked up yet

        await store.RehashAsync("demo", "old");

        _setup.Text.ShouldBe(hashedBefore);
        store.Authenticate("demo", "new").Status.ShouldBe(AuthStatus.Ok);
        store.Authenticate("demo", "old").Status.ShouldBe(AuthStatus.BadCredentials);
    }

    [Test]
    public void Plain_text_password_is_accepted_with_a_warning_naming_the_user()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"Pl4inSecret\"\n");
        store.Authenticate("demo", "Pl4inSecret").Status.ShouldBe(AuthStatus.Ok);
        store.Authenticate("demo", "wrong").Status.ShouldBe(AuthStatus.BadCredentials);

        var warnings = _setup.Sink.At(LogEventLevel.Warning).ToList();
        warnings.Count(w => w.Contains("demo") && w.Contains("plain-text")).ShouldBe(1);
        warnings.ShouldNotContain(w => w.Contains("root"));
        _setup.Sink.Events.ShouldNotContain(e => e.Text.Contains("Pl4inSecret"));
    }

    [TestCase("[users.demo]\npassword = \"x\"\nshell = \"/bin/sh\"\n", "shell")]
    [TestCase("port = 21\n", "port")]
    [TestCase("[users.demo]\nhome = \"demo\"\n", "password")]
    [TestCase("[users.demo]\npassword = \"\"\n", "password")]
    [TestCase("[users.demo]\npassword = \"pbkdf2-sha256$x$y$z\"\n", "password")]
    [TestCase("[users.demo]\npassword = \"$argon2id$v=19$m=99999999,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\"\n",
        "m <= 65536")]
    [TestCase("[users.demo]\npassword = \"$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\"\n",
        "malformed password hash (expected $argon2id$v=19$m=<KiB>")]
    [TestCase("[users.demo]\npassword = \"x\"\nhome = \"../outside\"\n", "home")]
    [TestCase("[users.\"bad name\"]\npassword = \"x\"\n", "bad name")]
    [TestCase("[users.demo]\npassword = \"x\"\nadmin = \"yes\"\n", "admin")]
    [TestCase("[users.demo\npassword = \"x\"\n", "users.toml")]
    public void Invalid_file_is_rejected_with_a_position(string extra, string mentioned)
    {
        _setup.Write(TempSetup.AdminToml + extra);
        var ex = Should.Throw<TomlException>(() => _setup.Open());
        ex.Message.ShouldContain("users.toml(");
        ex.Message.ShouldContain(mentioned);
    }

    [Test]
    public void Home_that_escapes_the_root_is_refused_by_HomePath()
    {
        var store = _setup.OpenWithAdmin();
        Should.Throw<InvalidOperationException>(() => store.HomePath(new UserAccount("x", "p", "../x", false, false, false)));
        Should.Throw<InvalidOperationException>(() => store.HomePath(new UserAccount("x", "p", "a/../../x", false, false, false)));
        store.HomePath(new UserAccount("x", "p", "/sub/dir", false, false, false))
            .ShouldBe(Path.Combine(Path.GetFullPath(_setup.Root), "sub", "dir"));
    }

    [Test]
    public void Authenticate_known_unknown_wrong_and_banned()
    {
        var store = _setup.OpenWithAdmin($"""
            [users.demo]
            password = "{TestHashes.Of("demopw")}"

            [users.evil]
            password = "{TestHashes.Of("evilpw")}"
            banned = true
            """);

        var (status, user) = store.Authenticate("demo", "demopw");
        status.ShouldBe(AuthStatus.Ok);
        user!.Name.ShouldBe("demo");

        store.Authenticate("demo", "nope").ShouldBe((AuthStatus.BadCredentials, (UserAccount?)null));
        store.Authenticate("nobody", "demopw").ShouldBe((AuthStatus.BadCredentials, (UserAccount?)null));
        store.Authenticate("", "").ShouldBe((AuthStatus.BadCredentials, (UserAccount?)null));

        // A ban is only revealed to someone who knows the password.
        store.Authenticate("evil", "evilpw").Status.ShouldBe(AuthStatus.Banned);
        store.Authenticate("evil", "wrong").ShouldBe((AuthStatus.BadCredentials, (UserAccount?)null));
    }

    [Test]
    public void Unknown_user_takes_as_long_as_a_known_one()
    {
        var store = _setup.OpenWithAdmin($"[users.demo]\npassword = \"{TestHashes.Of("demopw")}\"\n");
        store.Authenticate("nobody", "x"); // warm up the dummy hash

        static double Median(Action action)
        {
            var times = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                var sw = Stopwatch.StartNew();
                action();
                times.Add(sw.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            return times[2];
        }

        var known = Median(() => store.Authenticate("demo", "wrong"));
        var unknown = Median(() => store.Authenticate("nobody", "wrong"));
        unknown.ShouldBeGreaterThan(known * 0.3);
    }

    [Test]
    public async Task AddUser_adds_hashes_and_creates_home()
    {
        var store = _setup.OpenWithAdmin();
        ImmutableDictionary<string, UserAccount>? seen = null;
        store.Changed += users => seen = users;

        var result = await store.AddUserAsync("root", "carol", "carolpw");

        result.Ok.ShouldBeTrue(result.Message);
        result.Message.ShouldContain("carol");
        store.Users["carol"].ShouldBe(store.Users["carol"] with { Home = "carol", Admin = false, Banned = false, ReadOnly = false });
        Passwords.IsPlainText(store.Users["carol"].PasswordHash).ShouldBeFalse();
        store.Authenticate("carol", "carolpw").Status.ShouldBe(AuthStatus.Ok);
        Directory.Exists(Path.Combine(_setup.Root, "carol")).ShouldBeTrue();
        seen.ShouldNotBeNull().ContainsKey("carol").ShouldBeTrue();

        var reparsed = ScriptFtp.Toml.Toml.Parse(_setup.Text, "check");
        var carol = (TomlTable)((TomlTable)reparsed["users"])["carol"];
        ((string)carol["password"]).ShouldStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
        carol["home"].ShouldBe("carol");
        _setup.Text.ShouldNotContain("carolpw");
    }

    [TestCase("")]
    [TestCase(".dot")]
    [TestCase("-dash")]
    [TestCase("has space")]
    [TestCase("../etc")]
    [TestCase("x]\n[users.y")]
    [TestCase("123456789012345678901234567890123")]
    public async Task AddUser_refuses_invalid_names_with_the_rule(string name)
    {
        var store = _setup.OpenWithAdmin();
        var before = _setup.Text;
        var result = await store.AddUserAsync("root", name, "pw");
        result.Ok.ShouldBeFalse();
        result.Message.ShouldContain(UserNames.Rule);
        _setup.Text.ShouldBe(before);
        store.Users.Count.ShouldBe(1);
    }

    [Test]
    public async Task AddUser_refuses_duplicates_and_empty_passwords()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"x\"\n");
        var before = _setup.Text;

        var dup = await store.AddUserAsync("root", "demo", "pw");
        dup.Ok.ShouldBeFalse();
        dup.Message.ShouldContain("already exists");

        var dupAdmin = await store.AddUserAsync("root", "root", "pw");
        dupAdmin.Ok.ShouldBeFalse();

        var empty = await store.AddUserAsync("root", "newbie", "");
        empty.Ok.ShouldBeFalse();
        empty.Message.ShouldContain("password");

        _setup.Text.ShouldBe(before);
        store.Users["demo"].PasswordHash.ShouldBe("x");
    }

    [Test]
    public async Task AddUser_reusing_an_existing_folder_says_so()
    {
        Directory.CreateDirectory(Path.Combine(_setup.Root, "olduser"));
        var store = _setup.OpenWithAdmin();
        var result = await store.AddUserAsync("root", "olduser", "pw");
        result.Ok.ShouldBeTrue();
        result.Message.ShouldContain("existing folder");
    }

    [Test]
    public async Task DeleteUser_keeps_files_and_refuses_self_unknown_and_last_admin()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"x\"\n");
        var file = Path.Combine(_setup.Root, "demo", "keep.txt");
        File.WriteAllText(file, "data");

        var self = await store.DeleteUserAsync("root", "root");
        self.Ok.ShouldBeFalse();
        self.Message.ShouldContain("own account");

        var lastAdmin = await store.DeleteUserAsync("demo", "root");
        lastAdmin.Ok.ShouldBeFalse();
        lastAdmin.Message.ShouldContain("last admin");

        var unknown = await store.DeleteUserAsync("root", "ghost");
        unknown.Ok.ShouldBeFalse();
        unknown.Message.ShouldContain("No such user");

        var invalid = await store.DeleteUserAsync("root", "../x");
        invalid.Ok.ShouldBeFalse();
        invalid.Message.ShouldNotContain("../x");

        store.Users.Count.ShouldBe(2);

        var ok = await store.DeleteUserAsync("root", "demo");
        ok.Ok.ShouldBeTrue(ok.Message);
        ok.Message.ShouldContain("kept");
        store.Users.ContainsKey("demo").ShouldBeFalse();
        File.ReadAllText(file).ShouldBe("data");
        ((TomlTable)ScriptFtp.Toml.Toml.Parse(_setup.Text, "check")["users"]).ContainsKey("demo").ShouldBeFalse();
        store.Authenticate("demo", "x").Status.ShouldBe(AuthStatus.BadCredentials);
    }

    [Test]
    public async Task Deleting_an_admin_is_fine_while_another_admin_remains()
    {
        var store = _setup.OpenWithAdmin("[users.admin2]\npassword = \"x\"\nadmin = true\n");
        var result = await store.DeleteUserAsync("admin2", "root");
        result.Ok.ShouldBeTrue(result.Message);
        var last = await store.DeleteUserAsync("someone", "admin2");
        last.Ok.ShouldBeFalse();
        last.Message.ShouldContain("last admin");
    }

    [Test]
    public async Task Ban_and_unban()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"demopw\"\n");
        var changes = new List<ImmutableDictionary<string, UserAccount>>();
        store.Changed += changes.Add;

        var self = await store.BanAsync("root", "root");
        self.Ok.ShouldBeFalse();
        self.Message.ShouldContain("yourself");

        var lastAdmin = await store.BanAsync("demo", "root");
        lastAdmin.Ok.ShouldBeFalse();
        lastAdmin.Message.ShouldContain("last admin");

        (await store.BanAsync("root", "ghost")).Ok.ShouldBeFalse();
        (await store.UnbanAsync("root", "ghost")).Ok.ShouldBeFalse();

        var notBanned = await store.UnbanAsync("root", "demo");
        notBanned.Ok.ShouldBeTrue();
        notBanned.Message.ShouldContain("not banned");
        changes.ShouldBeEmpty();

        var ban = await store.BanAsync("root", "demo");
        ban.Ok.ShouldBeTrue(ban.Message);
        store.Users["demo"].Banned.ShouldBeTrue();
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Banned);
        changes.Count.ShouldBe(1);
        changes[0]["demo"].Banned.ShouldBeTrue();
        ((TomlTable)((TomlTable)ScriptFtp.Toml.Toml.Parse(_setup.Text, "check")["users"])["demo"])["banned"].ShouldBe(true);

        var again = await store.BanAsync("root", "demo");
        again.Ok.ShouldBeTrue();
        again.Message.ShouldContain("already banned");
        changes.Count.ShouldBe(1);

        var unban = await store.UnbanAsync("root", "demo");
        unban.Ok.ShouldBeTrue(unban.Message);
        store.Users["demo"].Banned.ShouldBeFalse();
        store.Authenticate("demo", "demopw").Status.ShouldBe(AuthStatus.Ok);
        ((TomlTable)((TomlTable)ScriptFtp.Toml.Toml.Parse(_setup.Text, "check")["users"])["demo"])["banned"].ShouldBe(false);
        changes.Count.ShouldBe(2);
    }

    [Test]
    public async Task Restart_sees_the_changes()
    {
        var store = _setup.OpenWithAdmin("[users.demo]\npassword = \"x\"\n[users.gone]\npassword = \"y\"\n");
        (await store.AddUserAsync("root", "carol", "carolpw")).Ok.ShouldBeTrue();
        (await store.BanAsync("root", "demo")).Ok.ShouldBeTrue();
        (await store.DeleteUserAsync("root", "gone")).Ok.ShouldBeTrue();
        store.Dispose();

        var again = _setup.Open();
        again.Users.Keys.Order().ShouldBe(["carol", "demo", "root"]);
        again.Users["demo"].Banned.ShouldBeTrue();
        again.Authenticate("carol", "carolpw").Status.ShouldBe(AuthStatus.Ok);
    }

    [Test]
    public async Task No_temp_files_are_left_behind()
    {
        var store = _setup.OpenWithAdmin();
        (await store.AddUserAsync("root", "carol", "pw")).Ok.ShouldBeTrue();
        Directory.GetFiles(_setup.Directory).Select(Path.GetFileName).ShouldBe(["users.toml"]);
    }

    [Test]
    public async Task First_user_can_be_added_to_a_missing_file()
    {
        var store = _setup.Open();
        var result = await store.AddUserAsync("console", "first", "pw");
        result.Ok.ShouldBeTrue(result.Message);
        File.Exists(_setup.UsersPath).ShouldBeTrue();
        _setup.Text.ShouldContain("[users.first]");
    }
}
