using System.Text;

namespace ScriptFtp.Client;

/// <summary>Entry point: <c>ScriptFtp.Client [host] [port] [--user NAME] [--password SECRET] [--verbose]</c>.</summary>
public static class Program
{
    /// <summary>Runs the REPL on the console; the return value is the exit code.</summary>
    public static Task<int> Main(string[] args)
    {
        var interactive = !Console.IsInputRedirected;
        return Repl.RunAsync(args, Console.In, Console.Out, Console.Error, Directory.GetCurrentDirectory(),
            interactive, showProgress: !Console.IsOutputRedirected, readPassword: interactive ? ReadHiddenLine : null);
    }

    // Reads a line without echoing it, so the password never shows on screen.
    static string? ReadHiddenLine()
    {
        var text = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.WriteLine();
                    return text.ToString();
                case ConsoleKey.Backspace:
                    if (text.Length > 0)
                        text.Length--;
                    break;
                default:
                    if (key.KeyChar == '\u0004' && text.Length == 0)
                        return null; // Ctrl+D on an empty line: no password coming.
                    if (!char.IsControl(key.KeyChar))
                        text.Append(key.KeyChar);
                    break;
            }
        }
    }
}
