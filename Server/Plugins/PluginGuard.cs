using System.ComponentModel;
using System.Runtime.CompilerServices;

namespace ScriptFtp.Plugins;

/// <summary>
/// The check the server compiles into plugin code (docs/plugins.md, "What protects the server"): at the start of every
/// method, local function, lambda and accessor, and at every loop iteration and <c>goto</c>. It turns runaway recursion into
/// an <see cref="InsufficientExecutionStackException"/> and stops plugin code that runs past its handler's time limit with
/// an <see cref="OperationCanceledException"/>. Plugins do not call it themselves.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class PluginGuard
{
    // The full check (an AsyncLocal read, a clock read, a stack probe) costs about 25 ns; counting down on the thread first
    // brings the usual call to about 1 ns. Runaway code is therefore stopped at most this many calls late.
    private const int Interval = 16;

    private static readonly AsyncLocal<Budget?> Current = new();

    // Runaway recursion unwinds slowly: the runtime's own limit (EnsureSufficientExecutionStack) allowed half a million
    // small frames on a pool thread's 8 MiB stack, and unwinding them took about a second. Plugin code gets this much.
    private const long MaxStack = 512 * 1024;

    [ThreadStatic] private static int _countdown;

    // The shallowest stack address plugin code has run at on this thread (stacks grow down).
    [ThreadStatic] private static nint _stackTop;

    /// <summary>Throws when the stack is nearly used up, or when the running handler is past its time limit.</summary>
    /// <exception cref="InsufficientExecutionStackException">Recursion has used up the stack.</exception>
    /// <exception cref="OperationCanceledException">
    /// The handler (or load) this code runs for is past its time limit, or its session ended.
    /// </exception>
    public static void Check()
    {
        if (--_countdown < 0) CheckNow();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void CheckNow()
    {
        _countdown = Interval;
        RuntimeHelpers.EnsureSufficientExecutionStack();
        var here = StackAddress();
        if (here > _stackTop) _stackTop = here;
        else if (_stackTop - here > MaxStack)
            throw new InsufficientExecutionStackException($"The plugin code used more than {MaxStack / 1024} KiB of stack: " +
                "runaway recursion?");
        if (Current.Value is not { } budget) return;
        if (Environment.TickCount64 >= budget.Deadline)
            throw new OperationCanceledException($"The plugin code ran past its time limit of {budget.Limit.TotalSeconds:0.###} s.",
                budget.Cancel);
        if (budget.Cancel.IsCancellationRequested)
            throw new OperationCanceledException("The plugin code was stopped: its session ended.", budget.Cancel);
    }

    /// <summary>Where this frame is on the stack: the address of a local, read without an unsafe block.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static nint StackAddress()
    {
        byte marker = 0;
        return Unsafe.ByteOffset(ref Unsafe.NullRef<byte>(), ref marker);
    }

    /// <summary>
    /// Starts a handler on the thread pool under a budget: the plugin code it runs, including tasks it starts, is stopped
    /// once <paramref name="limit"/> has passed or <paramref name="cancel"/> is cancelled.
    /// </summary>
    internal static Task<T> Run<T>(Func<Task<T>> handler, TimeSpan limit, CancellationToken cancel) =>
        Task.Run(() =>
        {
            // Set inside the work item: the pool restores its context afterwards, and the handler's awaits carry this one along.
            Current.Value = Budget.Of(limit, cancel);
            return handler();
        });

    /// <summary>Runs the synchronous start of <paramref name="start"/> (a script's top level) under a budget of <paramref name="limit"/>.
    /// </summary>
    internal static T Within<T>(TimeSpan limit, Func<T> start)
    {
        var outer = Current.Value;
        Current.Value = Budget.Of(limit, CancellationToken.None);
        try
        {
            return start();
        }
        finally
        {
            Current.Value = outer;
        }
    }

    /// <summary>
    /// A deadline rather than only a token: the host disposes its timer once the handler answers, but work the handler
    /// started stays bounded.
    /// </summary>
    private sealed record Budget(TimeSpan Limit, long Deadline, CancellationToken Cancel)
    {
        public static Budget Of(TimeSpan limit, CancellationToken cancel) =>
            new(limit, Environment.TickCount64 + (long)limit.TotalMilliseconds, cancel);
    }
}

/// <summary>
/// A plugin's failures in a row (exceptions and time-outs of any of its handlers). At <see cref="Limit"/> the plugin is
/// disabled until the next reload: its commands fall back to the ones they replaced, its event handlers are skipped.
/// </summary>
internal sealed class PluginHealth(PluginLog log)
{
    /// <summary>Failures in a row that disable a plugin.</summary>
    public const int Limit = 5;

    private int _failures;
    private int _disabled;

    public bool Disabled => Volatile.Read(ref _disabled) != 0;

    public void Succeeded()
    {
        // Read first: the usual case has nothing to reset, and a write would bounce the cache line between cores.
        if (Volatile.Read(ref _failures) != 0) Volatile.Write(ref _failures, 0);
    }

    public void Failed()
    {
        if (Interlocked.Increment(ref _failures) >= Limit && Interlocked.Exchange(ref _disabled, 1) == 0)
            log.Error("Plugin disabled until the next reload: its handlers failed or timed out {Count} times in a row. " +
                "Its commands fall back to the ones they replaced (or 500), its event handlers are skipped", Limit);
    }
}
