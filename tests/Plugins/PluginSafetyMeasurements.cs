using System.Diagnostics;
using ScriptFtp.Plugins;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Plugins;

/// <summary>
/// What the plugin safety checks cost, for docs/plugins.md: numbers, not checks. Run with
/// <c>--filter "Category=PluginMeasurements"</c>; the machine's load makes single runs noisy, so each figure is a median.
/// </summary>
[TestFixture, Explicit("measurements"), Category("PluginMeasurements")]
public sealed class PluginSafetyMeasurements
{
    private const string Loop = """
        AddSiteCommand("LOOP", Access.LoggedIn, "LOOP <n>", "Counts to n.", ctx =>
        {
            var n = int.Parse(ctx.Argument);
            var sum = 0L;
            for (var i = 0; i < n; i++) sum += i;
            return ctx.Reply(200, sum.ToString());
        });
        int Fib(int n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);
        AddSiteCommand("FIB", Access.LoggedIn, "FIB <n>", "Fibonacci, recursively.", ctx => ctx.Reply(200, Fib(int.Parse(ctx.Argument)).ToString()));
        """;

    [Test]
    public async Task Site_echo_round_trip_median_of_batches()
    {
        await using var server = await PluginTestServer.StartAsync(PluginTestServer.ShippedPlugins(), c => c with { PluginsReload = false });
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        for (var i = 0; i < 500; i++)
        {
            await ftp.SendAsync("NOOP");
            await ftp.SendAsync("SITE ECHO x");
        }
        foreach (var command in new[] { "NOOP", "SITE ECHO hello" })
        {
            var batches = new List<double>();
            for (var batch = 0; batch < 9; batch++)
            {
                var watch = Stopwatch.StartNew();
                for (var i = 0; i < 300; i++) (await ftp.SendAsync(command)).Code.ShouldBe(200);
                batches.Add(watch.Elapsed.TotalMicroseconds / 300);
            }
            batches.Sort();
            TestContext.Out.WriteLine($"{command,-16} median {batches[4]:0} µs per round trip (batches of 300: {batches[0]:0}..{batches[^1]:0} µs)");
        }
    }

    [Test]
    public async Task Instrumented_loop_and_recursion_in_a_handler()
    {
        await using var server = await PluginTestServer.StartAsync(new Dictionary<string, string> { ["loop.csx"] = Loop },
            c => c with { PluginsReload = false, PluginTimeout = TimeSpan.FromSeconds(30) });
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        foreach (var command in new[] { "SITE LOOP 100000000", "SITE FIB 32" })
        {
            await ftp.SendAsync(command);
            var times = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                var watch = Stopwatch.StartNew();
                (await ftp.SendAsync(command, TimeSpan.FromSeconds(60))).Code.ShouldBe(200);
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            TestContext.Out.WriteLine($"{command,-20} median {times[2]:0} ms ({times[0]:0}..{times[^1]:0} ms)");
        }
    }

    [Test]
    public async Task Compiling_the_shipped_plugins()
    {
        await using var server = await PluginTestServer.StartAsync(PluginTestServer.ShippedPlugins(), c => c with { PluginsReload = false });
        for (var i = 0; i < 3; i++) await server.Plugins.ReloadAsync();
        var times = new List<double>();
        for (var i = 0; i < 9; i++)
        {
            var watch = Stopwatch.StartNew();
            (await server.Plugins.ReloadAsync()).ShouldBeTrue();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        TestContext.Out.WriteLine($"reload of the 4 shipped plugins: median {times[4]:0} ms ({times[0]:0}..{times[^1]:0} ms)");
    }
}
