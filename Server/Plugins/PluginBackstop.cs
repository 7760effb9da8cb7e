using System.Diagnostics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace ScriptFtp.Plugins;

/// <summary>
/// The last line of defence against an exception that escapes plugin code on a thread no handler awaits: a callback or
/// event handler that the runtime or a library calls on a pool thread (<c>Progress&lt;T&gt;</c>, a FileSystemWatcher
/// event…), which <see cref="PluginRules"/> cannot list. Such an exception would end the process; .NET 10 lets a host
/// that runs plug-ins decide instead (<see cref="ExceptionHandling.SetUnhandledExceptionHandler"/>). An exception that
/// went through a plugin's code is logged in that plugin's name and the server carries on; any other keeps the runtime's
/// verdict, so a bug in the server itself still ends it.
/// </summary>
internal static class PluginBackstop
{
    private static readonly ConditionalWeakTable<Assembly, PluginLog> Plugins = new();
    private static int _installed;

    /// <summary>Watches a plugin's freshly loaded assembly; the first call installs the process-wide handler.</summary>
    public static void Watch(Assembly assembly, PluginLog log)
    {
        Plugins.AddOrUpdate(assembly, log);
        if (Interlocked.Exchange(ref _installed, 1) != 0) return;
        try
        {
            ExceptionHandling.SetUnhandledExceptionHandler(Handle);
        }
        catch (InvalidOperationException)
        {
            // Only one handler per process: whoever hosts the server set one already, and it decides.
            log.Warning("Another unhandled-exception handler is installed: an exception escaping a plugin callback may end the process");
        }
    }

    private static bool Handle(Exception exception)
    {
        if (PluginOf(exception) is not { } log) return false;
        log.Error(exception, "An exception escaped a callback or event handler of this plugin, outside any command; the server " +
            "carries on. Catch exceptions in such callbacks: {Error}", exception.Message);
        return true;
    }

    /// <summary>The log of the plugin whose code the exception (or one it wraps) went through, if any.</summary>
    private static PluginLog? PluginOf(Exception exception)
    {
        foreach (var frame in new StackTrace(exception).GetFrames())
            if (frame.GetMethod()?.Module.Assembly is { } assembly && Plugins.TryGetValue(assembly, out var log)) return log;
        Exception[] inner = exception switch
        {
            AggregateException many => [.. many.InnerExceptions],
            { InnerException: { } one } => [one],
            _ => [],
        };
        return inner.Select(PluginOf).FirstOrDefault(log => log is not null);
    }
}
