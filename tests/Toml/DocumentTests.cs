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

    [Test]
    public void RemovingTheFirstUserKeepsTheFilesHeaderComment()
    {
        // The header is the first table's leading trivia in Tomlyn's tree; a blank line sets it apart from that table.
        const string text = "# users.toml\n# the header\n\n# about a\n[users.a]\nhome = \"/a\"\n\n[users.b]\nhome = \"/b\"\n";
        var edited = Doc(text).RemoveTable(["users", "a"]);
        edited.ToString().ShouldBe("# users.toml\n# the header\n\n[users.b]\nhome = \"/b\"\n");
        edited.RemoveTable(["users", "b"]).ToString().ShouldBe("# users.toml\n# the header\n\n");
    }

    [Test]
    public void NewTablesGetADottedHeaderNotAQuotedName()
    {
        var edited = Doc("").AddTable(["users", "carol"], [new("home", "/c")]).AddTable(["users", "d.e"], [new("home", "/d")]);
        edited.ToString().ShouldBe("[users.carol]\nhome = \"/c\"\n\n[users.\"d.e\"]\nhome = \"/d\"\n");
        ((TomlTable)edited.Model["users"]).Keys.ShouldBe(["carol", "d.e"]);
    }

    [Test]
    public void EveryKindOfEditKeepsACrlfFileCrlf()
    {
        var text = Users.Replace("\n", "\r\n");
        var edited = Doc(text)
            .Set([], "motd", "hi")
            .Set(["users", "bob smith"], "read_only", true)
            .Remove(["users", "alice"], "home")
            .Set(["users", "new"], "home", "/n")
            .RemoveTable(["users", "carol"]);
        edited.ToString().Replace("\r\n", "").ShouldNotContain("\n");
        edited.ToString().ShouldContain("    banned = false\r\n    read_only = true\r\n");
        Doc(edited.ToString()).ToString().ShouldBe(edited.ToString());
    }

    [Test]
    public void AChainOfEditsHandsTheSyntaxTreeOnSoNothingIsParsedAgain()
    {
        var doc = Doc();
        doc.HoldsSyntaxTree.ShouldBeTrue();
        var banned = doc.Set(["users", "alice"], "banned", true);
        doc.HoldsSyntaxTree.ShouldBeFalse();
        banned.HoldsSyntaxTree.ShouldBeTrue();
        var removed = banned.RemoveTable(["users", "carol"]).Remove(["users", "nobody"], "x");
        removed.HoldsSyntaxTree.ShouldBeTrue();
        // Refusals and no-op edits leave the tree where it was.
        Should.Throw<InvalidOperationException>(() => removed.AddTable(["users", "alice"], []));
        removed.Remove(["users", "alice"], "missing").ShouldBeSameAs(removed);
        removed.HoldsSyntaxTree.ShouldBeTrue();
    }

    [Test]
    public void AnEditedDocumentCanBeEditedAgainFromItsOwnText()
    {
        // The first edit hands the syntax tree on; a second edit of the same document parses its text again.
        var doc = Doc();
        var first = doc.Set(["users", "alice"], "admin", false);
        var second = doc.Set(["users", "alice"], "admin", false);
        second.ToString().ShouldBe(first.ToString());
        doc.ToString().ShouldBe(Users);
        first.Set(["users", "alice"], "admin", true).ToString().ShouldBe(Users);
    }

    [Test]
    public void ALastLineWithoutNewlineGetsOneBeforeWhatFollows()
    {
        Doc("a = 1  # one").Set([], "b", 2L).ToString().ShouldBe("a = 1  # one\nb = 2\n");
        Doc("a = 1").AddTable(["t"], [new("x", true)]).ToString().ShouldBe("a = 1\n\n[t]\nx = true\n");
        Doc("a = 1\nb = 2").Remove([], "b").ToString().ShouldBe("a = 1\n");
        Doc("[t]\nx = 1\n# end").RemoveTable(["t"]).ToString().ShouldBe("");
    }

    [Test]
    public void ACommentOnlyFileKeepsItsCommentsAboveNewContent()
    {
        Doc("# only a comment").Set([], "a", "x").ToString().ShouldBe("# only a comment\na = \"x\"\n");
        Doc("# c\n").AddTable(["t"], []).ToString().ShouldBe("# c\n\n[t]\n");
        Doc("# c\n\n# attached\n[t]\n").Set([], "a", 1L).ToString().ShouldBe("# c\n\na = 1\n# attached\n[t]\n");
    }

    [Test]
    public void ValuesThatCannotBeWrittenAreRefusedBeforeAnythingChanges()
    {
        var doc = Doc();
        Should.Throw<ArgumentException>(() => doc.Set(["users", "alice"], "since", new DateOnly(2024, 1, 1)));
        Should.Throw<ArgumentException>(() => doc.AddTable(["users", "x"], [new("tags", new[] { "a" })]));
        doc.Set(["users", "alice"], "admin", false).ToString().ShouldContain("admin = false");
    }

    [Test]
    public void AnEditThatWouldBreakTheRulesOfTablesIsRefused()
    {
        var doc = TomlDocument.Parse("[a]\nb.c = 1\n", "t.toml");
        Should.Throw<InvalidOperationException>(() => doc.Set(["a", "b"], "d", 2L)).Message
            .ShouldBe("cannot set \"d\" in [a.b] in t.toml: the result would not be valid TOML " +
                      "(table [a.b] was already defined with dotted keys and cannot be opened again with a header)");
        doc.Set(["a"], "e", 3L).ToString().ShouldBe("[a]\nb.c = 1\ne = 3\n");
    }
}
