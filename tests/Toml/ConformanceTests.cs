using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ScriptFtp.Toml;

namespace ScriptFtp.Tests.Toml;

/// <summary>The toml-test corpus (TOML 1.1 cases: files-toml-1.1.0), read from ../shared/toml-test next to the repository.</summary>
public class ConformanceTests
{
    private static string? CorpusRoot()
    {
        var root = ScriptFtp.Tests.Support.Repo.TryRoot();
        return root is null ? null : Path.GetFullPath(Path.Combine(root, "..", "shared", "toml-test"));
    }

    private static IEnumerable<TestCaseData> Cases(string prefix)
    {
        var root = CorpusRoot();
        var list = root is null ? null : Path.Combine(root, "tests", "files-toml-1.1.0");
        if (list is null || !File.Exists(list))
        {
            yield return new TestCaseData("(none)")
                .SetName("{m}(corpus-missing)")
                .Ignore($"toml-test corpus not found at {root ?? "../shared/toml-test (no ScriptFtp.sln above the test directory)"}");
            yield break;
        }
        foreach (var line in File.ReadLines(list))
        {
            var path = line.Trim();
            if (!path.StartsWith(prefix, StringComparison.Ordinal) || !path.EndsWith(".toml", StringComparison.Ordinal)) continue;
            yield return new TestCaseData(path).SetName($"{{m}}({path})");
        }
    }

    public static IEnumerable<TestCaseData> ValidCases() => Cases("valid/");

    public static IEnumerable<TestCaseData> InvalidCases() => Cases("invalid/");

    private static string Full(string path) => Path.Combine(CorpusRoot()!, "tests", path);

    [TestCaseSource(nameof(ValidCases))]
    public void Valid(string path)
    {
        var table = ScriptFtp.Toml.Toml.ParseFile(Full(path));
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(Full(path), ".json")));
        TaggedJson.AssertEqual(expected.RootElement, table, "$");
    }

    [TestCaseSource(nameof(InvalidCases))]
    public void Invalid(string path)
    {
        var error = Assert.Throws<TomlException>(() => ScriptFtp.Toml.Toml.ParseFile(Full(path)));
        error!.Message.ShouldStartWith(Path.GetFileName(path) + "(");
        TestContext.Out.WriteLine(error.Message);
    }

    [TestCaseSource(nameof(ValidCases))]
    public void ValidDocumentsRoundTripByteForByte(string path)
    {
        var text = TomlSyntax.DecodeUtf8(File.ReadAllBytes(Full(path)), path);
        TomlDocument.Parse(text, Path.GetFileName(path)).ToString().ShouldBe(text);
    }

    [Test]
    public void TheListHasEveryCaseOfTheSpec()
    {
        ValidCases().Count().ShouldBe(220);
        InvalidCases().Count().ShouldBe(492);
    }
}

/// <summary>Compares a parsed tree with toml-test's tagged JSON.</summary>
internal static partial class TaggedJson
{
    public static void AssertEqual(JsonElement expected, object actual, string where)
    {
        switch (expected.ValueKind)
        {
            case JsonValueKind.Array:
                var array = actual.ShouldBeOfType<TomlArray>($"{where} should be an array");
                array.Count.ShouldBe(expected.GetArrayLength(), $"{where} length");
                var i = 0;
                foreach (var item in expected.EnumerateArray())
                {
                    AssertEqual(item, array[i], $"{where}[{i}]");
                    i++;
                }
                break;
            case JsonValueKind.Object when IsScalar(expected):
                AssertScalar(expected.GetProperty("type").GetString()!, expected.GetProperty("value").GetString()!, actual, where);
                break;
            case JsonValueKind.Object:
                var table = actual.ShouldBeOfType<TomlTable>($"{where} should be a table");
                var expectedKeys = expected.EnumerateObject().Select(p => p.Name).OrderBy(k => k, StringComparer.Ordinal).ToList();
                table.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList().ShouldBe(expectedKeys, $"{where} keys");
                foreach (var property in expected.EnumerateObject())
                    AssertEqual(property.Value, table[property.Name], $"{where}.{property.Name}");
                break;
            default:
                Assert.Fail($"{where}: unexpected JSON {expected.ValueKind}");
                break;
        }
    }

    private static bool IsScalar(JsonElement e) =>
        e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
        && e.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String
        && e.EnumerateObject().Count() == 2;

    private static void AssertScalar(string type, string value, object actual, string where)
    {
        switch (type)
        {
            case "string":
                actual.ShouldBeOfType<string>(where).ShouldBe(value, where);
                break;
            case "integer":
                actual.ShouldBeOfType<long>(where).ShouldBe(long.Parse(value, CultureInfo.InvariantCulture), where);
                break;
            case "float":
                var d = actual.ShouldBeOfType<double>(where);
                var expected = value switch
                {
                    "inf" or "+inf" => double.PositiveInfinity,
                    "-inf" => double.NegativeInfinity,
                    "nan" or "+nan" or "-nan" => double.NaN,
                    _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
                };
                if (double.IsNaN(expected)) double.IsNaN(d).ShouldBeTrue(where);
                else d.ShouldBe(expected, where);
                break;
            case "bool":
                actual.ShouldBeOfType<bool>(where).ShouldBe(value == "true", where);
                break;
            case "datetime":
                var dto = actual.ShouldBeOfType<DateTimeOffset>(where);
                var expectedDto = DateTimeOffset.Parse(SevenDigits(value), CultureInfo.InvariantCulture);
                dto.ShouldBe(expectedDto, where);
                dto.Offset.ShouldBe(expectedDto.Offset, where);
                break;
            case "datetime-local":
                var dt = actual.ShouldBeOfType<DateTime>(where);
                dt.Kind.ShouldBe(DateTimeKind.Unspecified, where);
                dt.ShouldBe(DateTime.Parse(SevenDigits(value), CultureInfo.InvariantCulture), where);
                break;
            case "date-local":
                var date = DateOnly.ParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture);
                actual.ShouldBeOfType<DateOnly>(where).ShouldBe(date, where);
                break;
            case "time-local":
                actual.ShouldBeOfType<TimeOnly>(where).ShouldBe(TimeOnly.Parse(SevenDigits(value), CultureInfo.InvariantCulture), where);
                break;
            default:
                Assert.Fail($"{where}: unknown tagged type {type}");
                break;
        }
    }

    // .NET keeps 100 ns ticks, as does the parser; extra fraction digits in the expectation are truncated alike.
    private static string SevenDigits(string value) => Fraction().Replace(value, m => m.Value[..8]);

    [GeneratedRegex(@"\.\d{8,}")]
    private static partial Regex Fraction();
}
