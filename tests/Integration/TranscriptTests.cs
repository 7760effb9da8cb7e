using System.Globalization;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Integration;

/// <summary>
/// Session transcripts as data (tests/Integration/transcripts.txt): each runs against a fresh server over a real
/// control connection and every reply code is checked. The file's header explains the format.
/// </summary>
public class TranscriptTests
{
    /// <summary>One step: send a line, or read a reply and check it.</summary>
    public sealed record Step(bool Send, string Line, int Code, string[] Contains, int LineNumber);

    /// <summary>One transcript: who is logged in, what is on disk first, and the steps.</summary>
    public sealed record Transcript(string Title, string User, IReadOnlyList<(string Kind, string Path, string Text)> Setup, IReadOnlyList<Step> Steps)
    {
        public override string ToString() => Title;
    }

    private const string FileName = "transcripts.txt";

    /// <summary>The transcripts file, found by walking up from the test binaries to the solution folder.</summary>
    private static string TranscriptsPath()
    {
        return Repo.File("tests", "Integration", FileName);
    }

    /// <summary>Parses the file; a malformed line throws with its line number.</summary>
    public static IReadOnlyList<Transcript> Parse(string[] lines)
    {
        var transcripts = new List<Transcript>();
        string? title = null;
        var user = TestServer.DemoUser;
        var setup = new List<(string, string, string)>();
        var steps = new List<Step>();
        void Flush()
        {
            if (title is null) return;
            if (steps.Count == 0) throw new FormatException($"{FileName}: transcript \"{title}\" has no steps");
            transcripts.Add(new Transcript(title, user, setup.ToArray(), steps.ToArray()));
        }
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var number = i + 1;
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (line.StartsWith("=== ", StringComparison.Ordinal))
            {
                Flush();
                title = line[4..].Trim();
                user = TestServer.DemoUser;
                setup = [];
                steps = [];
                continue;
            }
            if (title is null) throw new FormatException($"{FileName}({number}): a line before the first \"=== title\"");
            if (line.StartsWith("@ ", StringComparison.Ordinal)) user = line[2..].Trim();
            else if (line.StartsWith("+ ", StringComparison.Ordinal))
            {
                var parts = line[2..].Split(' ', 3);
                if (parts is not ["file" or "dir", _, ..]) throw new FormatException($"{FileName}({number}): expected \"+ file PATH [TEXT]\" or \"+ dir PATH\"");
                setup.Add((parts[0], parts[1], parts.Length > 2 ? parts[2] : ""));
            }
            else if (line.StartsWith("> ", StringComparison.Ordinal) || line == ">") steps.Add(new Step(true, line.Length > 2 ? line[2..] : "", 0, [], number));
            else if (line.StartsWith("< ", StringComparison.Ordinal))
            {
                var parts = line[2..].Split('|', StringSplitOptions.TrimEntries);
                if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var code))
                    throw new FormatException($"{FileName}({number}): \"{parts[0]}\" is not a reply code");
                steps.Add(new Step(false, line, code, parts[1..].Where(p => p.Length > 0).ToArray(), number));
            }
            else throw new FormatException($"{FileName}({number}): cannot read \"{line}\"");
        }
        Flush();
        return transcripts;
    }

    public static IEnumerable<TestCaseData> Transcripts() =>
        Parse(File.ReadAllLines(TranscriptsPath())).Select(t => new TestCaseData(t).SetArgDisplayNames(t.Title));

    [Test]
    public void The_transcripts_file_is_there_and_holds_transcripts() =>
        Parse(File.ReadAllLines(TranscriptsPath())).Count.ShouldBeGreaterThan(20);

    [TestCaseSource(nameof(Transcripts))]
    public async Task Run(Transcript transcript)
    {
        await using var server = await TestServer.StartAsync();
        var home = transcript.User == TestServer.AdminUser ? server.AdminHome : server.DemoHome;
        Directory.CreateDirectory(home);
        foreach (var (kind, path, text) in transcript.Setup)
        {
            var full = Path.Combine(home, path);
            if (kind == "dir") Directory.CreateDirectory(full);
            else
            {
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                File.WriteAllText(full, text);
            }
        }

        await using var ftp = transcript.User switch
        {
            "anonymous" => await RawFtp.ConnectAsync(server.Port),
            TestServer.AdminUser => await RawFtp.LoginAsync(server.Port, TestServer.AdminUser, TestServer.AdminPassword),
            TestServer.DemoUser => await RawFtp.LoginAsync(server.Port),
            var other => throw new FormatException($"unknown session \"@ {other}\" in \"{transcript.Title}\""),
        };

        var log = new List<string>();
        foreach (var step in transcript.Steps)
        {
            if (step.Send)
            {
                log.Add("> " + step.Line);
                await ftp.SendLineAsync(step.Line);
                continue;
            }
            var (code, text) = await ftp.ReadAsync(TimeSpan.FromSeconds(10));
            log.Add("< " + (code == 0 ? "(closed)" : text));
            var where = $"{FileName}({step.LineNumber}) expected \"{step.Line}\"\n--- session so far ---\n{string.Join('\n', log)}";
            code.ShouldBe(step.Code, where);
            foreach (var part in step.Contains) text.ShouldContain(part, Case.Sensitive, where);
        }
        server.ShouldHaveLoggedNoErrors();
    }

    [Test]
    public async Task Thirty_errors_in_a_row_end_the_session_with_421()
    {
        await using var server = await TestServer.StartAsync();
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        for (var i = 1; i < 30; i++) (await ftp.SendAsync("BOGUS" + i)).Code.ShouldBe(500);
        (await ftp.SendAsync("BOGUS30")).Code.ShouldBe(500);

        (await ftp.ReadAsync()).Code.ShouldBe(421);
        (await ftp.ReadAsync()).Code.ShouldBe(0);
        server.ShouldHaveLoggedNoErrors();
    }
}
