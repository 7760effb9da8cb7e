using ScriptFtp.Toml;
using TomlText = ScriptFtp.Toml.Toml;

namespace ScriptFtp.Tests.Toml;

public class WriterTests
{
    private static TomlTable RoundTrip(TomlTable table)
    {
        var text = TomlText.Write(table);
        var back = TomlText.Parse(text, "written.toml");
        TreeComparer.AssertEqual(table, back, "$");
        return back;
    }

    [Test]
    public void ScalarsRoundTrip()
    {
        RoundTrip(new TomlTable(new Dictionary<string, object>
        {
            ["s"] = "quote \" backslash \\ tab \t newline \n del \u007f nul \0 emoji 😀",
            ["int"] = 42,
            ["min"] = long.MinValue,
            ["f"] = 0.1,
            ["whole"] = 3.0,
            ["negzero"] = -0.0,
            ["big"] = 1e300,
            ["inf"] = double.NegativeInfinity,
            ["nan"] = double.NaN,
            ["b"] = false,
            ["odt"] = new DateTimeOffset(2024, 2, 29, 23, 59, 59, TimeSpan.FromMinutes(-330)).AddTicks(1234567),
            ["utc"] = new DateTimeOffset(1, 1, 1, 0, 0, 0, TimeSpan.Zero),
            ["ldt"] = new DateTime(9999, 12, 31, 23, 59, 59),
            ["ld"] = new DateOnly(2000, 1, 1),
            ["lt"] = new TimeOnly(0, 0, 0, 1),
        }));
    }

    [Test]
    public void KeysThatAreNotBareAreQuoted()
    {
        var users = new TomlTable(new Dictionary<string, object>
        {
            ["bob smith"] = new Dictionary<string, object> { ["home"] = "/b" },
            ["alice"] = new Dictionary<string, object> { ["home"] = "/a" },
            [""] = new Dictionary<string, object> { ["x"] = 1 },
            ["dot.ted"] = new Dictionary<string, object> { ["\"q\""] = 1 },
        });
        var root = new TomlTable(new Dictionary<string, object> { ["users"] = users });
        var text = TomlText.Write(root);
        text.ShouldContain("[users.\"bob smith\"]\nhome = \"/b\"\n");
        text.ShouldContain("[users.alice]\n");
        text.ShouldContain("[users.\"dot.ted\"]\n\"\\\"q\\\"\" = 1\n");
        RoundTrip(root);
    }

    [Test]
    public void NestedStructuresRoundTrip()
    {
        var root = TomlText.Parse("""
            title = "x"
            empty = {}
            mixed = [1, "a", [2, 3], { k = "v" }, []]
            [a.b.c]
            d = 1
            [a]
            later = true
            [[fruit]]
            name = "apple"
            [fruit.physical]
            color = "red"
            [[fruit.variety]]
            name = "red delicious"
            [[fruit]]
            [emptytable]
            """, "t.toml");
        RoundTrip(root);
    }

    [Test]
    public void WriteOrdersPlainValuesBeforeTables()
    {
        var t = new TomlTable(new List<KeyValuePair<string, object>>
        {
            new("sub", new Dictionary<string, object> { ["x"] = 1 }),
            new("after", "value"),
        });
        TomlText.Write(t).ShouldBe("after = \"value\"\n\n[sub]\nx = 1\n");
        RoundTrip(t);
    }

    [Test]
    public void UnsupportedValuesAreRejected()
    {
        Should.Throw<ArgumentException>(() => new TomlTable(new Dictionary<string, object> { ["x"] = new object() }));
        Should.Throw<ArgumentException>(() => new TomlTable(new Dictionary<string, object> { ["x"] = TimeSpan.Zero }));
    }
}
