namespace ScriptFtp.Client;

/// <summary>Entry point: <c>ScriptFtp.Client [host] [port] [options]</c>; see <c>--help</c>.</summary>
public static class Program
{
    /// <summary>Runs the REPL on the console; the return value is the exit code.</summary>
    public static Task<int> Main(string[] args)
    {
        var interactive = !Console.IsInputRedirected;
        return Repl.RunAsync(args, Console.In, Console.Out, Console.Error, Directory.GetCurrentDirectory(),
            interactive, showProgress: !Console.IsOutputRedirected,
            readPassword: interactive ? () => HiddenConsoleInput.ReadLine(Console.Out) : null);
    }
}
