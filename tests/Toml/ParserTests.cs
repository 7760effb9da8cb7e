using System.Text;
using ScriptFtp.Toml;
using TomlText = ScriptFtp.Toml.Toml;

namespace ScriptFtp.Tests.Toml;

public class ParserTests
{
    private static TomlException Fails(string text, string source = "t.toml") =>
        Should.Throw<TomlException>(() => TomlText.Parse(text, source));

    [Test]
    public void MissingEqualsHasPositionAndWhatWasFound()
    {
        var e = Fails("# config\n[server]\nport 21\n");
        e.Message.ShouldBe("t.toml(3,6): Expecting `=` after a key instead of 21");
        e.SourceName.ShouldBe("t.toml");
        e.Position.ShouldBe(new TomlPosition(3, 6));
        e.Reason.ShouldBe("Expecting `=` after a key instead of 21");
    }

    [TestCase("a = 1\na = 2\n", 2, 1, "key \"a\" is defined twice")]
    [TestCase("[a]\n[a]\n", 2, 2, "table [a] is defined twice")]
    [TestCase("a = \"x\n", 1, 7, "Invalid newline in a string")]
    [TestCase("a = 0x\n", 1, 5, "Unexpected token `0x` for a value")]
    [TestCase("a = 9223372036854775808\n", 1, 5, "Unable to parse integer `9223372036854775808`")]
    [TestCase("a = 2021-02-30\n", 1, 5, "Unable to parse the date time/offset `2021-02-30`")]
    [TestCase("a = {x = 1}\n[a]\n", 2, 2, "table [a] was already defined as an inline table, which cannot be extended")]
    [TestCase("a = [1]\n[[a]]\n", 2, 3, "cannot append to \"a\" with [[a]]: it is a static array")]
    [TestCase("a = 1 b = 2\n", 1, 7, "Unexpected token found `b` while expecting token `newline`")]
    [TestCase("a = \"\\q\"\n", 1, 7,
        "Unexpected escape character [q] in string. Only b t n f r e \\ \" xHH u0000-uFFFF U00000000-UFFFFFFFF are allowed")]
    [TestCase("x = 1\n\ty = 1\u0001\n", 2, 7, "Unexpected token found `\\u1;` while expecting token `newline`",
        TestName = "ErrorsArePositioned(control character)")]
    [TestCase("[ users . \"bob smith\" ]\nname = 'x'\n[users.\"bob smith\"]\n", 3, 8, "table [users.\"bob smith\"] is defined twice")]
    public void ErrorsArePositioned(string text, int line, int column, string reason)
    {
        var e = Fails(text);
        e.Reason.ShouldBe(reason);
        e.Position.ShouldBe(new TomlPosition(line, column));
        e.Message.ShouldBe($"t.toml({line},{column}): {reason}");
    }

    [Test]
    public void InvalidUtf8IsATomlExceptionWithPosition()
    {
        var bytes = Encoding.UTF8.GetBytes("a = 1\nb = \"x").Concat(new byte[] { 0xC3, 0x28, (byte)'"', (byte)'\n' }).ToArray();
        var e = Should.Throw<TomlException>(() => TomlText.ParseUtf8(bytes, "u.toml"));
        e.Message.ShouldBe("u.toml(2,7): the file is not valid UTF-8");
    }

    [Test]
    public void LoneSurrogateInStringIsRejected()
    {
        Fails("a = \"\ud800\"\n").Reason.ShouldContain("surrogate");
    }

    [Test]
    public void ParseFileUsesFileName()
    {
        var path = Path.Combine(Path.GetTempPath(), $"toml-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, "a = \n");
        try
        {
            var e = Should.Throw<TomlException>(() => TomlText.ParseFile(path));
            e.SourceName.ShouldBe(Path.GetFileName(path));
            e.Message.ShouldBe(Path.GetFileName(path) + "(1,5): Unexpected token end-of-line found while expecting a value");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void ValuesHaveTheDocumentedClrTypes()
    {
        var t = TomlText.Parse("""
            s = "a\tb"
            i = 0xff
            f = 1e3
            b = true
            odt = 1979-05-27T07:32:00.5-07:00
            ldt = 1979-05-27 07:32:00
            ld = 1979-05-27
            lt = 07:32:00.999999999
            arr = [1, "two", 3.0]
            inl = { x.y = 1 }
            """, "t.toml");
        t["s"].ShouldBe("a\tb");
        t["i"].ShouldBe(255L);
        t["f"].ShouldBe(1000.0);
        t["b"].ShouldBe(true);
        t["odt"].ShouldBe(new DateTimeOffset(1979, 5, 27, 7, 32, 0, 500, TimeSpan.FromHours(-7)));
        var ldt = t["ldt"].ShouldBeOfType<DateTime>();
        ldt.ShouldBe(new DateTime(1979, 5, 27, 7, 32, 0));
        ldt.Kind.ShouldBe(DateTimeKind.Unspecified);
        t["ld"].ShouldBe(new DateOnly(1979, 5, 27));
        t["lt"].ShouldBe(new TimeOnly(7, 32, 0).Add(TimeSpan.FromTicks(9_999_999)));
        t["arr"].ShouldBeOfType<TomlArray>().ToList().ShouldBe(new object[] { 1L, "two", 3.0 });
        ((TomlTable)((TomlTable)t["inl"])["x"])["y"].ShouldBe(1L);
    }

    [Test]
    public void KeysKeepInsertionOrderAndPositions()
    {
        var t = TomlText.Parse("z = 1\na = 2\n\n[server]\n  port = 21\n[[u]]\n[[u]]\nn = 1\n", "t.toml");
        t.Keys.ShouldBe(["z", "a", "server", "u"]);
        t.PositionOf("a").ShouldBe(new TomlPosition(2, 1));
        t.PositionOf("missing").ShouldBe(default);
        var server = (TomlTable)t["server"];
        server.Position.ShouldBe(new TomlPosition(4, 1));
        server.PositionOf("port").ShouldBe(new TomlPosition(5, 3));
        var u = (TomlArray)t["u"];
        u.Count.ShouldBe(2);
        u.PositionOf(1).ShouldBe(new TomlPosition(7, 1));
    }

    [Test]
    public void BomAndCrlfAreAccepted()
    {
        var t = TomlText.Parse("\uFEFFa = \"\"\"\r\nx\r\ny\"\"\"\r\n", "t.toml");
        t["a"].ShouldBe("x\r\ny");
    }

    [Test]
    public void EmptyTableIsOneSharedInstance_AndAnEmptyDocumentHasNoKeys()
    {
        // TomlTable.Empty is one instance for every caller (missing config sections and plugin settings fall back to it).
        TomlTable.Empty.ShouldBeSameAs(TomlTable.Empty);
        TomlTable.Empty.Count.ShouldBe(0);
        // Parsing an empty document builds its own table (not necessarily Empty); it has no keys.
        TomlText.Parse("", "t.toml").Count.ShouldBe(0);
    }
}
