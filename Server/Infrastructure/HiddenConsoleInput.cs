using System.Text;

// Compiled into the server and the client (linked file): only what both have, in their common namespace.
namespace ScriptFtp;

/// <summary>Reads a secret from the console without echoing it, so that a password never shows on screen.</summary>
internal static class HiddenConsoleInput
{
    /// <summary>
    /// Reads one line without echo; Backspace erases, other control keys are ignored. The line break is written to
    /// <paramref name="echo"/> so that what follows starts on a new line.
    /// </summary>
    /// <returns>The line, or null for Ctrl+D on an empty line (no secret coming).</returns>
    public static string? ReadLine(TextWriter echo)
    {
        var text = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    echo.WriteLine();
                    return text.ToString();
                case ConsoleKey.Backspace:
                    if (text.Length > 0)
                        text.Length--;
                    break;
                default:
                    if (key.KeyChar == '\u0004' && text.Length == 0)
                        return null;
                    if (!char.IsControl(key.KeyChar))
                        text.Append(key.KeyChar);
                    break;
            }
        }
    }
}
