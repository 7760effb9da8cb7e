using ScriptFtp.Plugins;
using ScriptFtp.Tests.Integration;
using ScriptFtp.Tests.Support;

namespace ScriptFtp.Tests.Plugins;

/// <summary>
/// Each plugin bug that used to end the server process (issue 12, point 4) now ends with the server still serving and
/// other sessions untouched: refused when the plugin loads, with its position, or stopped while it runs. One server holds
/// every faulty plugin; each test checks a fresh login and a session that was open before the fault.
/// </summary>
[TestFixture]
public sealed class PluginFaultTests
{
    private const string Ok = """AddCommand("OK", Access.Anyone, "OK", "Works.", ctx => ctx.Reply(200, "ok"));""";

    // name, script, the error it must be refused with. The faulty line is always line 2.
    private static readonly (string Name, string Script, string Error)[] Refused =
    [
        ("thread", """
            AddCommand("THREAD", Access.Anyone, "THREAD", "", ctx => {
                new Thread(() => throw new InvalidOperationException("on my own thread")).Start(); return ctx.Reply(200, "started"); });
            """, "plugins/thread.csx(2,5): error: new Thread: an exception on a thread the plugin starts would end the server process; " +
            "use Task.Run instead (an exception there stays in its task)"),
        ("pool", """
            AddCommand("POOL", Access.Anyone, "POOL", "", ctx => {
                ThreadPool.QueueUserWorkItem(_ => throw new InvalidOperationException("on a pool thread")); return ctx.Reply(200, "queued"); });
            """, "plugins/pool.csx(2,5): error: ThreadPool.QueueUserWorkItem: an exception in its callback would end the server process; " +
            "use Task.Run instead (an exception there stays in its task)"),
        ("timer", """
            AddCommand("TIMER", Access.Anyone, "TIMER", "", ctx => {
                var timer = new Timer(_ => throw new InvalidOperationException("in a timer"), null, 10, Timeout.Infinite); return ctx.Reply(200, "set"); });
            """, "plugins/timer.csx(2,17): error: a System.Threading.Timer callback that throws would end the server process, and the timer " +
            "outlives the handler; do the work inside a handler instead (await Task.Delay(time, ctx.Cancel) waits without a thread)"),
        ("timers", """
            AddCommand("TIMERS", Access.Anyone, "TIMERS", "", ctx => {
                var timer = new System.Timers.Timer(10); timer.Elapsed += (_, _) => throw new InvalidOperationException("elapsed"); return null; });
            """, "plugins/timers.csx(2,17): error: a System.Timers.Timer runs its Elapsed handler outside any handler's time limit, hides its " +
            "exceptions, and keeps old plugin code running after a reload; do the work inside a handler instead (await Task.Delay(time, ctx.Cancel) " +
            "waits without a thread)"),
        ("register", """
            AddCommand("REGISTER", Access.Anyone, "REGISTER", "", async ctx => {
                ctx.Cancel.Register(() => throw new InvalidOperationException("cancelled")); await Task.Delay(-1, ctx.Cancel); return null; });
            """, "plugins/register.csx(2,5): error: a CancellationToken.Register callback that throws ends the server process when the time " +
            "limit cancels the token; pass ctx.Cancel to the calls that take a token, or check ctx.Cancel.IsCancellationRequested, instead"),
        ("asyncvoid", """
            AddCommand("ASYNCVOID", Access.Anyone, "ASYNCVOID", "", ctx => { Later(); return ctx.Reply(200, "later"); });
            async void Later() { await Task.Yield(); throw new InvalidOperationException("async void"); }
            """, "plugins/asyncvoid.csx(2,1): error: async void method Later: an exception in it would end the server process; declare it " +
            "async Task and await it instead"),
        ("asynclocal", """
            AddCommand("ASYNCLOCAL", Access.Anyone, "ASYNCLOCAL", "", ctx => { Later(); return ctx.Reply(200, "later");
                async void Later() { await Task.Yield(); throw new InvalidOperationException("async void"); } });
            """, "plugins/asynclocal.csx(2,5): error: async void local function Later: an exception in it would end the server process; " +
            "declare it async Task and await it instead"),
        ("asynclambda", """
            AddCommand("ASYNCLAMBDA", Access.Anyone, "ASYNCLAMBDA", "", ctx => {
                Action later = async () => { await Task.Yield(); throw new InvalidOperationException("async void"); }; later(); return null; });
            """, "plugins/asynclambda.csx(2,20): error: this async lambda becomes an async void Action: an exception in it would end the " +
            "server process; make it return a Task (e.g. Func<Task>) and await it instead"),
        ("exit", """
            AddCommand("EXIT", Access.Anyone, "EXIT", "", ctx => {
                Environment.Exit(0); return null; });
            """, "plugins/exit.csx(2,5): error: Environment.Exit would stop the whole server and every session; return a reply instead " +
            "(or throw: the client gets 451)"),
        ("failfast", """
            AddCommand("FAILFAST", Access.Anyone, "FAILFAST", "", ctx => {
                System.Environment.FailFast("bug"); return null; });
            """, "plugins/failfast.csx(2,5): error: Environment.FailFast would stop the whole server and every session; return a reply " +
            "instead (or throw: the client gets 451)"),
        ("kill", """
            AddCommand("KILL", Access.Anyone, "KILL", "", ctx => {
                System.Diagnostics.Process.GetCurrentProcess().Kill(); return null; });
            """, "plugins/kill.csx(2,5): error: Process.Kill on the server's own process would stop every session; return a reply instead " +
            "(or throw: the client gets 451)"),
        ("killme", """
            var me = System.Diagnostics.Process.GetCurrentProcess();
            AddCommand("KILLME", Access.Anyone, "KILLME", "", ctx => { me.Kill(entireProcessTree: true); return null; });
            """, "plugins/killme.csx(2,60): error: Process.Kill on the server's own process would stop every session; return a reply " +
            "instead (or throw: the client gets 451)"),
        ("finalizer", """
            AddCommand("FINALIZER", Access.Anyone, "FINALIZER", "", ctx => { new Leaky(); return null; });
            class Leaky { ~Leaky() => throw new InvalidOperationException("finalizer"); }
            """, "plugins/finalizer.csx(2,15): error: a finalizer runs on the finalizer thread, where an exception ends the server process; " +
            "implement IDisposable and use `using` instead"),
        ("stackalloc", """
            AddCommand("STACKALLOC", Access.Anyone, "STACKALLOC", "", ctx => {
                Span<byte> buffer = stackalloc byte[int.Parse(ctx.Argument)]; return ctx.Reply(200, buffer.Length.ToString()); });
            """, "plugins/stackalloc.csx(2,25): error: stackalloc of more than 1024 elements, or of a size known only at run time, can " +
            "overflow the stack, which ends the server process; use an array (or ArrayPool<T>.Shared) instead"),
        ("marshal", """
            AddCommand("MARSHAL", Access.Anyone, "MARSHAL", "", ctx => {
                System.Runtime.InteropServices.Marshal.WriteInt32(IntPtr.Zero, 1); return null; });
            """, "plugins/marshal.csx(2,5): error: Marshal reads and writes memory unchecked, and a mistake crashes the server " +
            "process; use arrays, Span<T> or Memory<T> instead"),
    ];

    // Faults that load and run: each must end as a reply, with the plugin code stopped.
    private const string Recursion = """
        int Down(int n) => Down(n + 1) + 1;
        Func<int, int> down = null;
        down = n => down(n + 1) + 1;
        AddCommand("DEEP", Access.Anyone, "DEEP", "", ctx => ctx.Reply(200, Down(0).ToString()));
        AddCommand("DEEPLAMBDA", Access.Anyone, "DEEPLAMBDA", "", ctx => ctx.Reply(200, down(0).ToString()));
        AddCommand("DEEPCAUGHT", Access.Anyone, "DEEPCAUGHT", "", ctx =>
        {
            try { return ctx.Reply(200, Down(0).ToString()); }
            catch (InsufficientExecutionStackException) { return ctx.Reply(200, "the stack is guarded"); }
        });
        """;

    private const string Spin = """
        var spins = new long[4];
        void Work() { }
        AddCommand("SPIN", Access.Anyone, "SPIN", "", ctx => { while (true) Interlocked.Increment(ref spins[0]); });
        AddCommand("SPINCATCH", Access.Anyone, "SPINCATCH", "", ctx =>
        {
            while (true)
            {
                try { Work(); Interlocked.Increment(ref spins[1]); }
                catch (Exception) { }
            }
        });
        AddCommand("SPINGOTO", Access.Anyone, "SPINGOTO", "", ctx =>
        {
            again:
            Interlocked.Increment(ref spins[2]);
            goto again;
        });
        AddCommand("SPINTASK", Access.Anyone, "SPINTASK", "", ctx =>
        {
            _ = Task.Run(() => { for (;;) Interlocked.Increment(ref spins[3]); });
            return ctx.Reply(200, "spinning in the background");
        });
        AddCommand("SPINS", Access.Anyone, "SPINS <n>", "", ctx => ctx.Reply(200, Interlocked.Read(ref spins[int.Parse(ctx.Argument)]).ToString()));
        """;

    private const string SpinWhileLoading = """
        var n = 0L;
        while (true)
            if (++n % 1_000_000 == 0) Log.Information("still loading {N}", n);
        """;

    private const string TaskRun = """
        AddCommand("TASKRUN", Access.Anyone, "TASKRUN", "", ctx =>
        {
            _ = Task.Run(() => throw new InvalidOperationException("in a task nobody awaits"));
            return ctx.Reply(200, "started");
        });
        """;

    // Progress<T> runs its callback on a pool thread: no rule can list every such API, the backstop catches what escapes.
    private const string Callback = """
        AddCommand("CALLBACK", Access.Anyone, "CALLBACK", "", ctx =>
        {
            IProgress<int> progress = new Progress<int>(n => throw new InvalidOperationException($"callback {n}"));
            progress.Report(7);
            return ctx.Reply(200, "reported");
        });
        """;

    private PluginTestServer server = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => server = await PluginTestServer.StartAsync(
        Refused.ToDictionary(r => r.Name + ".csx", r => r.Script)
            .Concat(new Dictionary<string, string>
            {
                ["ok.csx"] = Ok, ["recursion.csx"] = Recursion, ["spin.csx"] = Spin, ["spinload.csx"] = SpinWhileLoading, ["taskrun.csx"] = TaskRun,
                ["callback.csx"] = Callback,
            })
            .ToDictionary(),
        c => c with { PluginTimeout = TimeSpan.FromSeconds(1), PluginsReload = false });

    [OneTimeTearDown]
    public async Task StopAsync() => await server.DisposeAsync();

    private static IEnumerable<TestCaseData> RefusedCases() => Refused.Select(r => new TestCaseData(r.Name, r.Error).SetArgDisplayNames(r.Name));

    [TestCaseSource(nameof(RefusedCases))]
    public async Task A_fault_no_handler_could_catch_is_refused_when_the_plugin_loads(string name, string error)
    {
        server.Plugins.Errors.ShouldContain(error, string.Join('\n', server.Plugins.Errors));
        server.Plugins.Errors.Count(e => e.StartsWith($"plugins/{name}.csx", StringComparison.Ordinal)).ShouldBe(1);
        server.Plugins.Loaded.ShouldNotContain(name);
        await using var other = await RawFtp.LoginAsync(server.Port);
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync(name.ToUpperInvariant())).Code.ShouldBe(500);
        await ShouldStillServeAsync(other);
    }

    [Test]
    public void Plugins_without_faults_load_beside_the_refused_ones()
    {
        server.Plugins.Loaded.ShouldBe(["callback", "ok", "recursion", "spin", "taskrun"]);
        server.Plugins.Errors.Length.ShouldBe(Refused.Length + 1);
    }

    [TestCase("DEEP")]
    [TestCase("DEEPLAMBDA")]
    public async Task Unbounded_recursion_becomes_451(string verb)
    {
        await using var other = await RawFtp.LoginAsync(server.Port);
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        var (code, text) = await ftp.SendAsync(verb);
        code.ShouldBe(451, text);
        text.ShouldContain("recursion plugin");
        server.Server.Log.Events.ShouldContain(e => e.Exception is InsufficientExecutionStackException);
        await ShouldStillServeAsync(other);
    }

    [Test]
    public async Task Unbounded_recursion_can_be_caught_by_the_handler()
    {
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("DEEPCAUGHT")).Text.ShouldBe("200 the stack is guarded");
    }

    [TestCase("SPIN", 0)]
    [TestCase("SPINCATCH", 1)]
    [TestCase("SPINGOTO", 2)]
    public async Task A_loop_that_ignores_ctx_Cancel_stops_at_the_time_limit(string verb, int counter)
    {
        await using var other = await RawFtp.LoginAsync(server.Port);
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        var (code, text) = await ftp.SendAsync(verb);
        // 451 either way: "did not answer within 1 s" when the host's timer is first, "local error" when the guard is.
        code.ShouldBe(451, text);
        text.ShouldContain("spin plugin");
        await ShouldStopAsync(ftp, counter);
        await ShouldStillServeAsync(other);
    }

    [Test]
    public async Task A_loop_in_a_task_the_handler_started_stops_at_the_handlers_time_limit()
    {
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("SPINTASK")).Text.ShouldBe("200 spinning in the background");
        (await Tools.EventuallyAsync(async () => Count(await ftp.SendAsync("SPINS 3")) > 0)).ShouldBeTrue("the background loop started");
        await Task.Delay(TimeSpan.FromSeconds(1));
        await ShouldStopAsync(ftp, 3);
    }

    [Test]
    public async Task A_top_level_that_loops_forever_is_stopped_at_the_time_limit()
    {
        // Whichever notices first, the guard in the loop or the loader's wait, reports it.
        server.Plugins.Errors.ShouldContain(e => e.StartsWith("plugins/spinload.csx", StringComparison.Ordinal)
            && e.Contains("error: the script failed while loading: ") && e.Contains("ran past") && e.Contains(" 1 s"));
        var lines = server.Server.Log.Events.Count(e => e.RenderMessage().Contains("still loading"));
        await Task.Delay(TimeSpan.FromSeconds(1));
        server.Server.Log.Events.Count(e => e.RenderMessage().Contains("still loading")).ShouldBe(lines);
    }

    [Test]
    public async Task An_exception_in_a_task_nobody_awaits_leaves_the_server_running()
    {
        await using var other = await RawFtp.LoginAsync(server.Port);
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("TASKRUN")).Text.ShouldBe("200 started");
        await Task.Delay(200);
        // An unobserved task exception is reported when the task is collected; .NET no longer ends the process for it.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        await ShouldStillServeAsync(other);
    }

    [Test]
    public async Task An_exception_escaping_a_callback_on_a_pool_thread_is_logged_and_the_server_carries_on()
    {
        await using var other = await RawFtp.LoginAsync(server.Port);
        await using var ftp = await RawFtp.ConnectAsync(server.Port);
        (await ftp.SendAsync("CALLBACK")).Text.ShouldBe("200 reported");
        (await Tools.EventuallyAsync(() => server.Server.Log.Events.Any(e =>
            e.RenderMessage().StartsWith("An exception escaped a callback or event handler of this plugin", StringComparison.Ordinal)
            && e.Properties["Plugin"].ToString() == "\"callback\"" && e.Exception?.Message == "callback 7"))).ShouldBeTrue();
        await ShouldStillServeAsync(other);
    }

    /// <summary>A fresh login works, and so does a session that was open before the fault.</summary>
    private async Task ShouldStillServeAsync(RawFtp other)
    {
        await using var fresh = await RawFtp.LoginAsync(server.Port);
        (await fresh.SendAsync("OK")).Text.ShouldBe("200 ok");
        (await other.SendAsync("PWD")).Code.ShouldBe(257);
        (await other.SendAsync("OK")).Text.ShouldBe("200 ok");
    }

    /// <summary>The loop's counter has stopped moving: its thread is free again.</summary>
    private static async Task ShouldStopAsync(RawFtp ftp, int counter)
    {
        // The guard stops the loop within a few iterations of the deadline; allow the reply and the clock some slack.
        await Task.Delay(300);
        var stopped = Count(await ftp.SendAsync($"SPINS {counter}"));
        stopped.ShouldBeGreaterThan(0);
        await Task.Delay(700);
        Count(await ftp.SendAsync($"SPINS {counter}")).ShouldBe(stopped);
    }

    private static long Count((int Code, string Text) reply)
    {
        reply.Code.ShouldBe(200, reply.Text);
        return long.Parse(reply.Text[4..], System.Globalization.CultureInfo.InvariantCulture);
    }
}
