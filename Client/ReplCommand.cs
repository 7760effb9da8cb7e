namespace ScriptFtp.Client;

// One REPL line, parsed. Words are case-insensitive; the argument is the rest of the line so names may hold spaces.
internal abstract record ReplCommand
{
    // Download; a null path means "ask for it".
    public sealed record Download(string? RemotePath) : ReplCommand;
    // Upload; a null path means "ask for it".
    public sealed record Upload(string? LocalPath) : ReplCommand;
    public sealed record List(string? Path) : ReplCommand;
    public sealed record ChangeDirectory(string Path) : ReplCommand;
    public sealed record PrintDirectory : ReplCommand;
    public sealed record Help : ReplCommand;
    public sealed record Quit : ReplCommand;
    // Sent to the server as-is; its reply is shown.
    public sealed record Raw(string Line) : ReplCommand;
    public sealed record Invalid(string Message) : ReplCommand;

    internal static readonly string[] AdminVerbs = ["ADDUSER", "DELUSER", "BAN", "UNBAN"];

    // Null for a blank line.
    public static ReplCommand? Parse(string line)
    {
        var trimmed = line.Trim();
        if (trimmed.Length == 0)
            return null;
        var space = trimmed.IndexOfAny([' ', '\t']);
        var word = space < 0 ? trimmed : trimmed[..space];
        var argument = space < 0 ? null : trimmed[(space + 1)..].Trim();
        var verb = word.ToUpperInvariant();

        if (AdminVerbs.Contains(verb))
            return new Raw(argument is null ? verb : $"{verb} {argument}");
        return verb switch
        {
            "GET" or "RETR" => new Download(argument),
            "UPLOAD" or "PUT" or "STOR" => new Upload(argument),
            "LS" or "LIST" or "DIR" => new List(argument),
            "CD" or "CWD" => argument is null ? new Invalid("Usage: cd <path>") : new ChangeDirectory(argument),
            "PWD" => new PrintDirectory(),
            "HELP" or "?" => new Help(),
            "EXIT" or "QUIT" or "BYE" => new Quit(),
            "QUOTE" => argument is null ? new Invalid("Usage: quote <raw FTP command>") : new Raw(argument),
            _ => new Invalid($"Unknown command '{word}'. Type 'help' for the list."),
        };
    }

    public const string HelpText = """
        Commands (case-insensitive):
          get                 ask for a remote file name and download it
          upload              ask for a local file name and upload it
          RETR <file>         download <file>; never overwrites: a taken name becomes new_<name>
          STOR <file>         upload <file> from the current local directory
          LIST [path], ls     list a remote directory
          cd <path>           change the remote directory
          pwd                 print the remote directory
          ADDUSER, DELUSER, BAN, UNBAN <args>
                              server administration, passed through as-is
          quote <command>     send a raw FTP command and show the reply
          help                this text
          exit, QUIT          close the session and leave
        """;
}
