using System.Text;
using System.Text.RegularExpressions;
using ScriptFtp.Tests.Support;

using ScriptFtp.Tests.Integration;

namespace ScriptFtp.Tests.Plugins;

/// <summary>The plugin example in README.md is compiled and driven as written, so the README cannot drift from the API.</summary>
public class ReadmeExampleTests
{
    private static string ReadmeExample()
    {
        var readme = File.ReadAllText(Repo.File("README.md"));
        var match = Regex.Match(readme, @"```csharp\n// plugins/hello\.csx\n(.*?)```", RegexOptions.Singleline);
        match.Success.ShouldBeTrue("README.md should hold the plugins/hello.csx example");
        return match.Groups[1].Value;
    }

    [Test]
    public async Task The_readme_plugin_example_works_as_documented()
    {
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["hello.csx"] = ReadmeExample() });
        Directory.CreateDirectory(server.Server.DemoHome);
        File.WriteAllText(Path.Combine(server.Server.DemoHome, "a.keep"), "keep");
        File.WriteAllText(Path.Combine(server.Server.DemoHome, "b.txt"), "b");
        await using var ftp = await RawFtp.LoginAsync(server.Port);

        (await ftp.SendAsync("HELLO")).Text.ShouldBe("200 Hello demo, you are in /.");
        (await ftp.SendAsync("HELLO you")).Text.ShouldStartWith("200 Hello you,");
        (await ftp.SendAsync("DELE a.keep")).Code.ShouldBe(550);
        File.Exists(Path.Combine(server.Server.DemoHome, "a.keep")).ShouldBeTrue();
        (await ftp.SendAsync("DELE b.txt")).Code.ShouldBe(250);
        File.Exists(Path.Combine(server.Server.DemoHome, "b.txt")).ShouldBeFalse();
        (await ftp.SendAsync("SITE TIME")).Code.ShouldBe(200);
        (await PluginTestServer.UploadAsync(ftp, "tool.exe", Encoding.ASCII.GetBytes("MZ"))).Code.ShouldBe(553);
        File.Exists(Path.Combine(server.Server.DemoHome, "tool.exe")).ShouldBeFalse();
        (await PluginTestServer.UploadAsync(ftp, "ok.txt", Encoding.ASCII.GetBytes("ok"))).Code.ShouldBe(226);
        (await Tools.EventuallyAsync(() => server.Server.Log.Contains("uploaded \"/ok.txt\" (2 bytes)"))).ShouldBeTrue("the file-received log line");
        server.Server.ShouldHaveLoggedNoErrors();
    }
}
