using System.Diagnostics;
using ScriptFtp.Plugins;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using ScriptFtp.Tests.Support;
using ScriptFtp.Toml;
using Serilog;

namespace ScriptFtp.Tests.Plugins;

/// <summary>
/// What the plugin safety checks cost, for docs/plugins.md: numbers, not checks. Run with
/// <c>--filter "Category=PluginMeasurements"</c>; the machine's load makes single runs noisy, so each figure is a median.
/// </summary>
[TestFixture, Explicit("measurements"), Category("PluginMeasurements")]
public sealed class PluginSafetyMeasurements
{
    // Loop and Fib run with no handler around them, so only the checks' own cost shows (no budget to read). Each is timed in
    // CPU time of the process (this test's thread does nearly all of it), which the load of other processes does not inflate.
    private const string Work = """
        long Loop(long n) { var sum = 0L; for (var i = 0L; i < n; i++) sum += i; return sum; }
        int Fib(int n) => n < 2 ? n : Fib(n - 1) + Fib(n - 2);
        double Time(Action work)
        {
            for (var i = 0; i < 3; i++) work();
            var times = new List<double>();
            for (var i = 0; i < 7; i++)
            {
                var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
                work();
                times.Add((System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds);
            }
            times.Sort();
            return times[3];
        }
        Log.Information("{Loop} {Fib}", Time(() => Loop(100_000_000)), Time(() => Fib(30)));
        """;

    [Test]
    public async Task Site_echo_round_trip_median_of_batches()
    {
        await using var server = await PluginTestServer.StartAsync(PluginTestServer.ShippedPlugins(),
            c => c with { PluginsReload = false });
        await using var ftp = await RawFtp.LoginAsync(server.Port);
        for (var i = 0; i < 500; i++)
        {
            await ftp.SendAsync("NOOP");
            await ftp.SendAsync("SITE ECHO x");
        }
        foreach (var command in new[] { "NOOP", "SITE ECHO hello" })
        {
            var (wall, cpu) = (new List<double>(), new List<double>());
            for (var batch = 0; batch < 9; batch++)
            {
                var watch = Stopwatch.StartNew();
                var used = Process.GetCurrentProcess().TotalProcessorTime;
                for (var i = 0; i < 300; i++) (await ftp.SendAsync(command)).Code.ShouldBe(200);
                cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - used).TotalMicroseconds / 300);
                wall.Add(watch.Elapsed.TotalMicroseconds / 300);
            }
            wall.Sort();
            cpu.Sort();
            TestContext.Out.WriteLine($"{command,-16} per round trip, median of 9 batches of 300: {wall[4]:0} µs wall clock " +
                $"({wall[0]:0}..{wall[^1]:0}), {cpu[4]:0} µs CPU time of client and server ({cpu[0]:0}..{cpu[^1]:0})");
        }
    }

    [Test]
    public async Task Loop_and_recursion_with_and_without_the_checks()
    {
        // The same script compiled by the plugin compiler (instrumented) and by Roslyn's scripting API (as written), in turns.
        var options = ScriptOptions.Default.AddReferences(typeof(Reply).Assembly)
            .AddImports("System", "System.Collections.Generic", "ScriptFtp.Plugins")
            .WithOptimizationLevel(Microsoft.CodeAnalysis.OptimizationLevel.Release);
        var plain = CSharpScript.Create(Work, options, typeof(PluginGlobals));
        var guarded = PluginCompiler.Compile("work", "/plugins/work.csx", "plugins/work.csx", Work);
        guarded.Errors.ShouldBeEmpty();
        for (var round = 0; round < 3; round++)
        {
            var log = new TestServer.LogCollector();
            var logger = new LoggerConfiguration().WriteTo.Sink(log).CreateLogger();
            var globals = new PluginGlobals("work", TomlTable.Empty, PluginLog.For(logger, "work"));
            await plain.RunAsync(globals);
            var context = new PluginLoadContext("work");
            await PluginLoader.Run(guarded, context, globals, TimeSpan.FromMinutes(10));
            context.Unload();
            var (without, with) = (log.Events.First().Properties, log.Events.Last().Properties);
            TestContext.Out.WriteLine($"CPU time, median of 7: 100M loop iterations {without["Loop"]} ms as written, {with["Loop"]} ms " +
                $"with the checks; Fib(30) (2.7M calls) {without["Fib"]} ms as written, {with["Fib"]} ms with the checks");
        }
    }

    [Test]
    public async Task Compiling_the_shipped_plugins()
    {
        await using var server = await PluginTestServer.StartAsync(PluginTestServer.ShippedPlugins(),
            c => c with { PluginsReload = false });
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
