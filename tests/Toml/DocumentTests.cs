using ScriptFtp.Toml;

namespace ScriptFtp.Tests.Toml;

public class DocumentTests
{
    private const string Users = """
        # users.toml — managed by ScriptFtp; comments survive edits.

        default_quota = 100   # MB

        # Alice runs the place.
        [users.alice]
        password = "pbkdf2-sha256$1$aa$bb"  # set 2024-01-01
        home = "/srv/alice"
        admin = true
          # trailing comment inside alice

        # Bob: note the quoted name
        # (two comment lines)
        [users."bob smith"]
            home = "/srv/bob"   # indented
            banned = false

        [users.carol]
        home = "/srv/carol"
        # footer
        """;

    private static TomlDocument Doc(string text = Users) => TomlDocument.Parse(text, "users.toml");

    private static TomlTable User(TomlDocument doc, string name) => (TomlTable)((TomlTable)doc.Model["users"])[name];

    [Test]
    public void ParseExposesModelAndText()
    {
        var doc = Doc();
        doc.ToString().ShouldBe(Users);
        User(doc, "bob smith")["home"].ShouldBe("/srv/bob");
    }

    [Test]
    public void SetExistingKeyKeepsTrailingCommentAndEverythingElse()
    {
        var edited = Doc().Set(["users", "alice"], "password", "pbkdf2-sha256$2$cc$dd");
        edited.ToString().ShouldBe(Users.Replace("\"pbkdf2-sha256$1$aa$bb\"  # set", "\"pbkdf2-sha256$2$cc$dd\"  # set"));
        User(edited, "alice")["password"].ShouldBe("pbkdf2-sha256$2$cc$dd");
        Doc(edited.ToString()).Model.Count.ShouldBe(2);
    }

    [Test]
    public void SetNewKeyGoesAfterLastKeyWithSameIndent()
    {
        var edited = Doc().Set(["users", "bob smith"], "read_only", true);
        edited.ToString().ShouldBe(Users.Replace(
            "    banned = false\n",
            "    banned = false\n    read_only = true\n"));
        User(edited, "bob smith")["read_only"].ShouldBe(true);
    }

    [Test]
    public void SetTopLevelKey()
    {
        var edited = Doc().Set([], "default_quota", 250L).Set([], "motd", "hi");
        edited.ToString().ShouldBe(Users.Replace("default_quota = 100   # MB\n", "default_quota = 250   # MB\nmotd = \"hi\"\n"));
        edited.Model["motd"].ShouldBe("hi");
    }

    [Test]
    public void SetInMissingTableAppendsIt()
    {
        var edited = Doc().Set(["users", "dave"], "home", "/srv/dave");
        edited.ToString().ShouldBe(Users + "\n\n[users.dave]\nhome = \"/srv/dave\"\n");
        User(edited, "dave")["home"].ShouldBe("/srv/dave");
    }

    [Test]
    public void RemoveKeyDeletesOnlyItsLine()
    {
        var edited = Doc().Remove(["users", "alice"], "home");
        edited.ToString().ShouldBe(Users.Replace("home = \"/srv/alice\"\n", ""));
        User(edited, "alice").ContainsKey("home").ShouldBeFalse();
        Doc().Remove(["users", "alice"], "nope").ToString().ShouldBe(Users);
    }

    [Test]
    public void AddTableAppendsWithBlankLineAndQuotesKeys()
    {
        var doc = Doc(Users + "\n");
        var edited = doc.AddTable(["users", "eve o'neil"], [new("password", "x"), new("home", "/srv/eve"), new("admin", false)]);
        edited.ToString().ShouldBe(Users + "\n\n[users.\"eve o'neil\"]\npassword = \"x\"\nhome = \"/srv/eve\"\nadmin = false\n");
        User(edited, "eve o'neil")["admin"].ShouldBe(false);
        Should.Throw<InvalidOperationException>(() => edited.AddTable(["users", "alice"], []));
    }

    [Test]
    public void AddTableToEmptyDocument()
    {
        var edited = TomlDocument.Parse("", "u.toml").AddTable(["users", "a"], [new("home", "/a")]);
        edited.ToString().ShouldBe("[users.a]\nhome = \"/a\"\n");
    }

    [Test]
    public void RemoveTableTakesAttachedCommentsAndKeepsTheRest()
    {
        var edited = Doc().RemoveTable(["users", "bob smith"]);
        edited.ToString().ShouldBe(Users.Replace("""
            # Bob: note the quoted name
            # (two comment lines)
            [users."bob smith"]
                home = "/srv/bob"   # indented
                banned = false


            """, ""));
        ((TomlTable)edited.Model["users"]).Keys.ShouldBe(["alice", "carol"]);
    }

    [Test]
    public void RemoveTableKeepsTheNextTablesComments()
    {
        var edited = Doc().RemoveTable(["users", "alice"]);
        edited.ToString().ShouldBe(Users.Replace("""
            # Alice runs the place.
            [users.alice]
            password = "pbkdf2-sha256$1$aa$bb"  # set 2024-01-01
            home = "/srv/alice"
            admin = true
              # trailing comment inside alice


            """, ""));
        edited.ToString().ShouldContain("# Bob: note the quoted name");
    }

    [Test]
    public void RemoveLastTableKeepsFooterAsPartOfIt()
    {
        var edited = Doc().RemoveTable(["users", "carol"]);
        edited.ToString().ShouldBe(Users[..Users.IndexOf("[users.carol]", StringComparison.Ordinal)]);
        Doc().RemoveTable(["users", "nobody"]).ToString().ShouldBe(Users);
    }

    [Test]
    public void RemoveTableAlsoRemovesSubTables()
    {
        var doc = TomlDocument.Parse("[a]\nx = 1\n[a.b]\ny = 2\n[c]\nz = 3\n[a.d]\nw = 4\n", "t.toml");
        var edited = doc.RemoveTable(["a"]);
        edited.ToString().ShouldBe("[c]\nz = 3\n");
    }

    [Test]
    public void CrlfDocumentsStayCrlf()
    {
        var text = Users.Replace("\n", "\r\n");
        var edited = Doc(text)
            .Set(["users", "carol"], "admin", true)
            .AddTable(["users", "zed"], [new("home", "/z")])
            .RemoveTable(["users", "alice"]);
        edited.ToString().ShouldNotContain("\r\r");
        edited.ToString().Replace("\r\n", "").ShouldNotContain("\n");
        User(edited, "carol")["admin"].ShouldBe(true);
        User(edited, "zed")["home"].ShouldBe("/z");
    }

    [Test]
    public void EditsAreImmutable()
    {
        var doc = Doc();
        _ = doc.Set(["users", "alice"], "admin", false);
        doc.ToString().ShouldBe(Users);
        User(doc, "alice")["admin"].ShouldBe(true);
    }

    [Test]
    public void TablesNotDeclaredWithHeadersCannotBeEditedInPlace()
    {
        var doc = TomlDocument.Parse("users.alice.home = \"/a\"\nbob = { home = \"/b\" }\n", "u.toml");
        Should.Throw<InvalidOperationException>(() => doc.Set(["users", "alice"], "admin", true))
            .Message.ShouldContain("cannot set \"admin\" in [users.alice] in u.toml");
        Should.Throw<InvalidOperationException>(() => doc.Set(["bob"], "admin", true));
        Should.Throw<InvalidOperationException>(() => doc.RemoveTable(["bob"]));
        Should.Throw<InvalidOperationException>(() => doc.Remove(["bob"], "home"));
        ((TomlTable)((TomlTable)doc.Model["users"])["alice"])["home"].ShouldBe("/a");
    }

    [Test]
    public void ImplicitTableGetsAHeaderWhenSet()
    {
        var doc = TomlDocument.Parse("[users.alice]\nhome = \"/a\"\n", "u.toml");
        var edited = doc.Set(["users"], "default_home", "/srv");
        ((TomlTable)edited.Model["users"])["default_home"].ShouldBe("/srv");
        edited.ToString().ShouldStartWith("[users.alice]\nhome = \"/a\"\n");
    }

    [Test]
    public void ManyEditsStayConsistent()
    {
        var doc = TomlDocument.Parse("# users\n", "u.toml");
        for (var i = 0; i < 20; i++)
            doc = doc.AddTable(["users", $"u{i}"], [new("home", $"/h/{i}"), new("banned", false)]);
        for (var i = 0; i < 20; i += 2)
            doc = doc.RemoveTable(["users", $"u{i}"]);
        for (var i = 1; i < 20; i += 4)
            doc = doc.Set(["users", $"u{i}"], "banned", true);
        var users = (TomlTable)doc.Model["users"];
        users.Count.ShouldBe(10);
        ((TomlTable)users["u5"])["banned"].ShouldBe(true);
        ((TomlTable)users["u3"])["banned"].ShouldBe(false);
        doc.ToString().ShouldStartWith("# users\n\n[users.u1]\n");
        TomlDocument.Parse(doc.ToString(), "u.toml").ToString().ShouldBe(doc.ToString());
    }

    [Test]
    public void ByteOrderMarkSurvivesEditsOfTheFirstLines()
    {
        var doc = TomlDocument.Parse("\uFEFF# top\n[a]\nx = 1\n[b]\ny = 2\n", "u.toml");
        doc.RemoveTable(["a"]).ToString().ShouldBe("\uFEFF[b]\ny = 2\n");
        TomlDocument.Parse("\uFEFFx = 1\n", "u.toml").Remove([], "x").ToString().ShouldBe("\uFEFF");
    }
}
