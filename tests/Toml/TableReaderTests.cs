using ScriptFtp.Toml;
using TomlText = ScriptFtp.Toml.Toml;

namespace ScriptFtp.Tests.Toml;

public class TableReaderTests
{
    private enum Mode { Active, Passive }

    private static TomlTableReader Server(string body)
    {
        var root = TomlText.Parse("[server]\n" + body, "ftp.toml");
        return new TomlTableReader((TomlTable)root["server"], "ftp.toml", "server");
    }

    [Test]
    public void ReadsValuesAndDefaults()
    {
        var r = Server("""
            name = "x"
            port = 2121
            passive = true
            ratio = 2
            timeout = 1.5
            mode = "PASSIVE"
            hosts = ["a", "b"]
            [server.tls]
            cert = "c.pem"
            """);
        r.String("name", "d").ShouldBe("x");
        r.String("other", "d").ShouldBe("d");
        r.OptionalString("nothing").ShouldBeNull();
        r.Int32("port", 21, 1, 65535).ShouldBe(2121);
        r.Integer("absent", 7).ShouldBe(7L);
        r.Boolean("passive", false).ShouldBeTrue();
        r.Float("ratio", 0).ShouldBe(2.0);
        r.Seconds("timeout", TimeSpan.Zero).ShouldBe(TimeSpan.FromSeconds(1.5));
        r.Enum("mode", Mode.Active).ShouldBe(Mode.Passive);
        r.StringArray("hosts", []).ShouldBe(["a", "b"]);
        var tls = r.Table("tls").ShouldNotBeNull();
        tls.String("cert", "").ShouldBe("c.pem");
        tls.RejectUnknown();
        r.Table("none").ShouldBeNull();
        r.RejectUnknown();
    }

    [Test]
    public void UnknownKeyHasPositionAndHint()
    {
        var r = Server("prot = 21\n");
        r.Int32("port", 21, 1, 65535);
        var e = Should.Throw<TomlException>(r.RejectUnknown);
        e.Message.ShouldBe("ftp.toml(2,1): unknown key \"prot\" in [server]; did you mean \"port\"?");
    }

    [Test]
    public void UnknownKeyWithoutCloseMatchHasNoHint()
    {
        var r = Server("port = 21\nbanana = 1\n");
        r.Int32("port", 21);
        Should.Throw<TomlException>(r.RejectUnknown).Message.ShouldBe("ftp.toml(3,1): unknown key \"banana\" in [server]");
    }

    [Test]
    public void IgnoredKeysAreNotUnknown()
    {
        var r = Server("legacy = 1\n");
        r.Ignore("legacy");
        r.RejectUnknown();
    }

    [Test]
    public void WrongTypeNamesBothTypes()
    {
        var r = Server("port = \"21\"\n");
        Should.Throw<TomlException>(() => r.Int32("port", 21)).Message
            .ShouldBe("ftp.toml(2,8): key \"port\" in [server] must be an integer, not a string");
    }

    [Test]
    public void OutOfRangeNamesTheRange()
    {
        var r = Server("port = 70000\n");
        Should.Throw<TomlException>(() => r.Int32("port", 21, 1, 65535)).Message
            .ShouldBe("ftp.toml(2,8): key \"port\" in [server] must be between 1 and 65535, not 70000");
        Should.Throw<TomlException>(() => r.Integer("port", 21, max: 100)).Reason
            .ShouldBe("key \"port\" in [server] must be at most 100, not 70000");
    }

    [Test]
    public void EnumErrorListsAllowedValues()
    {
        var r = Server("mode = \"both\"\n");
        Should.Throw<TomlException>(() => r.Enum("mode", Mode.Active)).Reason
            .ShouldBe("key \"mode\" in [server] must be one of \"active\", \"passive\", not \"both\"");
    }

    [Test]
    public void StringArrayItemErrorPointsAtItem()
    {
        var r = Server("hosts = [\"a\", 2]\n");
        var e = Should.Throw<TomlException>(() => r.StringArray("hosts", []));
        e.Message.ShouldBe("ftp.toml(2,15): key \"hosts\" in [server] must be an array of strings, but item 2 is an integer");
    }

    [Test]
    public void NegativeSecondsAreRejected()
    {
        Should.Throw<TomlException>(() => Server("t = -1\n").Seconds("t", TimeSpan.Zero)).Reason.ShouldContain("from 0 up");
    }

    [Test]
    public void TableOfWrongType()
    {
        Should.Throw<TomlException>(() => Server("tls = 1\n").Table("tls")).Message
            .ShouldBe("ftp.toml(2,7): key \"tls\" in [server] must be a table, not an integer");
    }

    [Test]
    public void TablesEnumeratesUsersWithQuotedPaths()
    {
        var root = TomlText.Parse("""
            [users.alice]
            home = "/a"
            [users."bob smith"]
            homme = "/b"
            """, "users.toml");
        var top = new TomlTableReader(root, "users.toml");
        var users = top.Table("users").ShouldNotBeNull();
        var all = users.Tables().ToList();
        all.Select(u => u.Key).ShouldBe(["alice", "bob smith"]);
        users.RejectUnknown();
        top.RejectUnknown();
        all[0].Reader.String("home", "").ShouldBe("/a");
        all[0].Reader.RejectUnknown();
        all[1].Reader.String("home", "");
        Should.Throw<TomlException>(all[1].Reader.RejectUnknown).Message
            .ShouldBe("users.toml(4,1): unknown key \"homme\" in [users.\"bob smith\"]; did you mean \"home\"?");
    }

    [Test]
    public void TopLevelMessagesHaveNoTableName()
    {
        var r = new TomlTableReader(TomlText.Parse("x = true\n", "a.toml"), "a.toml");
        Should.Throw<TomlException>(() => r.String("x", "")).Message.ShouldBe("a.toml(1,5): key \"x\" must be a string, not a boolean");
    }

    [Test]
    public void ErrorBuildsPositionedException()
    {
        var r = Server("\nroot = \"/nope\"\n");
        var e = r.Error("root", "folder \"/nope\" does not exist");
        e.Message.ShouldBe("ftp.toml(3,1): folder \"/nope\" does not exist");
    }
}
